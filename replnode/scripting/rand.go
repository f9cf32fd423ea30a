package scripting

// lrand48 is Redis's redisLrand48/redisSrand48 (rand.c): the 48-bit
// linear congruential generator of POSIX lrand48, so math.random gives
// the sequence redis-server gives after the same math.randomseed.
type lrand48 struct{ x uint64 }

const (
	lrandA    = 0x5DEECE66D
	lrandC    = 0xB
	lrandMask = 1<<48 - 1
	// lrandMax is REDIS_LRAND48_MAX (INT32_MAX).
	lrandMax = 1<<31 - 1
)

func newLrand48() lrand48 { return lrand48{x: 0x1234ABCD330E} }

func (r *lrand48) seed(v int32) { r.x = uint64(uint32(v))<<16 | 0x330E }

func (r *lrand48) next() int32 {
	r.x = (lrandA*r.x + lrandC) & lrandMask
	return int32(r.x >> 17)
}
