package rdb

// This file holds every on-disk code of the RDB format as Redis 7.0 defines
// them in rdb.h, listpack.c, ziplist.c, zipmap.c, intset.c and quicklist.h.
// Nothing else in the package spells a format byte literally.

// ---------------------------------------------------------------- versions

const (
	// Version is the RDB version Redis 7.0 writes and replnode writes.
	Version = 10
	// MinVersion is the oldest RDB version the decoder accepts.
	MinVersion = 1
	// magic opens every RDB file, followed by the version in 4 ASCII digits.
	magic = "REDIS"
	// checksumSinceVersion is the first version that ends with a CRC64.
	checksumSinceVersion = 5
)

// ---------------------------------------------------------------- value types

const (
	typeString           = 0
	typeList             = 1
	typeSet              = 2
	typeZSet             = 3
	typeHash             = 4
	typeZSet2            = 5 // zset with binary double scores
	typeModule           = 6 // pre-GA module type, never loadable
	typeModule2          = 7
	typeHashZipmap       = 9
	typeListZiplist      = 10
	typeSetIntset        = 11
	typeZSetZiplist      = 12
	typeHashZiplist      = 13
	typeListQuicklist    = 14 // quicklist of ziplists
	typeStreamListpacks  = 15
	typeHashListpack     = 16
	typeZSetListpack     = 17
	typeListQuicklist2   = 18 // quicklist of listpacks and plain nodes
	typeStreamListpacks2 = 19
	// Codes 20 (set listpack) and 21 (stream listpacks 3) are Redis 7.2's
	// (RDB 11): Redis 7.0 refuses them, in files and DUMP payloads alike,
	// and so does the decoder.
	maxKnownType          = typeStreamListpacks2
	quicklistNodePlain    = 1
	quicklistNodePacked   = 2
	maxDoubleStringLength = 253 // old zset scores: lengths above are special
	doubleNaN             = 253
	doublePosInf          = 254
	doubleNegInf          = 255
)

// ---------------------------------------------------------------- opcodes

const (
	opFunction2     = 245 // function library code (Redis 7.0 GA)
	opFunction      = 246 // pre-GA function format, refused by Redis 7.0
	opModuleAux     = 247
	opIdle          = 248 // LRU idle time in seconds
	opFreq          = 249 // LFU frequency, one byte
	opAux           = 250
	opResizeDB      = 251
	opExpireTimeMs  = 252 // 8-byte little endian unix ms
	opExpireTimeSec = 253 // 4-byte little endian unix seconds (old)
	opSelectDB      = 254
	opEOF           = 255
)

// Module value opcodes (rdbLoadCheckModuleValue), used to skip module aux
// data without the module.
const (
	moduleOpEOF    = 0
	moduleOpSInt   = 1
	moduleOpUInt   = 2
	moduleOpFloat  = 3
	moduleOpDouble = 4
	moduleOpString = 5
)

// ---------------------------------------------------------------- lengths

const (
	len6Bit   = 0    // 00xxxxxx
	len14Bit  = 1    // 01xxxxxx xxxxxxxx
	len32Bit  = 0x80 // 10000000 + 4 bytes big endian
	len64Bit  = 0x81 // 10000001 + 8 bytes big endian
	lenEncVal = 3    // 11xxxxxx: a special string encoding follows

	encInt8  = 0 // 11000000 + 1 byte
	encInt16 = 1 // 11000001 + 2 bytes little endian
	encInt32 = 2 // 11000010 + 4 bytes little endian
	encLZF   = 3 // 11000011 + compressed len + uncompressed len + data

	// lzfMinLength: Redis only tries LZF for strings longer than this.
	lzfMinLength = 20
	// intEncodeMaxLength: Redis only tries integer encoding for strings at
	// most this long.
	intEncodeMaxLength = 11
)

// ---------------------------------------------------------------- ziplist

const (
	zipEnd         = 0xff
	zipBigPrevLen  = 0xfe
	zipStr06B      = 0x00 // 00xxxxxx
	zipStr14B      = 0x40 // 01xxxxxx xxxxxxxx (big endian)
	zipStr32B      = 0x80 // 10000000 + 4 bytes big endian
	zipStrMask     = 0xc0
	zipInt16B      = 0xc0
	zipInt32B      = 0xd0
	zipInt64B      = 0xe0
	zipInt24B      = 0xf0
	zipInt8B       = 0xfe
	zipIntImmMin   = 0xf1 // 1111xxxx, value xxxx-1 in 0..12
	zipIntImmMax   = 0xfd
	ziplistHdrSize = 10 // zlbytes, zltail, zllen
)

// ---------------------------------------------------------------- listpack

const (
	lpHdrSize         = 6 // total bytes (u32) + element count (u16)
	lpEOF             = 0xff
	lpEnc7BitUint     = 0x00 // 0xxxxxxx
	lpEnc7BitMask     = 0x80
	lpEnc6BitStr      = 0x80 // 10xxxxxx
	lpEnc6BitMask     = 0xc0
	lpEnc13BitInt     = 0xc0 // 110xxxxx yyyyyyyy
	lpEnc13BitMask    = 0xe0
	lpEnc12BitStr     = 0xe0 // 1110xxxx yyyyyyyy
	lpEnc12BitMask    = 0xf0
	lpEnc32BitStr     = 0xf0
	lpEnc16BitInt     = 0xf1
	lpEnc24BitInt     = 0xf2
	lpEnc32BitInt     = 0xf3
	lpEnc64BitInt     = 0xf4
	lpNumElemsUnknown = 0xffff
)

// ---------------------------------------------------------------- zipmap

const (
	zipmapBigLen = 254
	zipmapEnd    = 255
)

// ---------------------------------------------------------------- intset

const (
	intsetEnc16 = 2
	intsetEnc32 = 4
	intsetEnc64 = 8
)
