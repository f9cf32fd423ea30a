package geo

import "math"

// The coordinate limits of the index (EPSG:900913 / Web Mercator).
const (
	LatMin  = -85.05112878
	LatMax  = 85.05112878
	LongMin = -180.0
	LongMax = 180.0
	StepMax = 26 // 26*2 = 52 bits

	degToRad     = 0.017453292519943295769236907684886
	earthRadiusM = 6372797.560856
	mercatorMax  = 20037726.37
	dR           = math.Pi / 180.0
)

// hashBits is a geohash of step*2 bits.
type hashBits struct {
	bits uint64
	step uint
}

func (h hashBits) zero() bool { return h.bits == 0 && h.step == 0 }

type coordRange struct{ min, max float64 }

type area struct{ lon, lat coordRange }

var (
	wgsLong = coordRange{LongMin, LongMax}
	wgsLat  = coordRange{LatMin, LatMax}
)

func interleave64(xlo, ylo uint32) uint64 {
	b := [...]uint64{0x5555555555555555, 0x3333333333333333, 0x0F0F0F0F0F0F0F0F, 0x00FF00FF00FF00FF, 0x0000FFFF0000FFFF}
	s := [...]uint{1, 2, 4, 8, 16}
	x, y := uint64(xlo), uint64(ylo)
	for i := 4; i >= 0; i-- {
		x = (x | x<<s[i]) & b[i]
		y = (y | y<<s[i]) & b[i]
	}
	return x | y<<1
}

func deinterleave64(v uint64) uint64 {
	b := [...]uint64{0x5555555555555555, 0x3333333333333333, 0x0F0F0F0F0F0F0F0F, 0x00FF00FF00FF00FF, 0x0000FFFF0000FFFF, 0x00000000FFFFFFFF}
	s := [...]uint{0, 1, 2, 4, 8, 16}
	x, y := v, v>>1
	for i := 0; i < 6; i++ {
		x = (x | x>>s[i]) & b[i]
		y = (y | y>>s[i]) & b[i]
	}
	return x | y<<32
}

// encode is geohashEncode.
func encode(lonR, latR coordRange, lon, lat float64, step uint) (hashBits, bool) {
	if step > 32 || step == 0 {
		return hashBits{}, false
	}
	if lon > LongMax || lon < LongMin || lat > LatMax || lat < LatMin {
		return hashBits{}, false
	}
	if lat < latR.min || lat > latR.max || lon < lonR.min || lon > lonR.max {
		return hashBits{step: step}, false
	}
	latOff := (lat - latR.min) / (latR.max - latR.min)
	lonOff := (lon - lonR.min) / (lonR.max - lonR.min)
	latOff *= float64(uint64(1) << step)
	lonOff *= float64(uint64(1) << step)
	return hashBits{bits: interleave64(uint32(latOff), uint32(lonOff)), step: step}, true
}

// decode is geohashDecode.
func decode(lonR, latR coordRange, h hashBits) (area, bool) {
	if h.zero() {
		return area{}, false
	}
	sep := deinterleave64(h.bits)
	latScale := latR.max - latR.min
	lonScale := lonR.max - lonR.min
	ilato := uint32(sep)
	ilono := uint32(sep >> 32)
	div := float64(uint64(1) << h.step)
	var a area
	a.lat.min = latR.min + (float64(ilato)*1.0/div)*latScale
	a.lat.max = latR.min + ((float64(ilato)+1)*1.0/div)*latScale
	a.lon.min = lonR.min + (float64(ilono)*1.0/div)*lonScale
	a.lon.max = lonR.min + ((float64(ilono)+1)*1.0/div)*lonScale
	return a, true
}

// Encode returns the 52-bit score of a position; false outside the limits.
func Encode(lon, lat float64) (uint64, bool) {
	h, ok := encode(wgsLong, wgsLat, lon, lat, StepMax)
	if !ok {
		return 0, false
	}
	return align52(h), true
}

