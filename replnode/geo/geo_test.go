package geo

import (
	"math"
	"testing"
)

// Known values from Redis's documentation (GEOADD Sicily ... Palermo /
// Catania, ZSCORE, GEOHASH, GEODIST).
func TestKnownPositions(t *testing.T) {
	for _, tc := range []struct {
		name     string
		lon, lat float64
		score    uint64
		hash     string
	}{
		{"Palermo", 13.361389, 38.115556, 3479099956230698, "sqc8b49rny0"},
		{"Catania", 15.087269, 37.502669, 3479447370796909, "sqdtr74hyu0"},
	} {
		score, ok := Encode(tc.lon, tc.lat)
		if !ok || score != tc.score {
			t.Errorf("%s: score %d (%v), want %d", tc.name, score, ok, tc.score)
		}
		if h, _ := GeohashString(float64(score)); h != tc.hash {
			t.Errorf("%s: geohash %s, want %s", tc.name, h, tc.hash)
		}
		lon, lat, ok := Decode(float64(score))
		if !ok || math.Abs(lon-tc.lon) > 1e-5 || math.Abs(lat-tc.lat) > 1e-5 {
			t.Errorf("%s: decoded %v,%v", tc.name, lon, lat)
		}
	}
	d := Distance(13.361389338970184, 38.115556395496299, 15.087267458438873, 37.50266842333162)
	if math.Abs(d-166274.1516) > 0.0001 {
		t.Errorf("Palermo-Catania %f m, want 166274.1516", d)
	}
}

// TestOutOfRange: positions outside the Mercator limits are refused.
func TestOutOfRange(t *testing.T) {
	for _, p := range [][2]float64{{180.1, 0}, {-180.1, 0}, {0, 85.06}, {0, -85.06}} {
		if _, ok := Encode(p[0], p[1]); ok {
			t.Errorf("Encode(%v) accepted", p)
		}
	}
}

// TestRangesCoverTheCircle: every point within the radius lies in one of
// the scanned score ranges (the 9-box search never misses a member).
func TestRangesCoverTheCircle(t *testing.T) {
	for _, c := range [][3]float64{{0, 0, 100}, {13.4, 38.1, 5}, {179.9, 10, 300}, {-179.9, -84, 1000}, {10, 84.9, 50}} {
		s := Shape{Lon: c[0], Lat: c[1], Radius: c[2], Conversion: 1000}
		ranges := s.Ranges()
		for i := 0; i < 2000; i++ {
			ang := float64(i) * 0.0031
			r := c[2] * 1000 * float64(i%97) / 97
			lat := c[1] + radDeg(r/earthRadiusM)*math.Sin(ang)
			lon := c[0] + radDeg(r/earthRadiusM)*math.Cos(ang)/math.Cos(degRad(c[1]))
			score, ok := Encode(lon, lat)
			if !ok {
				continue
			}
			if _, _, _, in := s.Within(float64(score)); !in {
				continue
			}
			found := false
			for _, rg := range ranges {
				if float64(score) >= rg.Min && float64(score) < rg.Max {
					found = true
				}
			}
			if !found {
				t.Fatalf("center %v: point %v,%v inside the circle but in no scanned range", c, lon, lat)
			}
		}
	}
}
