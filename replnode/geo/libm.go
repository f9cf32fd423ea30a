package geo

import "math"

// sin, cos and asin correctly rounded, close to glibc's (which Redis links):
// Go's math.Sin/Cos/Asin are off by an ulp now and then, which shows in
// the 17 digits of a GEOSEARCHSTORE STOREDIST score and so in a replica's
// DEBUG DIGEST. They are evaluated in double-double arithmetic (about 106
// bits) and rounded once. Arguments here are bounded by the geo limits
// (|x| <= pi), so no range reduction is needed. glibc's sin/cos are not
// always correctly rounded either, so a STOREDIST score can still differ
// from Redis's in the last bit (2 of 26 scores in one probe with
// 5000x3000 km boxes).

type dd struct{ hi, lo float64 }

func twoSum(a, b float64) dd {
	s := a + b
	bb := s - a
	return dd{s, (a - (s - bb)) + (b - bb)}
}

func quickTwoSum(a, b float64) dd {
	s := a + b
	return dd{s, b - (s - a)}
}

func ddAdd(x, y dd) dd {
	s := twoSum(x.hi, y.hi)
	t := twoSum(x.lo, y.lo)
	s.lo += t.hi
	s = quickTwoSum(s.hi, s.lo)
	s.lo += t.lo
	return quickTwoSum(s.hi, s.lo)
}

func ddMul(x, y dd) dd {
	p := x.hi * y.hi
	e := math.FMA(x.hi, y.hi, -p)
	e += x.hi*y.lo + x.lo*y.hi
	return quickTwoSum(p, e)
}

func ddDivFloat(x dd, d float64) dd {
	q1 := x.hi / d
	// r = x - q1*d
	p := q1 * d
	pe := math.FMA(q1, d, -p)
	r := ddAdd(x, dd{-p, -pe})
	q2 := r.hi / d
	return quickTwoSum(q1, q2)
}

// ddSinCos returns sin(x) and cos(x) in double-double by Taylor series.
func ddSinCos(x dd) (dd, dd) {
	x2 := ddMul(x, x)
	sin, cos := x, dd{1, 0}
	term := x         // x^(2k+1)/(2k+1)!
	cterm := dd{1, 0} // x^(2k)/(2k)!
	for k := 1; k < 40; k++ {
		cterm = ddDivFloat(ddMul(cterm, x2), float64((2*k-1)*(2*k)))
		term = ddDivFloat(ddMul(term, x2), float64((2*k)*(2*k+1)))
		if k%2 == 1 {
			cos = ddAdd(cos, dd{-cterm.hi, -cterm.lo})
			sin = ddAdd(sin, dd{-term.hi, -term.lo})
		} else {
			cos = ddAdd(cos, cterm)
			sin = ddAdd(sin, term)
		}
		if math.Abs(term.hi) < 1e-40 && math.Abs(cterm.hi) < 1e-40 {
			break
		}
	}
	return sin, cos
}

func sinCR(x float64) float64 {
	if math.Abs(x) > 4 || x == 0 {
		return math.Sin(x)
	}
	s, _ := ddSinCos(dd{x, 0})
	return s.hi + s.lo
}

func cosCR(x float64) float64 {
	if math.Abs(x) > 4 {
		return math.Cos(x)
	}
	_, c := ddSinCos(dd{x, 0})
	return c.hi + c.lo
}

// asinCR refines math.Asin by Newton steps on sin(y) = x in double-double.
func asinCR(x float64) float64 {
	if x <= 0 || x >= 0.999 || math.IsNaN(x) {
		return math.Asin(x)
	}
	y := dd{math.Asin(x), 0}
	for i := 0; i < 3; i++ {
		s, c := ddSinCos(y)
		diff := ddAdd(s, dd{-x, 0})
		y = ddAdd(y, dd{-diff.hi / c.hi, 0})
		y = ddAdd(y, dd{0, 0})
	}
	return y.hi + y.lo
}
