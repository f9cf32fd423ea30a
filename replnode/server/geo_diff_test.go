package server_test

import (
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/replnode/replnode/replnode/redistest"
)

// TestDifferentialGeo compares the GEO commands with redis-server 7.0:
// scores, distances, coordinates and geohashes to the last digit, the
// search results and their order, STORE/STOREDIST results, the errors, in
// RESP2 and RESP3, and the DEBUG DIGEST at the end.
func TestDifferentialGeo(t *testing.T) {
	real := redistest.StartRedis(t, "enable-debug-command yes")
	ours := redistest.StartInProcess(t, "enable-debug-command yes")
	d := redistest.NewDiff(t, real, ours)
	steps := [][]string{
		{"GEOADD", "Sicily", "13.361389", "38.115556", "Palermo", "15.087269", "37.502669", "Catania"},
		{"ZRANGE", "Sicily", "0", "-1", "WITHSCORES"},
		{"GEOADD", "Sicily", "NX", "CH", "13.361389", "38.115556", "Palermo", "12.758489", "38.788135", "edge1"},
		{"GEOADD", "Sicily", "XX", "CH", "13.5", "38.1", "Palermo", "1", "1", "newone"},
		{"GEOADD", "Sicily", "CH", "13.361389", "38.115556", "Palermo"},
		{"GEOADD", "Sicily", "NX", "XX", "1", "1", "x"},
		{"GEOADD", "Sicily", "1", "1"},
		{"GEOADD", "Sicily", "200", "1", "x"},
		{"GEOADD", "Sicily", "1", "-86", "x"},
		{"GEOADD", "Sicily", "inf", "1", "x"},
		{"GEOADD", "Sicily", "abc", "1", "x"},
		{"GEOADD", "Sicily", "GT", "1", "1", "x"},
		{"GEODIST", "Sicily", "Palermo", "Catania"},
		{"GEODIST", "Sicily", "Palermo", "Catania", "km"},
		{"GEODIST", "Sicily", "Palermo", "Catania", "MI"},
		{"GEODIST", "Sicily", "Palermo", "Catania", "ft"},
		{"GEODIST", "Sicily", "Palermo", "Catania", "yd"},
		{"GEODIST", "Sicily", "Palermo", "Catania", "km", "x"},
		{"GEODIST", "Sicily", "Palermo", "nobody"},
		{"GEODIST", "nokey", "a", "b"},
		{"GEODIST", "Sicily", "Palermo", "Palermo"},
		{"GEOHASH", "Sicily", "Palermo", "Catania", "nobody"},
		{"GEOHASH", "nokey", "a"},
		{"GEOPOS", "Sicily", "Palermo", "Catania", "nobody"},
		{"GEOPOS", "nokey", "a"},
		{"GEOPOS", "Sicily"},
		{"GEOADD", "Sicily", "180", "85.05112878", "corner", "-180", "-85.05112878", "corner2", "0", "0", "zero"},
		{"GEOPOS", "Sicily", "corner", "corner2", "zero"},
		{"GEOHASH", "Sicily", "corner", "corner2", "zero"},
		{"GEORADIUS", "Sicily", "15", "37", "200", "km", "WITHDIST", "WITHCOORD", "WITHHASH"},
		{"GEORADIUS", "Sicily", "15", "37", "200", "km", "WITHDIST", "ASC"},
		{"GEORADIUS", "Sicily", "15", "37", "200", "km", "DESC", "COUNT", "1"},
		{"GEORADIUS", "Sicily", "15", "37", "200", "km", "COUNT", "1", "ANY"},
		{"GEORADIUS", "Sicily", "15", "37", "200", "km", "ANY"},
		{"GEORADIUS", "Sicily", "15", "37", "200", "km", "COUNT", "0"},
		{"GEORADIUS", "Sicily", "15", "37", "-1", "km"},
		{"GEORADIUS", "Sicily", "15", "37", "x", "km"},
		{"GEORADIUS", "Sicily", "15", "37", "1", "yd"},
		{"GEORADIUS", "Sicily", "15", "37", "200", "km", "BYBOX"},
		{"GEORADIUS", "Sicily", "15", "37", "200", "km", "STORE", "dst", "WITHDIST"},
		{"GEORADIUS", "Sicily", "15", "37", "200", "km", "STORE", "dst"},
		{"ZRANGE", "dst", "0", "-1", "WITHSCORES"},
		{"GEORADIUS", "Sicily", "15", "37", "200", "km", "STOREDIST", "dst2"},
		{"ZRANGE", "dst2", "0", "-1", "WITHSCORES"},
		{"GEORADIUS", "Sicily", "15", "37", "1", "m", "STORE", "dst"},
		{"EXISTS", "dst"},
		{"GEORADIUS", "nokey", "15", "37", "200", "km", "STORE", "dst2"},
		{"EXISTS", "dst2"},
		{"GEORADIUS", "nokey", "15", "37", "200", "km"},
		{"GEORADIUS_RO", "Sicily", "15", "37", "200", "km", "WITHDIST"},
		{"GEORADIUS_RO", "Sicily", "15", "37", "200", "km", "STORE", "x"},
		{"GEORADIUSBYMEMBER", "Sicily", "Palermo", "200", "km", "WITHDIST", "WITHCOORD"},
		{"GEORADIUSBYMEMBER", "Sicily", "nobody", "200", "km"},
		{"GEORADIUSBYMEMBER", "nokey", "nobody", "200", "km"},
		{"GEORADIUSBYMEMBER", "nokey", "nobody", "200", "km", "STORE", "x"},
		{"GEORADIUSBYMEMBER_RO", "Sicily", "Palermo", "100", "km", "DESC"},
		{"GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km", "ASC", "WITHDIST", "WITHCOORD", "WITHHASH"},
		{"GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYBOX", "400", "400", "km", "ASC", "WITHDIST"},
		{"GEOSEARCH", "Sicily", "FROMMEMBER", "Palermo", "BYBOX", "100", "300", "mi", "DESC", "WITHCOORD"},
		{"GEOSEARCH", "Sicily", "FROMMEMBER", "nobody", "BYRADIUS", "10", "km"},
		{"GEOSEARCH", "Sicily", "FROMMEMBER", "Palermo", "FROMLONLAT", "1", "1", "BYRADIUS", "10", "km"},
		{"GEOSEARCH", "Sicily", "BYRADIUS", "10", "km"},
		{"GEOSEARCH", "Sicily", "FROMLONLAT", "1", "1", "ASC"},
		{"GEOSEARCH", "Sicily", "FROMLONLAT", "1", "1", "BYRADIUS", "10", "km", "BYBOX", "1", "1", "km"},
		{"GEOSEARCH", "Sicily", "FROMLONLAT", "1", "1", "BYBOX", "-1", "1", "km"},
		{"GEOSEARCH", "Sicily", "FROMLONLAT", "1", "1", "BYBOX", "x", "1", "km"},
		{"GEOSEARCH", "Sicily", "FROMLONLAT", "1", "1", "BYBOX", "1", "x", "km"},
		{"GEOSEARCH", "Sicily", "FROMLONLAT", "1", "1", "BYRADIUS", "10", "km", "STORE", "x"},
		{"GEOSEARCH", "Sicily", "FROMLONLAT", "1", "1", "BYRADIUS", "10", "km", "STOREDIST"},
		{"GEOSEARCH", "nokey", "FROMMEMBER", "x", "BYRADIUS", "10", "km"},
		{"GEOSEARCHSTORE", "gs", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km"},
		{"ZRANGE", "gs", "0", "-1", "WITHSCORES"},
		{"GEOSEARCHSTORE", "gs", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km", "STOREDIST", "COUNT", "2"},
		{"ZRANGE", "gs", "0", "-1", "WITHSCORES"},
		{"GEOSEARCHSTORE", "gs", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km", "WITHDIST"},
		{"GEOSEARCHSTORE", "gs", "nokey", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km"},
		{"EXISTS", "gs"},
		{"SET", "str", "x"},
		{"GEOADD", "str", "1", "1", "x"},
		{"GEOPOS", "str", "x"},
		{"GEOSEARCH", "str", "FROMLONLAT", "1", "1", "BYRADIUS", "10", "km"},
		{"COMMAND", "GETKEYS", "GEORADIUS", "k", "1", "1", "1", "km", "STORE", "a", "STOREDIST", "b"},
		{"COMMAND", "GETKEYS", "GEORADIUS", "k", "1", "1", "1", "km", "STOREDIST", "a", "STORE", "b", "STORE", "c"},
		{"COMMAND", "GETKEYS", "GEORADIUSBYMEMBER", "k", "m", "1", "km", "STORE", "a"},
		{"COMMAND", "GETKEYS", "GEORADIUS", "k", "1", "1", "1", "km", "STORE"},
	}
	for _, s := range steps {
		d.Do(s...)
	}
	// Random points and searches of every kind, including near the poles
	// and the antimeridian.
	rng := rand.New(rand.NewPCG(17, 23))
	f := func(lo, hi float64) string { return strconv.FormatFloat(lo+rng.Float64()*(hi-lo), 'f', 6, 64) }
	for i := 0; i < 60; i++ {
		args := []string{"GEOADD", "pts"}
		for k := 0; k < 20; k++ {
			args = append(args, f(-180, 180), f(-85, 85), "p"+strconv.Itoa(i*20+k))
		}
		d.Do(args...)
	}
	for i := 0; i < 8; i++ {
		args := []string{"GEOADD", "near"}
		for k := 0; k < 25; k++ {
			args = append(args, f(-1, 1), f(50, 51), "n"+strconv.Itoa(i*25+k))
		}
		d.Do(args...)
	}
	units := []string{"m", "km", "mi", "ft"}
	for i := 0; i < 300; i++ {
		key := "pts"
		lon, lat := f(-180, 180), f(-85, 85)
		size := strconv.Itoa(1 + rng.IntN(3000))
		unit := "km"
		if i%2 == 0 {
			key, lon, lat = "near", f(-1.2, 1.2), f(49.8, 51.2)
			unit = units[rng.IntN(4)]
			size = strconv.Itoa(1 + rng.IntN(40))
			if unit == "m" || unit == "ft" {
				size = strconv.Itoa(1000 + rng.IntN(60000))
			}
		}
		args := []string{"GEOSEARCH", key, "FROMLONLAT", lon, lat}
		if rng.IntN(2) == 0 {
			args = append(args, "BYRADIUS", size, unit)
		} else {
			args = append(args, "BYBOX", size, strconv.Itoa(1+rng.IntN(3000)), unit)
		}
		args = append(args, "ASC", "WITHDIST", "WITHCOORD", "WITHHASH")
		if rng.IntN(3) == 0 {
			args = append(args, "COUNT", strconv.Itoa(1+rng.IntN(20)))
		}
		d.Do(args...)
		if i%10 == 0 {
			d.DoSorted("GEORADIUS", key, lon, lat, size, unit)
			d.Do("GEOSEARCHSTORE", "st"+strconv.Itoa(i), key, "FROMLONLAT", lon, lat, "BYRADIUS", size, unit, "STOREDIST")
			d.Do("ZRANGE", "st"+strconv.Itoa(i), "0", "-1", "WITHSCORES")
		}
	}
	d.Do("GEOPOS", "pts", "p1", "p2", "p3", "p100", "p999")
	d.Do("GEOHASH", "pts", "p1", "p2", "p3", "p100", "p999")
	d.Do("GEODIST", "pts", "p1", "p2", "km")
	d.Do("DEBUG", "DIGEST")

	d.DoType("HELLO", "3")
	d.Do("GEOPOS", "Sicily", "Palermo", "nobody")
	d.Do("GEODIST", "nokey", "a", "b")
	d.Do("GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km", "ASC", "WITHDIST", "WITHCOORD")
}
