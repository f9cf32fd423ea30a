package scripting

import (
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	lua "github.com/yuin/gopher-lua"
)

// Lua CJSON 2.1.0 (deps/lua/src/lua_cjson.c) as Redis ships it: encode
// and decode with its defaults (14 significant digits, sparse arrays up to
// ratio 2 past 10 elements, nesting up to 1000, NaN/Inf refused on encode)
// and its error texts. cjson.null is a userdata that scripts compare
// against and that converts to a null reply.

type cjsonConfig struct {
	precision   int
	maxDepthEnc int
	maxDepthDec int
	sparseConv  bool
	sparseRatio int
	sparseSafe  int
	invalidEnc  int // 0 refuse, 1 allow, 2 null
	invalidDec  bool
	keepBuffer  bool
}

func openCjson(L *lua.LState) *lua.LTable {
	cfg := &cjsonConfig{precision: 14, maxDepthEnc: 1000, maxDepthDec: 1000, sparseRatio: 2, sparseSafe: 10, invalidDec: true, keepBuffer: true}
	null := L.NewUserData()
	t := L.NewTable()
	t.RawSetString("encode", L.NewFunction(func(L *lua.LState) int {
		if L.GetTop() != 1 {
			argError(L, 1, "expected 1 argument")
		}
		var b strings.Builder
		cjsonEncode(L, cfg, null, &b, L.Get(1), 0)
		L.Push(lua.LString(b.String()))
		return 1
	}))
	t.RawSetString("decode", L.NewFunction(func(L *lua.LState) int {
		if L.GetTop() != 1 {
			argError(L, 1, "expected 1 argument")
		}
		s := L.CheckString(1)
		if len(s) >= 2 && (s[0] == 0 || s[1] == 0) {
			L.RaiseError("JSON parser does not support UTF-16 or UTF-32")
		}
		d := &jsonDecoder{L: L, cfg: cfg, null: null, s: s}
		tok := d.next()
		v := d.value(tok)
		if tok := d.next(); tok.typ != tEnd {
			d.fail("the end", tok)
		}
		L.Push(v)
		return 1
	}))
	intOpt := func(get func() int, set func(int), lo, hi int) lua.LGFunction {
		return func(L *lua.LState) int {
			if L.GetTop() >= 1 && L.Get(1) != lua.LNil {
				n := L.CheckInt(1)
				if n < lo || n > hi {
					argError(L, 1, "expected integer between "+strconv.Itoa(lo)+" and "+strconv.Itoa(hi))
				}
				set(n)
			}
			L.Push(lua.LNumber(get()))
			return 1
		}
	}
	t.RawSetString("encode_number_precision", L.NewFunction(intOpt(func() int { return cfg.precision }, func(n int) { cfg.precision = n }, 1, 14)))
	t.RawSetString("encode_max_depth", L.NewFunction(intOpt(func() int { return cfg.maxDepthEnc }, func(n int) { cfg.maxDepthEnc = n }, 1, math.MaxInt32)))
	t.RawSetString("decode_max_depth", L.NewFunction(intOpt(func() int { return cfg.maxDepthDec }, func(n int) { cfg.maxDepthDec = n }, 1, math.MaxInt32)))
	t.RawSetString("encode_keep_buffer", L.NewFunction(func(L *lua.LState) int {
		if L.GetTop() >= 1 {
			cfg.keepBuffer = cjsonBoolOpt(L, 1)
		}
		L.Push(lua.LBool(cfg.keepBuffer))
		return 1
	}))
	t.RawSetString("decode_invalid_numbers", L.NewFunction(func(L *lua.LState) int {
		if L.GetTop() >= 1 {
			cfg.invalidDec = cjsonBoolOpt(L, 1)
		}
		L.Push(lua.LBool(cfg.invalidDec))
		return 1
	}))
	t.RawSetString("encode_invalid_numbers", L.NewFunction(func(L *lua.LState) int {
		if L.GetTop() >= 1 {
			switch v := L.Get(1).(type) {
			case lua.LBool:
				cfg.invalidEnc = map[bool]int{false: 0, true: 1}[bool(v)]
			case lua.LString:
				switch string(v) {
				case "on":
					cfg.invalidEnc = 1
				case "off":
					cfg.invalidEnc = 0
				case "null":
					cfg.invalidEnc = 2
				default:
					argError(L, 1, "invalid option '"+string(v)+"'")
				}
			}
		}
		switch cfg.invalidEnc {
		case 1:
			L.Push(lua.LTrue)
		case 2:
			L.Push(lua.LString("null"))
		default:
			L.Push(lua.LFalse)
		}
		return 1
	}))
	t.RawSetString("encode_sparse_array", L.NewFunction(func(L *lua.LState) int {
		if L.GetTop() >= 1 && L.Get(1) != lua.LNil {
			cfg.sparseConv = cjsonBoolOpt(L, 1)
		}
		if L.GetTop() >= 2 && L.Get(2) != lua.LNil {
			cfg.sparseRatio = L.CheckInt(2)
		}
		if L.GetTop() >= 3 && L.Get(3) != lua.LNil {
			cfg.sparseSafe = L.CheckInt(3)
		}
		L.Push(lua.LBool(cfg.sparseConv))
		L.Push(lua.LNumber(cfg.sparseRatio))
		L.Push(lua.LNumber(cfg.sparseSafe))
		return 3
	}))
	t.RawSetString("null", null)
	t.RawSetString("_NAME", lua.LString("cjson"))
	t.RawSetString("_VERSION", lua.LString("2.1.0"))
	return t
}

