// Package decodetest is the conformance kit of decode.Decoder: every
// implementation runs Run in its tests.
package decodetest

import (
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/bciloop/bciloop/decode"
)

// Run checks that the decoders made by newDecoder honour the decode.Decoder
// contract on bins, a sequence of valid bins of channels channels (a few
// dozen are enough; at least 4):
//
//   - every estimate is finite (State, Cov) and carries the bin's Seq,
//     End() (as Sample) and Arrived;
//   - Decode does not modify the bin;
//   - Decode allocates nothing once dst is sized (testing.AllocsPerRun);
//   - dst's slices are reused: once sized they are never reallocated, and a
//     dst with spare capacity is filled in place;
//   - a bin with too many or too few channels is an error and leaves the
//     decoder unchanged: decoding the sequence with bad bins interleaved
//     gives bit-identical estimates to decoding it without them;
//   - Reset restores the prior: decoding the bins again after Reset, and on a
//     fresh decoder, gives bit-identical estimates;
//   - the decoder does not retain the bin: overwriting a bin's counts after
//     Decode does not change later estimates.
//
// newDecoder must return a fresh decoder, in its initial state, at each call.
func Run(t *testing.T, newDecoder func() decode.Decoder, channels int, bins []decode.Bin) {
	t.Helper()
	s, err := newSuite(newDecoder, channels, bins)
	if err != nil {
		t.Fatalf("decodetest: %v", err)
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			if err := c.fn(s); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// suite is one run of the kit: the decoder factory, the bins, and the
// reference estimates of a fresh decoder over them.
type suite struct {
	newDecoder func() decode.Decoder
	channels   int
	bins       []decode.Bin
	ref        []decode.Estimate
}

func newSuite(newDecoder func() decode.Decoder, channels int, bins []decode.Bin) (*suite, error) {
	if len(bins) < 4 {
		return nil, fmt.Errorf("need at least 4 bins, got %d", len(bins))
	}
	if channels < 1 {
		return nil, fmt.Errorf("channels = %d, must be ≥ 1", channels)
	}
	for i := range bins {
		if len(bins[i].Counts) != channels {
			return nil, fmt.Errorf("bins[%d] has %d channels, but channels = %d", i, len(bins[i].Counts), channels)
		}
	}
	s := &suite{newDecoder: newDecoder, channels: channels, bins: make([]decode.Bin, len(bins))}
	scratch := make([]decode.Bin, len(bins))
	for i := range bins {
		s.bins[i] = cloneBin(&bins[i])
		scratch[i] = cloneBin(&bins[i])
	}
	// The reference decodes its own copy, so that a decoder that modifies
	// its input cannot hide it from the check that looks for that.
	ref, err := decodeAll(newDecoder(), scratch)
	if err != nil {
		return nil, err
	}
	s.ref = ref
	return s, nil
}

// checks are the kit's checks, in the order Run runs them; each returns
// nil or what is wrong.
var checks = []struct {
	name string
	fn   func(s *suite) error
}{
	{"carries stamps and is finite", (*suite).stampsAndFinite},
	{"does not modify the bin", (*suite).binUnmodified},
	{"allocation free", (*suite).allocationFree},
	{"reuses dst", (*suite).reusesDst},
	{"bad bin leaves state unchanged", (*suite).badBin},
	{"reset restores the prior", (*suite).reset},
	{"does not retain the bin", (*suite).notRetained},
}

func (s *suite) stampsAndFinite() error {
	for i, e := range s.ref {
		b := &s.bins[i]
		if e.Seq != b.Seq || e.Sample != b.End() || e.Arrived != b.Arrived {
			return fmt.Errorf("bin %d: estimate (seq %d, sample %d, arrived %d), want (%d, %d, %d)",
				i, e.Seq, e.Sample, e.Arrived, b.Seq, b.End(), b.Arrived)
		}
		if len(e.State) == 0 {
			return fmt.Errorf("bin %d: empty State", i)
		}
		if c := len(e.Cov); c != 0 && c != len(e.State)*len(e.State) {
			return fmt.Errorf("bin %d: len(Cov) = %d, want 0 or %d", i, c, len(e.State)*len(e.State))
		}
		for j, v := range e.State {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return fmt.Errorf("bin %d: State[%d] = %g", i, j, v)
			}
		}
		for j, v := range e.Cov {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return fmt.Errorf("bin %d: Cov[%d] = %g", i, j, v)
			}
		}
	}
	return nil
}

