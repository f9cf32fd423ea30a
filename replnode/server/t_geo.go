package server

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/replnode/replnode/replnode/geo"
	"github.com/replnode/replnode/replnode/store"
)

// ---------------------------------------------------------------- GEO
//
// GEOADD, GEODIST, GEOHASH, GEOPOS, GEOSEARCH[STORE] and the deprecated
// GEORADIUS* as Redis 7.0's geo.c. A geo set is a sorted set whose scores
// are 52-bit geohashes; the math lives in package geo, these handlers
// parse, scan the sorted set and format replies as Redis does.

func init() {
	register(
		&Command{Name: "geoadd", Arity: -5, Flags: FlagWrite | FlagDenyOOM, Group: "geo", FirstKey: 1, LastKey: 1, Step: 1, Handler: geoaddCommand},
		&Command{Name: "geodist", Arity: -4, Flags: FlagReadOnly, Group: "geo", FirstKey: 1, LastKey: 1, Step: 1, Handler: geodistCommand},
		&Command{Name: "geohash", Arity: -2, Flags: FlagReadOnly, Group: "geo", FirstKey: 1, LastKey: 1, Step: 1, Handler: geohashCommand},
		&Command{Name: "geopos", Arity: -2, Flags: FlagReadOnly, Group: "geo", FirstKey: 1, LastKey: 1, Step: 1, Handler: geoposCommand},
		&Command{Name: "geosearch", Arity: -7, Flags: FlagReadOnly, Group: "geo", FirstKey: 1, LastKey: 1, Step: 1, Handler: geosearchCommand},
		&Command{Name: "geosearchstore", Arity: -8, Flags: FlagWrite | FlagDenyOOM, Group: "geo", FirstKey: 1, LastKey: 2, Step: 1, Handler: geosearchstoreCommand},
		&Command{Name: "georadius", Arity: -6, Flags: FlagWrite | FlagDenyOOM | FlagMovableKeys, Group: "geo", FirstKey: 1, LastKey: 1, Step: 1, GetKeys: georadiusKeys, Handler: georadiusCommand},
		&Command{Name: "georadius_ro", Arity: -6, Flags: FlagReadOnly, Group: "geo", FirstKey: 1, LastKey: 1, Step: 1, Handler: georadiusROCommand},
		&Command{Name: "georadiusbymember", Arity: -5, Flags: FlagWrite | FlagDenyOOM | FlagMovableKeys, Group: "geo", FirstKey: 1, LastKey: 1, Step: 1, GetKeys: georadiusKeys, Handler: georadiusbymemberCommand},
		&Command{Name: "georadiusbymember_ro", Arity: -5, Flags: FlagReadOnly, Group: "geo", FirstKey: 1, LastKey: 1, Step: 1, Handler: georadiusbymemberROCommand},
	)
}

// georadiusKeys follows 7.0's key specs (COMMAND GETKEYS uses them): the
// source, then the key after the first STORE and after the first
// STOREDIST found from the first optional argument on.
func georadiusKeys(args [][]byte) []int {
	keys := []int{1}
	from := 6 // GEORADIUS key lon lat radius unit
	if equalFold(args[0], "georadiusbymember") {
		from = 5
	}
	for _, word := range []string{"store", "storedist"} {
		for i := from; i+1 < len(args); i++ {
			if equalFold(args[i], word) {
				keys = append(keys, i+1)
				break
			}
		}
	}
	return keys
}

// cFloat formats like C's "%f" (inf, -inf).
func cFloat(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	}
	return strconv.FormatFloat(f, 'f', 6, 64)
}

// geoLonLat parses a longitude, latitude pair (extractLongLatOrReply).
func geoLonLat(ctx *Ctx, i int) (lon, lat float64, ok bool) {
	if lon, ok = ctx.Float(i); !ok {
		return
	}
	if lat, ok = ctx.Float(i + 1); !ok {
		return
	}
	if lon < geo.LongMin || lon > geo.LongMax || lat < geo.LatMin || lat > geo.LatMax {
		ctx.Error("ERR invalid longitude,latitude pair " + cFloat(lon) + "," + cFloat(lat))
		return 0, 0, false
	}
	return lon, lat, true
}

// geoUnit is extractUnitOrReply: meters per unit, or -1 after an error.
func geoUnit(ctx *Ctx, b []byte) float64 {
	switch {
	case equalFold(b, "m"):
		return 1
	case equalFold(b, "km"):
		return 1000
	case equalFold(b, "ft"):
		return 0.3048
	case equalFold(b, "mi"):
		return 1609.34
	}
	ctx.Error("ERR unsupported unit provided. please use M, KM, FT, MI")
	return -1
}