func cjsonBoolOpt(L *lua.LState, i int) bool {
	switch v := L.Get(i).(type) {
	case lua.LBool:
		return bool(v)
	case lua.LString:
		switch string(v) {
		case "on":
			return true
		case "off":
			return false
		}
		argError(L, i, "invalid option '"+string(v)+"'")
	}
	return false
}

// cjsonEncode appends v's JSON to b (json_append_data).
func cjsonEncode(L *lua.LState, cfg *cjsonConfig, null *lua.LUserData, b *strings.Builder, v lua.LValue, depth int) {
	switch x := v.(type) {
	case lua.LString:
		jsonString(b, string(x))
	case lua.LNumber:
		cjsonNumber(L, cfg, b, float64(x))
	case lua.LBool:
		if x {
			b.WriteString("true")
		} else {
			b.WriteString("false")
		}
	case *lua.LNilType:
		b.WriteString("null")
	case *lua.LUserData:
		if x == null {
			b.WriteString("null")
			return
		}
		L.RaiseError("Cannot serialise userdata: type not supported")
	case *lua.LTable:
		depth++
		if depth > cfg.maxDepthEnc {
			L.RaiseError("Cannot serialise, excessive nesting (%d)", depth)
		}
		n := cjsonArrayLength(L, cfg, x)
		if n > 0 {
			b.WriteByte('[')
			for i := 1; i <= n; i++ {
				if i > 1 {
					b.WriteByte(',')
				}
				cjsonEncode(L, cfg, null, b, x.RawGetInt(i), depth)
			}
			b.WriteByte(']')
			return
		}
		b.WriteByte('{')
		first := true
		x.ForEach(func(k, val lua.LValue) {
			if !first {
				b.WriteByte(',')
			}
			first = false
			switch kk := k.(type) {
			case lua.LNumber:
				b.WriteByte('"')
				cjsonNumber(L, cfg, b, float64(kk))
				b.WriteString("\":")
			case lua.LString:
				jsonString(b, string(kk))
				b.WriteByte(':')
			default:
				L.RaiseError("Cannot serialise %s: table key must be a number or string", k.Type().String())
			}
			cjsonEncode(L, cfg, null, b, val, depth)
		})
		b.WriteByte('}')
	default:
		L.RaiseError("Cannot serialise %s: type not supported", v.Type().String())
	}
}

// cjsonArrayLength is lua_array_length: the array size when every key is
// a positive integer, 0 for an object, an error for an excessively
// sparse array.
func cjsonArrayLength(L *lua.LState, cfg *cjsonConfig, t *lua.LTable) int {
	max, items := 0, 0
	isArray := true
	t.ForEach(func(k, _ lua.LValue) {
		if !isArray {
			return
		}
		n, ok := k.(lua.LNumber)
		if ok && float64(n) >= 1 && math.Floor(float64(n)) == float64(n) {
			if int(n) > max {
				max = int(n)
			}
			items++
			return
		}
		isArray = false
	})
	if !isArray {
		return -1
	}
	if cfg.sparseRatio > 0 && max > items*cfg.sparseRatio && max > cfg.sparseSafe {
		if !cfg.sparseConv {
			L.RaiseError("Cannot serialise table: excessively sparse array")
		}
		return -1
	}
	return max
}

func cjsonNumber(L *lua.LState, cfg *cjsonConfig, b *strings.Builder, f float64) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		switch cfg.invalidEnc {
		case 0:
			L.RaiseError("Cannot serialise number: must not be NaN or Inf")
		case 2:
			b.WriteString("null")
			return
		}
		if math.IsNaN(f) {
			b.WriteString("nan")
			return
		}
	}
	b.WriteString(formatPrecision(f, cfg.precision))
}

