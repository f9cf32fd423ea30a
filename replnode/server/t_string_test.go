package server

import "testing"

func TestStringCommands(t *testing.T) {
	n := newCoreNode(t)
	n.run(transcript{
		{cmd("SET", "k", "v"), "OK"},
		{cmd("GET", "k"), `"v"`},
		{cmd("GET", "missing"), "(nil)"},
		{cmd("SET", "k", "v2", "NX"), "(nil)"},
		{cmd("SET", "k", "v2", "XX", "GET"), `"v"`},
		{cmd("SET", "k", "v", "NX", "XX"), "(error) ERR syntax error"},
		{cmd("SET", "k", "v", "EX", "0"), "(error) ERR invalid expire time in 'set' command"},
		{cmd("SET", "k", "v", "EX", "x"), "(error) ERR value is not an integer or out of range"},
		{cmd("SET", "k", "v", "KEEPTTL", "EX", "1"), "(error) ERR syntax error"},
		{cmd("SET", "k", "v", "EX", "10"), "OK"},
		{cmd("SET", "k", "w", "KEEPTTL"), "OK"},
		{cmd("GETEX", "k", "PERSIST"), `"w"`},
		{cmd("APPEND", "k", "xyz"), "(integer) 4"},
		{cmd("STRLEN", "k"), "(integer) 4"},
		{cmd("GETRANGE", "k", "1", "-2"), `"xy"`},
		{cmd("GETRANGE", "k", "-1", "-5"), `""`},
		{cmd("SETRANGE", "k", "6", "Z"), "(integer) 7"},
		{cmd("GET", "k"), `"wxyz\x00\x00Z"`},
		{cmd("SETRANGE", "k", "-1", "Z"), "(error) ERR offset is out of range"},
		{cmd("INCR", "n"), "(integer) 1"},
		{cmd("INCRBY", "n", "41"), "(integer) 42"},
		{cmd("DECRBY", "n", "-9223372036854775808"), "(error) ERR decrement would overflow"},
		{cmd("INCRBY", "n", "9223372036854775807"), "(error) ERR increment or decrement would overflow"},
		{cmd("INCR", "k"), "(error) ERR value is not an integer or out of range"},
		{cmd("SET", "f", "10.5"), "OK"},
		{cmd("INCRBYFLOAT", "f", "0.1"), `"10.6"`},
		{cmd("INCRBYFLOAT", "f", "-5.0e3"), `"-4989.39999999999999991"`},
		{cmd("INCRBYFLOAT", "f", "abc"), "(error) ERR value is not a valid float"},
		{cmd("INCRBYFLOAT", "f", "inf"), "(error) ERR increment would produce NaN or Infinity"},
		{cmd("MSET", "a", "1", "b"), "(error) ERR wrong number of arguments for 'mset' command"},
		{cmd("MSET", "a", "1", "b", "2"), "OK"},
		{cmd("MSETNX", "a", "1", "c", "2"), "(integer) 0"},
		{cmd("MGET", "a", "b", "c"), `["1", "2", (nil)]`},
		{cmd("GETDEL", "a"), `"1"`},
		{cmd("GET", "a"), "(nil)"},
		{cmd("GETSET", "b", "3"), `"2"`},
		{cmd("SETNX", "b", "4"), "(integer) 0"},
		{cmd("SETEX", "e", "-1", "v"), "(error) ERR invalid expire time in 'setex' command"},
		{cmd("PSETEX", "e", "100", "v"), "OK"},
	})
}

func TestBitCommands(t *testing.T) {
	n := newCoreNode(t)
	n.run(transcript{
		{cmd("SETBIT", "b", "7", "1"), "(integer) 0"},
		{cmd("SETBIT", "b", "7", "1"), "(integer) 1"},
		{cmd("SETBIT", "b", "-1", "1"), "(error) ERR bit offset is not an integer or out of range"},
		{cmd("SETBIT", "b", "1", "2"), "(error) ERR bit is not an integer or out of range"},
		{cmd("GETBIT", "b", "7"), "(integer) 1"},
		{cmd("GETBIT", "b", "100"), "(integer) 0"},
		{cmd("SET", "s", "foobar"), "OK"},
		{cmd("BITCOUNT", "s"), "(integer) 26"},
		{cmd("BITCOUNT", "s", "1", "1"), "(integer) 6"},
		{cmd("BITCOUNT", "s", "5", "30", "BIT"), "(integer) 17"},
		{cmd("BITCOUNT", "s", "1"), "(error) ERR syntax error"},
		{cmd("SET", "p", "\xff\xf0\x00"), "OK"},
		{cmd("BITPOS", "p", "0"), "(integer) 12"},
		{cmd("BITPOS", "p", "1", "2"), "(integer) -1"},
		{cmd("BITPOS", "p", "0", "0", "0"), "(integer) -1"},
		{cmd("BITPOS", "p", "1", "7", "15", "BIT"), "(integer) 7"},
		{cmd("BITPOS", "p", "2"), "(error) ERR The bit argument must be 1 or 0."},
		{cmd("SET", "x", "\x0f"), "OK"},
		{cmd("SET", "y", "\xf0\x01"), "OK"},
		{cmd("BITOP", "OR", "d", "x", "y"), "(integer) 2"},
		{cmd("GET", "d"), `"\xff\x01"`},
		{cmd("BITOP", "NOT", "d", "x", "y"), "(error) ERR BITOP NOT must be called with a single source key."},
		{cmd("BITOP", "AND", "d", "nokey"), "(integer) 0"},
		{cmd("GET", "d"), "(nil)"},
	})
}

func TestLCS(t *testing.T) {
	n := newCoreNode(t)
	n.run(transcript{
		{cmd("MSET", "a", "ohmytext", "b", "mynewtext"), "OK"},
		{cmd("LCS", "a", "b"), `"mytext"`},
		{cmd("LCS", "a", "b", "LEN"), "(integer) 6"},
		{cmd("LCS", "a", "b", "IDX", "MINMATCHLEN", "4", "WITHMATCHLEN"), `["matches", [[[(integer) 4, (integer) 7], [(integer) 5, (integer) 8], (integer) 4]], "len", (integer) 6]`},
		{cmd("LCS", "a", "b", "IDX"), `["matches", [[[(integer) 4, (integer) 7], [(integer) 5, (integer) 8]], [[(integer) 2, (integer) 3], [(integer) 0, (integer) 1]]], "len", (integer) 6]`},
		{cmd("LCS", "a", "b", "LEN", "IDX"), "(error) ERR If you want both the length and indexes, please just use IDX."},
	})
}