// geoFloatMsg parses a float replying msg on error.
func geoFloatMsg(ctx *Ctx, i int, msg string) (float64, bool) {
	f, ok := ParseFloat(ctx.Args[i])
	if !ok {
		ctx.Error(msg)
	}
	return f, ok
}

// geoDistanceReply is addReplyDoubleDistance: fixed point, 4 digits.
func geoDistanceReply(ctx *Ctx, d float64) {
	v := int64(math.RoundToEven(d * 10000))
	neg := ""
	if v < 0 {
		neg, v = "-", -v
	}
	ctx.W.BulkString(fmt.Sprintf("%s%d.%04d", neg, v/10000, v%10000))
}

// geoCoordReply is addReplyHumanLongDouble: "%.17Lf" without trailing
// zeros, a bulk string in RESP2 and a double in RESP3.
func geoCoordReply(ctx *Ctx, d float64) {
	s := strconv.FormatFloat(d, 'f', 17, 64)
	if strings.IndexByte(s, '.') >= 0 {
		s = strings.TrimRight(s, "0")
		s = strings.TrimSuffix(s, ".")
	}
	if s == "-0" {
		s = "0"
	}
	if ctx.W.Proto() >= 3 {
		ctx.W.Raw([]byte("," + s + "\r\n"))
		return
	}
	ctx.W.BulkString(s)
}

func geoaddCommand(ctx *Ctx) {
	var xx, nx bool
	longIdx := 2
	for ; longIdx < len(ctx.Args); longIdx++ {
		a := ctx.Args[longIdx]
		if equalFold(a, "nx") {
			nx = true
		} else if equalFold(a, "xx") {
			xx = true
		} else if !equalFold(a, "ch") {
			break
		}
	}
	if (len(ctx.Args)-longIdx)%3 != 0 || (xx && nx) {
		ctx.Error(ErrSyntax)
		return
	}
	// Rewritten into ZADD key [options] score member ..., run and
	// propagated as such (replaceClientCommandVector).
	zargs := [][]byte{[]byte("zadd")}
	zargs = append(zargs, ctx.Args[1:longIdx]...)
	for i := longIdx; i < len(ctx.Args); i += 3 {
		lon, lat, ok := geoLonLat(ctx, i)
		if !ok {
			return
		}
		bits, _ := geo.Encode(lon, lat)
		zargs = append(zargs, strconv.AppendUint(nil, bits, 10), ctx.Args[i+2])
	}
	ctx.Args = zargs
	zaddGeneric(ctx, false)
}

func geodistCommand(ctx *Ctx) {
	toMeter := 1.0
	if len(ctx.Args) == 5 {
		if toMeter = geoUnit(ctx, ctx.Args[4]); toMeter < 0 {
			return
		}
	} else if len(ctx.Args) > 5 {
		ctx.Error(ErrSyntax)
		return
	}
	z, ok := zsetForRead(ctx, ctx.Args[1])
	if !ok {
		return
	}
	if z == nil {
		ctx.W.Null()
		return
	}
	s1, ok1 := z.Score(ctx.Args[2])
	s2, ok2 := z.Score(ctx.Args[3])
	if !ok1 || !ok2 {
		ctx.W.Null()
		return
	}
	lon1, lat1, ok1 := geo.Decode(s1)
	lon2, lat2, ok2 := geo.Decode(s2)
	if !ok1 || !ok2 {
		ctx.W.Null()
		return
	}
	geoDistanceReply(ctx, geo.Distance(lon1, lat1, lon2, lat2)/toMeter)
}

func geohashCommand(ctx *Ctx) {
	replyEachMemberScore(ctx, func(score float64, found bool) {
		if found {
			if s, ok := geo.GeohashString(score); ok {
				ctx.W.BulkString(s)
				return
			}
		}
		ctx.W.Null()
	})
}

func geoposCommand(ctx *Ctx) {
	replyEachMemberScore(ctx, func(score float64, found bool) {
		if found {
			if lon, lat, ok := geo.Decode(score); ok {
				ctx.W.ArrayLen(2)
				geoCoordReply(ctx, lon)
				geoCoordReply(ctx, lat)
				return
			}
		}
		ctx.W.NullArray()
	})
}

// Search variants (georadiusGeneric's flags).
const (
	geoRadiusCoords = 1 << iota
	geoRadiusMember
	geoNoStore
	geoSearch
	geoSearchStore
)

