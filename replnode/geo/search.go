package geo

import "math"

// Shape is a search area: a circle of Radius, or a box of Width x Height,
// centered on Lon/Lat; sizes are in the unit that Conversion turns into
// meters.
type Shape struct {
	Lon, Lat      float64
	Box           bool
	Radius        float64
	Width, Height float64
	Conversion    float64
}

// ScoreRange is a half-open range of scores [Min, Max) to scan.
type ScoreRange struct{ Min, Max float64 }

func estimateSteps(rangeMeters, lat float64) uint {
	if rangeMeters == 0 {
		return 26
	}
	step := 1
	for rangeMeters < mercatorMax {
		rangeMeters *= 2
		step++
	}
	step -= 2
	if lat > 66 || lat < -66 {
		step--
		if lat > 80 || lat < -80 {
			step--
		}
	}
	if step < 1 {
		step = 1
	}
	if step > 26 {
		step = 26
	}
	return uint(step)
}

// bounds is geohashBoundingBox: min lon, min lat, max lon, max lat.
func (s *Shape) bounds() [4]float64 {
	height, width := s.Radius, s.Radius
	if s.Box {
		height, width = s.Height/2, s.Width/2
	}
	height *= s.Conversion
	width *= s.Conversion
	latDelta := radDeg(height / earthRadiusM)
	longDeltaTop := radDeg(width / earthRadiusM / cosCR(degRad(s.Lat+latDelta)))
	longDeltaBottom := radDeg(width / earthRadiusM / cosCR(degRad(s.Lat-latDelta)))
	var b [4]float64
	if s.Lat < 0 {
		b[0] = s.Lon - longDeltaBottom
		b[2] = s.Lon + longDeltaBottom
	} else {
		b[0] = s.Lon - longDeltaTop
		b[2] = s.Lon + longDeltaTop
	}
	b[1] = s.Lat - latDelta
	b[3] = s.Lat + latDelta
	return b
}

// Ranges returns the score ranges to scan, in Redis's order (the center
// box, then N, S, E, W, NE, NW, SE, SW), without the boxes Redis excludes
// and without a box equal to the one before it
// (geohashCalculateAreasByShapeWGS84 + membersOfAllNeighbors).
func (s *Shape) Ranges() []ScoreRange {
	b := s.bounds()
	minLon, minLat, maxLon, maxLat := b[0], b[1], b[2], b[3]
	radiusM := s.Radius
	if s.Box {
		radiusM = math.Sqrt((s.Width/2)*(s.Width/2) + (s.Height/2)*(s.Height/2))
	}
	radiusM *= s.Conversion
	steps := estimateSteps(radiusM, s.Lat)
	hash, _ := encode(wgsLong, wgsLat, s.Lon, s.Lat, steps)
	nb := neighbors(hash)
	ar, _ := decode(wgsLong, wgsLat, hash)
	north, _ := decode(wgsLong, wgsLat, nb[0])
	south, _ := decode(wgsLong, wgsLat, nb[1])
	east, _ := decode(wgsLong, wgsLat, nb[2])
	west, _ := decode(wgsLong, wgsLat, nb[3])
	decrease := north.lat.max < maxLat || south.lat.min > minLat || east.lon.max < maxLon || west.lon.min > minLon
	if steps > 1 && decrease {
		steps--
		hash, _ = encode(wgsLong, wgsLat, s.Lon, s.Lat, steps)
		nb = neighbors(hash)
		ar, _ = decode(wgsLong, wgsLat, hash)
	}
	const n, so, e, w, ne, nw, se, sw = 0, 1, 2, 3, 4, 5, 6, 7
	if steps >= 2 {
		if ar.lat.min < minLat {
			nb[so], nb[sw], nb[se] = hashBits{}, hashBits{}, hashBits{}
		}
		if ar.lat.max > maxLat {
			nb[n], nb[ne], nb[nw] = hashBits{}, hashBits{}, hashBits{}
		}
		if ar.lon.min < minLon {
			nb[w], nb[sw], nb[nw] = hashBits{}, hashBits{}, hashBits{}
		}
		if ar.lon.max > maxLon {
			nb[e], nb[se], nb[ne] = hashBits{}, hashBits{}, hashBits{}
		}
	}
	all := append([]hashBits{hash}, nb[:]...)
	var out []ScoreRange
	last := -1
	for i, h := range all {
		if h.zero() {
			continue
		}
		if last > 0 && h == all[last] {
			continue
		}
		min := align52(h)
		h.bits++
		max := align52(h)
		out = append(out, ScoreRange{float64(min), float64(max)})
		last = i
	}
	return out
}

// Within decodes a score and reports whether it lies in the shape, with
// its position and distance in meters from the center (geoWithinShape).
func (s *Shape) Within(score float64) (lon, lat, dist float64, ok bool) {
	lon, lat, ok = Decode(score)
	if !ok {
		return 0, 0, 0, false
	}
	if !s.Box {
		dist = Distance(s.Lon, s.Lat, lon, lat)
		return lon, lat, dist, dist <= s.Radius*s.Conversion
	}
	w, h := s.Width*s.Conversion, s.Height*s.Conversion
	if latDistance(lat, s.Lat) > h/2 {
		return lon, lat, 0, false
	}
	if Distance(lon, lat, s.Lon, lat) > w/2 {
		return lon, lat, 0, false
	}
	return lon, lat, Distance(s.Lon, s.Lat, lon, lat), true
}
