package flowrecord

import (
	"math"
	"math/bits"
)

// hll is a HyperLogLog sketch (Flajolet, Fusy, Gandouet and Meunier, 2007)
// of precision hllPrecision: 2^7 = 128 one-byte registers, so a tracked
// source costs 128 bytes whatever it sends. Its relative standard error is
// 1.04/sqrt(128), about 9.2%; below 2.5 × 128 = 320 distinct values the
// estimate uses linear counting (Whang et al., 1990), which is nearly exact
// in the range the scan thresholds sit in (tens of ports or hosts).
type hll [hllRegisters]uint8

const (
	hllPrecision = 7
	hllRegisters = 1 << hllPrecision
	// HLLStandardError is the sketch's relative standard error,
	// 1.04/sqrt(2^7), for documents that quote it.
	HLLStandardError = 0.092
)

// add counts a value by its 64-bit hash: the top bits pick a register, the
// rest give the rank of the first set bit.
func (h *hll) add(x uint64) {
	i := x >> (64 - hllPrecision)
	w := x<<hllPrecision | 1<<(hllPrecision-1) // a set bit bounds the rank
	r := uint8(bits.LeadingZeros64(w)) + 1
	if r > h[i] {
		h[i] = r
	}
}

// merge folds o into h: the sketch of the union of both inputs.
func (h *hll) merge(o *hll) {
	for i, r := range o {
		if r > h[i] {
			h[i] = r
		}
	}
}

// estimate returns the number of distinct values added, within the
// sketch's error.
func (h *hll) estimate() uint64 {
	const m = float64(hllRegisters)
	sum, zeros := 0.0, 0
	for _, r := range h {
		sum += math.Ldexp(1, -int(r))
		if r == 0 {
			zeros++
		}
	}
	if zeros == hllRegisters {
		return 0
	}
	alpha := 0.7213 / (1 + 1.079/m)
	raw := alpha * m * m / sum
	if raw <= 2.5*m && zeros > 0 {
		return uint64(math.Round(m * math.Log(m/float64(zeros))))
	}
	return uint64(math.Round(raw))
}

// valueHash spreads a value that a sketch counts. It is not seeded, unlike
// the tables' hashes: a sketch only counts, so chosen values cannot slow
// it, and a fixed hash gives every run the same estimate for the same
// input, which digests and their tests rely on.
func valueHash(x uint64) uint64 {
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	x *= 0xc4ceb9fe1a85ec53
	x ^= x >> 33
	return x
}
