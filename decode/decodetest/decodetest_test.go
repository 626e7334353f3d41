package decodetest

import (
	"errors"
	"math"
	"testing"

	"github.com/bciloop/bciloop/decode"
)

// ema is a toy decoder, an exponential moving average of the counts, with a
// switchable bug, to show that each check of the kit catches what it claims.
type ema struct {
	n    int
	bug  string
	x    []float64
	prev []float64 // retained obs.Counts, for the "retains" bug
}

func (e *ema) Reset() {
	if e.bug != "no reset" {
		clear(e.x)
	}
}

func (e *ema) Decode(dst *decode.Estimate, obs *decode.Bin) error {
	if e.bug == "dirty error" {
		e.x[0]++
	}
	if len(obs.Counts) != e.n && e.bug != "accepts bad" {
		return errors.New("ema: wrong channel count")
	}
	for i := 0; i < e.n && i < len(obs.Counts); i++ {
		e.x[i] = 0.8*e.x[i] + 0.2*obs.Counts[i]
		if e.bug == "retains" && e.prev != nil {
			e.x[i] += 0.1 * e.prev[i]
		}
	}
	if e.bug == "retains" {
		e.prev = obs.Counts
	}
	if e.bug == "modifies bin" {
		obs.Counts[0] = -1
	}
	dst.Seq, dst.Sample, dst.Arrived = obs.Seq, obs.End(), obs.Arrived
	if e.bug == "stamps" {
		dst.Sample = obs.Start
	}
	switch {
	case e.bug == "allocates":
		dst.State = make([]float64, e.n)
	case e.bug == "ignores capacity" && len(dst.State) != e.n:
		dst.State = make([]float64, e.n)
	case cap(dst.State) < e.n:
		dst.State = make([]float64, e.n)
	default:
		dst.State = dst.State[:e.n]
	}
	copy(dst.State, e.x)
	if e.bug == "nan" && obs.Seq == 3 {
		dst.State[0] = math.NaN()
	}
	dst.Cov = dst.Cov[:0]
	return nil
}

func toyBins(n, count int) []decode.Bin {
	bins := make([]decode.Bin, count)
	for t := range bins {
		c := make([]float64, n)
		for i := range c {
			c[i] = float64((t*7 + i*3) % 5)
		}
		bins[t] = decode.Bin{Seq: uint64(t), Start: int64(t) * 10, Width: 10, Rate: 1000, Counts: c, Arrived: int64(t) + 100}
	}
	return bins
}

func TestKitCatchesBugs(t *testing.T) {
	const n = 5
	tests := []struct {
		bug  string
		fail string // the check that must fail; "" means all pass
	}{
		{"", ""},
		{"stamps", "carries stamps and is finite"},
		{"nan", "carries stamps and is finite"},
		{"modifies bin", "does not modify the bin"},
		{"allocates", "allocation free"},
		{"ignores capacity", "reuses dst"},
		{"dirty error", "bad bin leaves state unchanged"},
		{"accepts bad", "bad bin leaves state unchanged"},
		{"no reset", "reset restores the prior"},
		{"retains", "does not retain the bin"},
	}
	for _, tc := range tests {
		t.Run(tc.bug, func(t *testing.T) {
			s, err := newSuite(func() decode.Decoder { return &ema{n: n, bug: tc.bug, x: make([]float64, n)} }, n, toyBins(n, 12))
			if err != nil {
				t.Fatal(err)
			}
			failed := false
			for _, c := range checks {
				err := c.fn(s)
				if c.name == tc.fail {
					failed = true
					if err == nil {
						t.Errorf("check %q passed a decoder with bug %q", c.name, tc.bug)
					}
				} else if err != nil && tc.fail == "" {
					t.Errorf("check %q failed a correct decoder: %v", c.name, err)
				}
			}
			if tc.fail != "" && !failed {
				t.Fatalf("no check named %q", tc.fail)
			}
		})
	}
}

func TestRunCorrectDecoder(t *testing.T) {
	Run(t, func() decode.Decoder { return &ema{n: 3, x: make([]float64, 3)} }, 3, toyBins(3, 8))
}

func TestNewSuiteRejectsBadInput(t *testing.T) {
	mk := func() decode.Decoder { return &ema{n: 3, x: make([]float64, 3)} }
	if _, err := newSuite(mk, 3, toyBins(3, 3)); err == nil {
		t.Error("3 bins accepted")
	}
	if _, err := newSuite(mk, 4, toyBins(3, 8)); err == nil {
		t.Error("channel mismatch accepted")
	}
}