func georadiusCommand(ctx *Ctx)         { georadiusGeneric(ctx, 1, geoRadiusCoords) }
func georadiusbymemberCommand(ctx *Ctx) { georadiusGeneric(ctx, 1, geoRadiusMember) }
func georadiusROCommand(ctx *Ctx)       { georadiusGeneric(ctx, 1, geoRadiusCoords|geoNoStore) }
func georadiusbymemberROCommand(ctx *Ctx) {
	georadiusGeneric(ctx, 1, geoRadiusMember|geoNoStore)
}
func geosearchCommand(ctx *Ctx)      { georadiusGeneric(ctx, 1, geoSearch) }
func geosearchstoreCommand(ctx *Ctx) { georadiusGeneric(ctx, 2, geoSearch|geoSearchStore) }

type geoPoint struct {
	lon, lat, dist, score float64
	member                []byte
}

// geoDistance parses "<radius> <unit>" (extractDistanceOrReply).
func geoDistance(ctx *Ctx, i int, shape *geo.Shape) bool {
	r, ok := geoFloatMsg(ctx, i, "ERR need numeric radius")
	if !ok {
		return false
	}
	if r < 0 {
		ctx.Error("ERR radius cannot be negative")
		return false
	}
	shape.Radius = r
	conv := geoUnit(ctx, ctx.Args[i+1])
	if conv < 0 {
		return false
	}
	shape.Conversion = conv
	return true
}