// formatPrecision is fpconv_g_fmt: "%.<precision>g".
func formatPrecision(f float64, precision int) string {
	switch {
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	}
	return strconv.FormatFloat(f, 'g', precision, 64)
}

// jsonString appends s quoted with cjson's escapes (char2escape).
func jsonString(b *strings.Builder, s string) {
	const hexDigits = "0123456789abcdef"
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"':
			b.WriteString(`\"`)
		case c == '\\':
			b.WriteString(`\\`)
		case c == '/':
			b.WriteString(`\/`)
		case c == '\b':
			b.WriteString(`\b`)
		case c == '\t':
			b.WriteString(`\t`)
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\f':
			b.WriteString(`\f`)
		case c == '\r':
			b.WriteString(`\r`)
		case c < 0x20 || c == 0x7f:
			b.WriteString(`\u00`)
			b.WriteByte(hexDigits[c>>4])
			b.WriteByte(hexDigits[c&15])
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
}

// ------ decoding

type jsonTokType int

const (
	tObjBegin jsonTokType = iota
	tObjEnd
	tArrBegin
	tArrEnd
	tString
	tNumber
	tBoolean
	tNull
	tColon
	tComma
	tEnd
	tWhitespace
	tError
	tUnknown
)

var jsonTokNames = []string{"T_OBJ_BEGIN", "T_OBJ_END", "T_ARR_BEGIN", "T_ARR_END", "T_STRING", "T_NUMBER",
	"T_BOOLEAN", "T_NULL", "T_COLON", "T_COMMA", "T_END", "T_WHITESPACE", "T_ERROR", "T_UNKNOWN"}

type jsonToken struct {
	typ   jsonTokType
	index int
	str   string
	num   float64
	b     bool
	err   string
}

type jsonDecoder struct {
	L     *lua.LState
	cfg   *cjsonConfig
	null  *lua.LUserData
	s     string
	pos   int
	depth int
}

func (d *jsonDecoder) fail(expected string, tok jsonToken) {
	found := jsonTokNames[tok.typ]
	if tok.typ == tError {
		found = tok.err
	}
	d.L.RaiseError("Expected %s but found %s at character %d", expected, found, tok.index+1)
}

func (d *jsonDecoder) descend() {
	d.depth++
	if d.depth > d.cfg.maxDepthDec {
		d.L.RaiseError("Found too many nested data structures (%d) at character %d", d.depth, d.pos)
	}
}

func (d *jsonDecoder) value(tok jsonToken) lua.LValue {
	L := d.L
	switch tok.typ {
	case tString:
		return lua.LString(tok.str)
	case tNumber:
		return lua.LNumber(tok.num)
	case tBoolean:
		return lua.LBool(tok.b)
	case tNull:
		return d.null
	case tObjBegin:
		d.descend()
		t := L.NewTable()
		tok = d.next()
		if tok.typ == tObjEnd {
			d.depth--
			return t
		}
		for {
			if tok.typ != tString {
				d.fail("object key string", tok)
			}
			key := tok.str
			if tok = d.next(); tok.typ != tColon {
				d.fail("colon", tok)
			}
			t.RawSetString(key, d.value(d.next()))
			tok = d.next()
			if tok.typ == tObjEnd {
				d.depth--
				return t
			}
			if tok.typ != tComma {
				d.fail("comma or object end", tok)
			}
			tok = d.next()
		}
	case tArrBegin:
		d.descend()
		t := L.NewTable()
		tok = d.next()
		if tok.typ == tArrEnd {
			d.depth--
			return t
		}
		for i := 1; ; i++ {
			t.RawSetInt(i, d.value(tok))
			tok = d.next()
			if tok.typ == tArrEnd {
				d.depth--
				return t
			}
			if tok.typ != tComma {
				d.fail("comma or array end", tok)
			}
			tok = d.next()
		}
	}
	d.fail("value", tok)
	return lua.LNil
}

func (d *jsonDecoder) next() jsonToken {
	s := d.s
	for d.pos < len(s) && (s[d.pos] == ' ' || s[d.pos] == '\t' || s[d.pos] == '\n' || s[d.pos] == '\r') {
		d.pos++
	}
	tok := jsonToken{index: d.pos}
	if d.pos >= len(s) {
		tok.typ = tEnd
		return tok
	}
	c := s[d.pos]
	single := map[byte]jsonTokType{'{': tObjBegin, '}': tObjEnd, '[': tArrBegin, ']': tArrEnd, ':': tColon, ',': tComma}
	if t, ok := single[c]; ok {
		d.pos++
		tok.typ = t
		return tok
	}
	switch {
	case c == '"':
		return d.str(tok)
	case c == '-' || (c >= '0' && c <= '9'):
		return d.number(tok)
	case strings.HasPrefix(s[d.pos:], "true"):
		d.pos += 4
		tok.typ, tok.b = tBoolean, true
		return tok
	case strings.HasPrefix(s[d.pos:], "false"):
		d.pos += 5
		tok.typ = tBoolean
		return tok
	case strings.HasPrefix(s[d.pos:], "null"):
		d.pos += 4
		tok.typ = tNull
		return tok
	}
	if d.cfg.invalidDec {
		low := strings.ToLower(s[d.pos:])
		if strings.HasPrefix(low, "nan") || strings.HasPrefix(low, "inf") {
			return d.number(tok)
		}
	}
	tok.typ, tok.err = tError, "invalid token"
	return tok
}