func (s *suite) binUnmodified() error {
	dec := s.newDecoder()
	var dst decode.Estimate
	for i := range s.bins {
		b := cloneBin(&s.bins[i])
		before := cloneBin(&b)
		if err := dec.Decode(&dst, &b); err != nil {
			return fmt.Errorf("bin %d: %v", i, err)
		}
		if !sameBin(&b, &before) {
			return fmt.Errorf("bin %d: Decode modified the bin", i)
		}
	}
	return nil
}

func (s *suite) allocationFree() error {
	dec := s.newDecoder()
	var dst decode.Estimate
	for i := range s.bins { // warm-up
		if err := dec.Decode(&dst, &s.bins[i]); err != nil {
			return fmt.Errorf("bin %d: %v", i, err)
		}
	}
	i := 0
	var derr error
	allocs := testing.AllocsPerRun(100, func() {
		if err := dec.Decode(&dst, &s.bins[i%len(s.bins)]); err != nil && derr == nil {
			derr = err
		}
		i++
	})
	if derr != nil {
		return derr
	}
	if allocs != 0 {
		return fmt.Errorf("Decode allocates %v times per bin after warm-up, want 0", allocs)
	}
	return nil
}

func (s *suite) reusesDst() error {
	dec := s.newDecoder()
	var dst decode.Estimate
	if err := dec.Decode(&dst, &s.bins[0]); err != nil {
		return err
	}
	state, cov := dst.State, dst.Cov
	for i := 1; i < len(s.bins); i++ {
		if err := dec.Decode(&dst, &s.bins[i]); err != nil {
			return fmt.Errorf("bin %d: %v", i, err)
		}
		if !sameSlice(dst.State, state) || !sameSlice(dst.Cov, cov) {
			return fmt.Errorf("bin %d: dst slices were reallocated although already sized", i)
		}
	}
	// A dst with spare capacity is used in place.
	dec.Reset()
	roomy := decode.Estimate{State: make([]float64, 0, 64), Cov: make([]float64, 0, 4096)}
	state, cov = roomy.State[:1], roomy.Cov[:1]
	if err := dec.Decode(&roomy, &s.bins[0]); err != nil {
		return err
	}
	if len(roomy.State) <= 64 && !sameSlice(roomy.State, state) {
		return fmt.Errorf("a State with enough capacity (64) for %d values was reallocated", len(roomy.State))
	}
	if len(roomy.Cov) > 0 && len(roomy.Cov) <= 4096 && !sameSlice(roomy.Cov, cov) {
		return fmt.Errorf("a Cov with enough capacity (4096) for %d values was reallocated", len(roomy.Cov))
	}
	return nil
}

func (s *suite) badBin() error {
	dec := s.newDecoder()
	var dst decode.Estimate
	bad := cloneBin(&s.bins[0])
	for _, n := range []int{s.channels + 1, s.channels - 1, 0} {
		bad.Counts = make([]float64, n)
		for i := range bad.Counts {
			bad.Counts[i] = 1
		}
		if err := dec.Decode(&dst, &bad); err == nil {
			return fmt.Errorf("Decode accepted a bin of %d channels (want %d)", n, s.channels)
		}
	}
	dec.Reset()
	for i := range s.bins {
		if i%3 == 1 {
			bad := cloneBin(&s.bins[i])
			for _, counts := range [][]float64{append(bad.Counts, 7), bad.Counts[:s.channels-1]} {
				bad.Counts = counts
				if err := dec.Decode(&dst, &bad); err == nil {
					return fmt.Errorf("bin %d: Decode accepted a bin of %d channels (want %d)", i, len(counts), s.channels)
				}
			}
		}
		if err := dec.Decode(&dst, &s.bins[i]); err != nil {
			return fmt.Errorf("bin %d: %v", i, err)
		}
		if !sameEstimate(&dst, &s.ref[i]) {
			return fmt.Errorf("bin %d: estimate after an interleaved bad bin differs from the clean run:\n got %v\nwant %v", i, dst, s.ref[i])
		}
	}
	return nil
}