func georadiusGeneric(ctx *Ctx, srcIdx int, flags int) {
	args := ctx.Args
	var storeKey []byte
	storeDist := false
	z, ok := zsetForRead(ctx, args[srcIdx])
	if !ok {
		return
	}
	var shape geo.Shape
	var baseArgs int
	switch {
	case flags&geoRadiusCoords != 0:
		baseArgs = 6
		if shape.Lon, shape.Lat, ok = geoLonLat(ctx, 2); !ok {
			return
		}
		if !geoDistance(ctx, baseArgs-2, &shape) {
			return
		}
	case flags&geoRadiusMember != 0 && z == nil:
		baseArgs = 5
	case flags&geoRadiusMember != 0:
		baseArgs = 5
		if !geoFromMember(ctx, z, args[2], &shape) {
			return
		}
		if !geoDistance(ctx, baseArgs-2, &shape) {
			return
		}
	default: // GEOSEARCH
		baseArgs = 2
		if flags&geoSearchStore != 0 {
			baseArgs = 3
			storeKey = args[1]
		}
	}
	var withDist, withHash, withCoords, fromMember, fromLoc, byRadius, byBox, any bool
	sortDir := 0 // 0 none, 1 asc, 2 desc
	var count int64
	rem := len(args) - baseArgs
	for i := 0; i < rem; i++ {
		a := args[baseArgs+i]
		switch {
		case equalFold(a, "withdist"):
			withDist = true
		case equalFold(a, "withhash"):
			withHash = true
		case equalFold(a, "withcoord"):
			withCoords = true
		case equalFold(a, "any"):
			any = true
		case equalFold(a, "asc"):
			sortDir = 1
		case equalFold(a, "desc"):
			sortDir = 2
		case equalFold(a, "count") && i+1 < rem:
			if count, ok = ctx.Int(baseArgs + i + 1); !ok {
				return
			}
			if count <= 0 {
				ctx.Error("ERR COUNT must be > 0")
				return
			}
			i++
		case (equalFold(a, "store") || equalFold(a, "storedist")) && i+1 < rem && flags&(geoNoStore|geoSearch) == 0:
			storeKey = args[baseArgs+i+1]
			storeDist = equalFold(a, "storedist")
			i++
		case equalFold(a, "storedist") && flags&geoSearch != 0 && flags&geoSearchStore != 0:
			storeDist = true
		case equalFold(a, "frommember") && i+1 < rem && flags&geoSearch != 0 && !fromLoc:
			if z != nil && !geoFromMember(ctx, z, args[baseArgs+i+1], &shape) {
				return
			}
			fromMember = true
			i++
		case equalFold(a, "fromlonlat") && i+2 < rem && flags&geoSearch != 0 && !fromMember:
			if shape.Lon, shape.Lat, ok = geoLonLat(ctx, baseArgs+i+1); !ok {
				return
			}
			fromLoc = true
			i += 2
		case equalFold(a, "byradius") && i+2 < rem && flags&geoSearch != 0 && !byBox:
			if !geoDistance(ctx, baseArgs+i+1, &shape) {
				return
			}
			shape.Box = false
			byRadius = true
			i += 2
		case equalFold(a, "bybox") && i+3 < rem && flags&geoSearch != 0 && !byRadius:
			w, ok := geoFloatMsg(ctx, baseArgs+i+1, "ERR need numeric width")
			if !ok {
				return
			}
			h, ok := geoFloatMsg(ctx, baseArgs+i+2, "ERR need numeric height")
			if !ok {
				return
			}
			if h < 0 || w < 0 {
				ctx.Error("ERR height or width cannot be negative")
				return
			}
			conv := geoUnit(ctx, args[baseArgs+i+3])
			if conv < 0 {
				return
			}
			shape.Width, shape.Height, shape.Conversion, shape.Box = w, h, conv, true
			byBox = true
			i += 3
		default:
			ctx.Error(ErrSyntax)
			return
		}
	}
	if storeKey != nil && (withDist || withHash || withCoords) {
		what := "STORE option in GEORADIUS"
		if flags&geoSearchStore != 0 {
			what = "GEOSEARCHSTORE"
		}
		ctx.Error("ERR " + what + " is not compatible with WITHDIST, WITHHASH and WITHCOORD options")
		return
	}
	if flags&geoSearch != 0 && !(fromMember || fromLoc) {
		ctx.Error("ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for " + string(args[0]))
		return
	}
	if flags&geoSearch != 0 && !(byRadius || byBox) {
		ctx.Error("ERR exactly one of BYRADIUS and BYBOX can be specified for " + string(args[0]))
		return
	}
	if any && count == 0 {
		ctx.Error("ERR the ANY argument requires COUNT argument")
		return
	}
	if z == nil {
		if storeKey != nil {
			storeZSetResult(ctx, storeKey, store.NewZSet(), "")
		} else {
			ctx.W.ArrayLen(0)
		}
		return
	}
	if count != 0 && sortDir == 0 && !any {
		sortDir = 1
	}
	var limit int64
	if any {
		limit = count
	}
	var points []geoPoint
	for _, r := range shape.Ranges() {
		if limit > 0 && int64(len(points)) >= limit {
			break
		}
		z.RangeByScore(store.ScoreRange{Min: r.Min, Max: r.Max, MaxEx: true}, false, 0, -1, func(m []byte, score float64) bool {
			if lon, lat, dist, in := shape.Within(score); in {
				points = append(points, geoPoint{lon: lon, lat: lat, dist: dist, score: score, member: m})
			}
			return !(len(points) > 0 && limit > 0 && int64(len(points)) >= limit)
		})
	}
	if len(points) == 0 && storeKey == nil {
		ctx.W.ArrayLen(0)
		return
	}
	returned := len(points)
	if count != 0 && int64(returned) > count {
		returned = int(count)
	}
	switch sortDir {
	case 1:
		sort.SliceStable(points, func(i, j int) bool { return points[i].dist < points[j].dist })
	case 2:
		sort.SliceStable(points, func(i, j int) bool { return points[i].dist > points[j].dist })
	}
	points = points[:returned]
	if storeKey == nil {
		options := 0
		for _, on := range []bool{withDist, withCoords, withHash} {
			if on {
				options++
			}
		}
		ctx.W.ArrayLen(returned)
		for _, p := range points {
			if options > 0 {
				ctx.W.ArrayLen(options + 1)
			}
			ctx.W.Bulk(p.member)
			if withDist {
				geoDistanceReply(ctx, p.dist/shape.Conversion)
			}
			if withHash {
				ctx.W.Int(int64(p.score))
			}
			if withCoords {
				ctx.W.ArrayLen(2)
				geoCoordReply(ctx, p.lon)
				geoCoordReply(ctx, p.lat)
			}
		}
		return
	}
	res := store.NewZSet()
	for _, p := range points {
		score := p.score
		if storeDist {
			score = p.dist / shape.Conversion
		}
		res.Add(append([]byte(nil), p.member...), score)
	}
	event := "georadiusstore"
	if flags&geoSearch != 0 {
		event = "geosearchstore"
	}
	storeZSetResultCounting(ctx, storeKey, res, event, int64(returned), int64(returned))
}

// geoFromMember centers shape on a member's position (longLatFromMember).
func geoFromMember(ctx *Ctx, z *store.ZSet, member []byte, shape *geo.Shape) bool {
	if score, ok := z.Score(member); ok {
		if shape.Lon, shape.Lat, ok = geo.Decode(score); ok {
			return true
		}
	}
	ctx.Error("ERR could not decode requested zset member")
	return false
}
