package hll

import (
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
)

func appendInt(b []byte, n int) []byte { return strconv.AppendInt(b, int64(n), 10) }

// appendf appends prefix, n and, for zero runs, the separating space.
func appendf(b []byte, prefix string, n int) []byte {
	b = append(b, prefix...)
	b = appendInt(b, n)
	if prefix != "v:" {
		b = append(b, ' ')
	}
	return b
}

// SelfTest is PFSELFTEST: register access round trips, then dense and
// sparse estimates of up to 10^7 distinct elements must agree and stay
// within six standard errors. rnd supplies the random values (the caller
// owns the source). It returns Redis's TESTFAILED message on failure.
func SelfTest(rnd func() uint32, sparseMaxBytes int) error {
	dense := make([]byte, DenseSize)
	regs := dense[HeaderSize:]
	var bytecounters [Registers]uint8
	for j := 0; j < 1000; j++ {
		for i := 0; i < Registers; i++ {
			r := uint8(rnd() & registerMax)
			bytecounters[i] = r
			denseSetRegister(regs, i, r)
		}
		for i := 0; i < Registers; i++ {
			if v := denseGet(regs, i); v != bytecounters[i] {
				return fmt.Errorf("TESTFAILED Register %d should be %d but is %d", i, bytecounters[i], v)
			}
		}
	}
	clear(regs)
	copy(dense, "HYLL")
	o := New()
	relerr := 1.04 / math.Sqrt(Registers)
	checkpoint := int64(1)
	seed := uint64(rnd()) | uint64(rnd())<<32
	var ele [8]byte
	for j := int64(1); j <= 10000000; j++ {
		binary.LittleEndian.PutUint64(ele[:], uint64(j)^seed)
		idx, cnt := patLen(ele[:])
		denseSet(regs, idx, cnt)
		var err error
		if o, _, err = Add(o, ele[:], sparseMaxBytes); err != nil {
			return fmt.Errorf("TESTFAILED %v", err)
		}
		if j != checkpoint {
			continue
		}
		if j < int64(sparseMaxBytes/2) && o[4] != encSparse {
			return fmt.Errorf("TESTFAILED sparse encoding not used")
		}
		dc, _ := count(dense)
		sc, _ := count(o)
		if dc != sc {
			return fmt.Errorf("TESTFAILED dense/sparse disagree")
		}
		abserr := checkpoint - int64(dc)
		maxerr := uint64(math.Ceil(relerr * 6 * float64(checkpoint)))
		if j == 10 {
			maxerr = 1
		}
		if abserr < 0 {
			abserr = -abserr
		}
		if abserr > int64(maxerr) {
			return fmt.Errorf("TESTFAILED Too big error. card:%d abserr:%d", checkpoint, abserr)
		}
		checkpoint *= 10
	}
	return nil
}