func (d *jsonDecoder) str(tok jsonToken) jsonToken {
	s := d.s
	d.pos++
	var b strings.Builder
	for {
		if d.pos >= len(s) {
			tok.typ, tok.err, tok.index = tError, "unexpected end of string", d.pos
			return tok
		}
		c := s[d.pos]
		if c == '"' {
			d.pos++
			break
		}
		if c != '\\' {
			b.WriteByte(c)
			d.pos++
			continue
		}
		if d.pos+1 >= len(s) {
			tok.typ, tok.err, tok.index = tError, "unexpected end of string", d.pos
			return tok
		}
		e := s[d.pos+1]
		switch e {
		case '"', '\\', '/':
			b.WriteByte(e)
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'u':
			r, n := d.unicode(d.pos)
			if n < 0 {
				tok.typ, tok.err, tok.index = tError, "invalid unicode escape code", d.pos
				return tok
			}
			var buf [4]byte
			b.Write(buf[:utf8.EncodeRune(buf[:], r)])
			d.pos += n
			continue
		default:
			tok.typ, tok.err, tok.index = tError, "invalid escape code", d.pos
			return tok
		}
		d.pos += 2
	}
	tok.typ, tok.str = tString, b.String()
	return tok
}

// unicode decodes \uXXXX (and a following low surrogate) at i, returning
// the rune and the bytes used, or n < 0.
func (d *jsonDecoder) unicode(i int) (rune, int) {
	hex4 := func(j int) (rune, bool) {
		if j+6 > len(d.s) || d.s[j] != '\\' || d.s[j+1] != 'u' {
			return 0, false
		}
		v, err := strconv.ParseUint(d.s[j+2:j+6], 16, 32)
		return rune(v), err == nil
	}
	r, ok := hex4(i)
	if !ok {
		return 0, -1
	}
	if r >= 0xD800 && r <= 0xDBFF {
		lo, ok := hex4(i + 6)
		if !ok || lo < 0xDC00 || lo > 0xDFFF {
			return 0, -1
		}
		return (r-0xD800)<<10 + (lo - 0xDC00) + 0x10000, 12
	}
	if r >= 0xDC00 && r <= 0xDFFF {
		return 0, -1
	}
	return r, 6
}

func (d *jsonDecoder) number(tok jsonToken) jsonToken {
	s := d.s
	start := d.pos
	end := start
	for end < len(s) && strings.IndexByte("+-0123456789.eExXabcdfABCDFinftyINFTYnN", s[end]) >= 0 {
		end++
	}
	text := s[start:end]
	if hexEnd := hexPrefixLen(text); hexEnd > 0 {
		// strtod reads hexadecimal integers too.
		neg := text[0] == '-'
		digits := strings.TrimPrefix(text[:hexEnd], "-")[2:]
		v, _ := strconv.ParseUint(digits, 16, 64)
		f := float64(v)
		if neg {
			f = -f
		}
		d.pos = start + hexEnd
		tok.typ, tok.num = tNumber, f
		return tok
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil {
		if ne, ok := err.(*strconv.NumError); !ok || ne.Err != strconv.ErrRange {
			// Accept the longest numeric prefix strtod would read.
			for end > start {
				end--
				if f, err = strconv.ParseFloat(s[start:end], 64); err == nil {
					break
				}
			}
			if end == start {
				tok.typ, tok.err = tError, "invalid number"
				return tok
			}
		}
	}
	d.pos = end
	tok.typ, tok.num = tNumber, f
	return tok
}

// hexPrefixLen is the length of a leading "-0x1f"-style number in s, 0 if
// there is none.
func hexPrefixLen(s string) int {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	if i+2 > len(s) || s[i] != '0' || (s[i+1] != 'x' && s[i+1] != 'X') {
		return 0
	}
	j := i + 2
	for j < len(s) && strings.IndexByte("0123456789abcdefABCDEF", s[j]) >= 0 {
		j++
	}
	if j == i+2 {
		return 0
	}
	return j
}
