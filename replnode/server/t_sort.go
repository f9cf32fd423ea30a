package server

import (
	"bytes"
	"math"
	"slices"
	"sort"

	"github.com/replnode/replnode/replnode/store"
)

// SORT and SORT_RO, after Redis's sort.c: BY (with "nosort" patterns and
// hash fields "->"), LIMIT, GET (with "#"), ASC/DESC, ALPHA and STORE.

func init() {
	register(
		&Command{Name: "sort", Arity: -2, Flags: FlagWrite | FlagDenyOOM | FlagMovableKeys, Group: "generic", FirstKey: 1, LastKey: 1, Step: 1, GetKeys: sortKeys, Handler: sortCommand},
		&Command{Name: "sort_ro", Arity: -2, Flags: FlagReadOnly | FlagMovableKeys, Group: "generic", FirstKey: 1, LastKey: 1, Step: 1, Handler: sortROCommand},
	)
}

// sortKeys locates the keys of SORT: the sorted key and the STORE
// destination, skipping the arguments of the other options.
func sortKeys(args [][]byte) []int {
	keys := []int{1}
	for i := 2; i < len(args); i++ {
		switch {
		case equalFold(args[i], "limit"):
			i += 2
		case equalFold(args[i], "get"), equalFold(args[i], "by"):
			i++
		case equalFold(args[i], "store") && i+1 < len(args):
			keys = append(keys, i+1)
			i++
		}
	}
	return keys
}

// sortItem is one element being sorted with its weight.
type sortItem struct {
	elem   []byte
	score  float64
	cmpobj []byte // BY value for ALPHA sorting; nil when missing
}

func sortCommand(ctx *Ctx)   { sortGeneric(ctx, false) }
func sortROCommand(ctx *Ctx) { sortGeneric(ctx, true) }

// sortGeneric implements SORT and SORT_RO (readOnly refuses STORE).
func sortGeneric(ctx *Ctx, readOnly bool) {
	var desc, alpha, dontSort bool
	var limitStart, limitCount int64 = 0, -1
	var sortBy, storeKey []byte
	var gets [][]byte
	for j := 2; j < len(ctx.Args); j++ {
		left := len(ctx.Args) - j - 1
		switch {
		case ctx.ArgIs(j, "asc"):
			desc = false
		case ctx.ArgIs(j, "desc"):
			desc = true
		case ctx.ArgIs(j, "alpha"):
			alpha = true
		case ctx.ArgIs(j, "limit") && left >= 2:
			var ok bool
			if limitStart, ok = ctx.Int(j + 1); !ok {
				return
			}
			if limitCount, ok = ctx.Int(j + 2); !ok {
				return
			}
			j += 2
		case !readOnly && ctx.ArgIs(j, "store") && left >= 1:
			storeKey = ctx.Args[j+1]
			j++
		case ctx.ArgIs(j, "by") && left >= 1:
			sortBy = ctx.Args[j+1]
			// A pattern without '*' cannot name per-element keys:
			// SORT ... BY nosort skips sorting.
			if bytes.IndexByte(sortBy, '*') < 0 {
				dontSort = true
			} else if !ctx.S.fullKeyAccess(ctx) {
				// The keys BY reads are named by the data: only a
				// user who may read every key may use it.
				ctx.Error("ERR BY option of SORT denied due to insufficient ACL permissions.")
				return
			}
			j++
		case ctx.ArgIs(j, "get") && left >= 1:
			if !ctx.S.fullKeyAccess(ctx) {
				ctx.Error("ERR GET option of SORT denied due to insufficient ACL permissions.")
				return
			}
			gets = append(gets, ctx.Args[j+1])
			j++
		default:
			ctx.Error(ErrSyntax)
			return
		}
	}
	v := ctx.Lookup(ctx.Args[1])
	if v != nil && v.Kind() != store.KindList && v.Kind() != store.KindSet && v.Kind() != store.KindZSet {
		ctx.Error(ErrWrongType)
		return
	}
	// sort.c converts a listpack sorted set to a skiplist, destructively
	// (SORT_RO too).
	if z, ok := v.(*store.ZSet); ok && z.Encoding() != "skiplist" {
		ctx.LookupWrite(ctx.Args[1]).(*store.ZSet).ToSkiplist()
	}
	// An unsorted set would come out in an order replicas may not share:
	// sort it when storing or for a script (whose writes may depend on
	// it), as Redis does.
	fromScript := ctx.C != nil && ctx.C == ctx.S.scripts.client
	if dontSort && v != nil && v.Kind() == store.KindSet && (storeKey != nil || fromScript) {
		dontSort, alpha, sortBy = false, true, nil
	}

	items := loadSortItems(v, dontSort, desc, limitStart, limitCount)
	start, end := sortWindow(len(items), limitStart, limitCount)
	if dontSort && v != nil && v.Kind() != store.KindSet {
		// Lists and sorted sets loaded only the window already.
		start, end = 0, len(items)-1
	}

	if !dontSort {
		convErr := false
		for i := range items {
			var byVal []byte
			if sortBy != nil {
				b, found := lookupByPattern(ctx, sortBy, items[i].elem)
				if !found {
					continue
				}
				byVal = b
			}
			if alpha {
				if sortBy != nil {
					items[i].cmpobj = byVal
				}
				continue
			}
			src := items[i].elem
			if sortBy != nil {
				src = byVal
			}
			// sort.c: strtod must reach the C string's end ("" is 0,
			// leading space is fine) without ERANGE or NaN.
			f, n, erange := strtod(src)
			if (n < len(src) && src[n] != 0) || erange || math.IsNaN(f) {
				convErr = true
				continue
			}
			items[i].score = f
		}
		if convErr {
			ctx.Error("ERR One or more scores can't be converted into double")
			return
		}
		sort.SliceStable(items, func(a, b int) bool {
			return sortCompare(items[a], items[b], alpha, sortBy != nil, desc) < 0
		})
	}

	var out [][]byte
	var present []bool
	if end >= start {
		for _, it := range items[start : end+1] {
			if len(gets) == 0 {
				out = append(out, it.elem)
				present = append(present, true)
				continue
			}
			for _, g := range gets {
				val, found := lookupByPattern(ctx, g, it.elem)
				out = append(out, val)
				present = append(present, found)
			}
		}
	}

	if storeKey == nil {
		ctx.W.ArrayLen(len(out))
		for i, o := range out {
			if present[i] {
				ctx.W.Bulk(o)
			} else {
				ctx.W.Null()
			}
		}
		return
	}
	if len(out) > 0 {
		l := store.NewList()
		for _, o := range out {
			l.PushBack(bytes.Clone(o)) // a missing GET stores ""
		}
		ctx.SetKey(storeKey, l, false)
		ctx.S.SignalKeyAsReady(ctx.DBNum, storeKey)
		ctx.Notify(NotifyList, "sortstore", storeKey)
		ctx.Modified(int64(len(out)))
	} else if ctx.DeleteKey(storeKey) {
		ctx.Notify(NotifyGeneric, "del", storeKey)
		ctx.Modified(1)
	}
	ctx.W.Int(int64(len(out)))
}

