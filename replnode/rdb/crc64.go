package rdb

import "hash/crc64"

// Redis checksums RDB files and DUMP payloads with CRC-64/Jones: polynomial
// 0xad93d23594c935a9, reflected input and output, initial value 0 and no
// final xor (crc64.c). Go's hash/crc64 implements the same reflected
// algorithm but inverts the register before and after each update, so the
// Redis value is obtained by undoing those inversions.

// jonesReflected is 0xad93d23594c935a9 with its bits reversed, the form
// hash/crc64 expects.
const jonesReflected = 0x95ac9329ac4bc9b5

var jonesTable = crc64.MakeTable(jonesReflected)

// CRC64 continues Redis's checksum crc over p and returns the new value.
// Start with 0.
func CRC64(crc uint64, p []byte) uint64 {
	return ^crc64.Update(^crc, jonesTable, p)
}