// Decode returns the position (center of its cell) a score stands for.
func Decode(score float64) (lon, lat float64, ok bool) {
	a, ok := decode(wgsLong, wgsLat, hashBits{bits: uint64(score), step: StepMax})
	if !ok {
		return 0, 0, false
	}
	lon = (a.lon.min + a.lon.max) / 2
	lon = math.Min(math.Max(lon, LongMin), LongMax)
	lat = (a.lat.min + a.lat.max) / 2
	lat = math.Min(math.Max(lat, LatMin), LatMax)
	return lon, lat, true
}

// GeohashString is GEOHASH's 11-character standard geohash of a score
// (re-encoded over -180..180 / -90..90; the 11th character is '0').
func GeohashString(score float64) (string, bool) {
	lon, lat, ok := Decode(score)
	if !ok {
		return "", false
	}
	h, _ := encode(coordRange{-180, 180}, coordRange{-90, 90}, lon, lat, 26)
	const alphabet = "0123456789bcdefghjkmnpqrstuvwxyz"
	var buf [11]byte
	for i := 0; i < 11; i++ {
		idx := 0
		if i < 10 {
			idx = int(h.bits>>(52-uint((i+1)*5))) & 0x1f
		}
		buf[i] = alphabet[idx]
	}
	return string(buf[:]), true
}

func align52(h hashBits) uint64 { return h.bits << (52 - h.step*2) }

func moveX(h *hashBits, d int) {
	if d == 0 {
		return
	}
	x := h.bits & 0xaaaaaaaaaaaaaaaa
	y := h.bits & 0x5555555555555555
	zz := uint64(0x5555555555555555) >> (64 - h.step*2)
	if d > 0 {
		x = x + (zz + 1)
	} else {
		x = x | zz
		x = x - (zz + 1)
	}
	x &= uint64(0xaaaaaaaaaaaaaaaa) >> (64 - h.step*2)
	h.bits = x | y
}

func moveY(h *hashBits, d int) {
	if d == 0 {
		return
	}
	x := h.bits & 0xaaaaaaaaaaaaaaaa
	y := h.bits & 0x5555555555555555
	zz := uint64(0xaaaaaaaaaaaaaaaa) >> (64 - h.step*2)
	if d > 0 {
		y = y + (zz + 1)
	} else {
		y = y | zz
		y = y - (zz + 1)
	}
	y &= uint64(0x5555555555555555) >> (64 - h.step*2)
	h.bits = x | y
}

// neighbors in Redis's search order: north, south, east, west, north_east,
// north_west, south_east, south_west.
func neighbors(h hashBits) [8]hashBits {
	dirs := [8][2]int{{0, 1}, {0, -1}, {1, 0}, {-1, 0}, {1, 1}, {-1, 1}, {1, -1}, {-1, -1}}
	var out [8]hashBits
	for i, d := range dirs {
		n := h
		moveX(&n, d[0])
		moveY(&n, d[1])
		out[i] = n
	}
	return out
}

func degRad(a float64) float64 { return a * dR }
func radDeg(a float64) float64 { return a / dR }

// latDistance is geohashGetLatDistance.
func latDistance(lat1, lat2 float64) float64 {
	return earthRadiusM * math.Abs(degRad(lat2)-degRad(lat1))
}

// Distance is the haversine distance in meters (geohashGetDistance).
func Distance(lon1, lat1, lon2, lat2 float64) float64 {
	lon1r := degRad(lon1)
	lon2r := degRad(lon2)
	v := sinCR((lon2r - lon1r) / 2)
	if v == 0.0 {
		return latDistance(lat1, lat2)
	}
	lat1r := degRad(lat1)
	lat2r := degRad(lat2)
	u := sinCR((lat2r - lat1r) / 2)
	a := u*u + cosCR(lat1r)*cosCR(lat2r)*v*v
	return 2.0 * earthRadiusM * asinCR(math.Sqrt(a))
}
