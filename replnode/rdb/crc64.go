package rdb

import (
	"encoding/binary"
	"hash/crc64"
)

// Redis checksums RDB files and DUMP payloads with CRC-64/Jones: polynomial
// 0xad93d23594c935a9, reflected input and output, initial value 0 and no
// final xor (crc64.c). Go's hash/crc64 has the same reflected table, but
// its Update only goes faster than a byte at a time for its two built-in
// polynomials (for others it rebuilds an 8-table set on every call of 2 KiB
// or more), so the slicing-by-8 loop is here, as Redis's crcspeed has it.

// jonesReflected is 0xad93d23594c935a9 with its bits reversed, the form
// hash/crc64 expects.
const jonesReflected = 0x95ac9329ac4bc9b5

// jonesSlicing8 are the tables of the slicing-by-8 update: [0] is the
// byte-at-a-time table, [k] advances a byte k more positions.
var jonesSlicing8 = func() *[8][256]uint64 {
	var t [8][256]uint64
	t[0] = [256]uint64(*crc64.MakeTable(jonesReflected))
	for i := range 256 {
		c := t[0][i]
		for k := 1; k < 8; k++ {
			c = t[0][c&0xff] ^ c>>8
			t[k][i] = c
		}
	}
	return &t
}()

// CRC64 continues Redis's checksum crc over p and returns the new value.
// Start with 0.
func CRC64(crc uint64, p []byte) uint64 {
	t := jonesSlicing8
	for len(p) >= 8 {
		crc ^= binary.LittleEndian.Uint64(p)
		crc = t[7][crc&0xff] ^ t[6][crc>>8&0xff] ^ t[5][crc>>16&0xff] ^ t[4][crc>>24&0xff] ^
			t[3][crc>>32&0xff] ^ t[2][crc>>40&0xff] ^ t[1][crc>>48&0xff] ^ t[0][crc>>56]
		p = p[8:]
	}
	for _, v := range p {
		crc = t[0][byte(crc)^v] ^ crc>>8
	}
	return crc
}