// sortWindow applies LIMIT to n elements as Redis does: it returns the
// inclusive window [start, end], empty when end < start.
func sortWindow(n int, limitStart, limitCount int64) (int, int) {
	start := limitStart
	if start < 0 {
		start = 0
	}
	end := int64(n) - 1
	if limitCount >= 0 {
		end = store.SaturatingAdd(start, limitCount) - 1
	}
	if start >= int64(n) {
		start, end = int64(n)-1, int64(n)-2
	}
	if end >= int64(n) {
		end = int64(n) - 1
	}
	return int(start), int(end)
}

// loadSortItems collects the elements to sort. Unsorted lists and sorted
// sets load only the LIMIT window, walking from the end with DESC, as
// Redis does; everything else loads whole.
func loadSortItems(v store.Value, dontSort, desc bool, limitStart, limitCount int64) []sortItem {
	var items []sortItem
	if v == nil {
		return nil
	}
	switch val := v.(type) {
	case *store.List:
		if dontSort {
			start, end := sortWindow(val.Len(), limitStart, limitCount)
			if start > end {
				return items
			}
			if desc {
				start, end = val.Len()-1-end, val.Len()-1-start
			}
			// One walk over the window: positional lookups in a packed
			// list would each scan from an end.
			for c, i := val.CursorAt(start), start; i <= end; i++ {
				items = append(items, sortItem{elem: c.Next()})
			}
			if desc {
				slices.Reverse(items)
			}
			return items
		}
		val.Range(func(e []byte) bool { items = append(items, sortItem{elem: e}); return true })
	case *store.Set:
		val.Range(func(m []byte) bool { items = append(items, sortItem{elem: m}); return true })
	case *store.ZSet:
		if dontSort {
			start, end := sortWindow(val.Len(), limitStart, limitCount)
			if end >= start {
				val.RangeByRank(start, end, desc, func(m []byte, _ float64) bool {
					items = append(items, sortItem{elem: m})
					return true
				})
			}
			return items
		}
		val.Range(func(m []byte, _ float64) bool { items = append(items, sortItem{elem: m}); return true })
	}
	return items
}

// sortCompare orders two items as Redis's sortCompare: by score (ties
// broken by the element bytes) or, with ALPHA, by the BY value or the
// element; DESC reverses the result.
func sortCompare(a, b sortItem, alpha, byPattern, desc bool) int {
	var cmp int
	if !alpha {
		switch {
		case a.score > b.score:
			cmp = 1
		case a.score < b.score:
			cmp = -1
		default:
			cmp = bytes.Compare(a.elem, b.elem)
		}
	} else if byPattern {
		switch {
		case a.cmpobj == nil && b.cmpobj == nil:
			cmp = 0
		case a.cmpobj == nil:
			cmp = -1
		case b.cmpobj == nil:
			cmp = 1
		default:
			cmp = bytes.Compare(a.cmpobj, b.cmpobj)
		}
	} else {
		cmp = bytes.Compare(a.elem, b.elem)
	}
	if desc {
		return -cmp
	}
	return cmp
}

// lookupByPattern resolves a BY/GET pattern for one element: "#" is the
// element itself; otherwise the first '*' is replaced by the element and
// the key read as a string, or, with "->field" after the '*', as a hash
// field. found is false when the key, the field or the right type is
// missing.
func lookupByPattern(ctx *Ctx, pattern, elem []byte) (val []byte, found bool) {
	if len(pattern) == 1 && pattern[0] == '#' {
		return elem, true
	}
	star := bytes.IndexByte(pattern, '*')
	if star < 0 {
		return nil, false
	}
	keyPattern, field := pattern, []byte(nil)
	if arrow := bytes.Index(pattern[star:], []byte("->")); arrow >= 0 && star+arrow+2 < len(pattern) {
		keyPattern = pattern[:star+arrow]
		field = pattern[star+arrow+2:]
	}
	key := make([]byte, 0, len(keyPattern)+len(elem))
	key = append(key, keyPattern[:star]...)
	key = append(key, elem...)
	key = append(key, keyPattern[star+1:]...)
	v, ok := ctx.lookup(key)
	if !ok {
		return nil, false
	}
	if field != nil {
		h, isHash := v.(*store.Hash)
		if !isHash {
			return nil, false
		}
		return h.Get(field)
	}
	s, isString := v.(*store.String)
	if !isString {
		return nil, false
	}
	return s.B, true
}