func (s *suite) reset() error {
	dec := s.newDecoder()
	var dst decode.Estimate
	for round := 0; round < 3; round++ {
		for i := range s.bins {
			if err := dec.Decode(&dst, &s.bins[i]); err != nil {
				return fmt.Errorf("round %d bin %d: %v", round, i, err)
			}
			if !sameEstimate(&dst, &s.ref[i]) {
				return fmt.Errorf("round %d (after %d Resets) bin %d: estimate differs from a fresh decoder's:\n got %v\nwant %v", round, round, i, dst, s.ref[i])
			}
		}
		dec.Reset()
	}
	return nil
}

func (s *suite) notRetained() error {
	dec := s.newDecoder()
	var dst decode.Estimate
	for i := range s.bins {
		b := cloneBin(&s.bins[i])
		if err := dec.Decode(&dst, &b); err != nil {
			return fmt.Errorf("bin %d: %v", i, err)
		}
		if !sameEstimate(&dst, &s.ref[i]) {
			return fmt.Errorf("bin %d: estimate differs after the previous bin was overwritten", i)
		}
		for j := range b.Counts {
			b.Counts[j] = 1e6 + float64(j)
		}
		for j := range b.Truth {
			b.Truth[j] = -1e6
		}
		b.Seq, b.Arrived = math.MaxUint64, -1
	}
	return nil
}

// decodeAll decodes bins with dec into fresh estimates.
func decodeAll(dec decode.Decoder, bins []decode.Bin) ([]decode.Estimate, error) {
	out := make([]decode.Estimate, len(bins))
	var dst decode.Estimate
	for i := range bins {
		if err := dec.Decode(&dst, &bins[i]); err != nil {
			return nil, fmt.Errorf("bin %d: %v", i, err)
		}
		out[i] = decode.Estimate{Seq: dst.Seq, Sample: dst.Sample, Arrived: dst.Arrived,
			State: slices.Clone(dst.State), Cov: slices.Clone(dst.Cov)}
	}
	return out, nil
}

func cloneBin(b *decode.Bin) decode.Bin {
	c := *b
	c.Counts = slices.Clone(b.Counts)
	c.Truth = slices.Clone(b.Truth)
	return c
}

func sameBin(a, b *decode.Bin) bool {
	return a.Seq == b.Seq && a.Start == b.Start && a.Width == b.Width && sameBits(a.Rate, b.Rate) &&
		a.Arrived == b.Arrived && sameFloats(a.Counts, b.Counts) && sameFloats(a.Truth, b.Truth)
}

func sameEstimate(a, b *decode.Estimate) bool {
	return a.Seq == b.Seq && a.Sample == b.Sample && a.Arrived == b.Arrived &&
		sameFloats(a.State, b.State) && sameFloats(a.Cov, b.Cov)
}

// sameFloats compares bit for bit.
func sameFloats(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !sameBits(a[i], b[i]) {
			return false
		}
	}
	return true
}

func sameBits(a, b float64) bool { return math.Float64bits(a) == math.Float64bits(b) }

// sameSlice reports whether a and b share their first element (and so their
// backing array); two empty slices count as the same.
func sameSlice(a, b []float64) bool {
	if cap(a) == 0 || cap(b) == 0 {
		return cap(a) == cap(b)
	}
	return &a[:1][0] == &b[:1][0]
}
