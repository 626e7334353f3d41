package sim

import (
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestChecker(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	tests := []struct {
		name  string
		check func(*checker)
		want  []string // every problem, in order; none when nil
	}{
		{"positive ok", func(c *checker) { c.positive("k", 1e-9) }, nil},
		{"positive zero", func(c *checker) { c.positive("k", 0) }, []string{"k: must be finite and > 0, got 0"}},
		{"positive negative", func(c *checker) { c.positive("k", -2) }, []string{"k: must be finite and > 0, got -2"}},
		{"positive NaN", func(c *checker) { c.positive("k", nan) }, []string{"k: must be finite and > 0, got NaN"}},
		{"positive Inf", func(c *checker) { c.positive("k", inf) }, []string{"k: must be finite and > 0, got +Inf"}},

		{"nonNegative zero", func(c *checker) { c.nonNegative("k", 0) }, nil},
		{"nonNegative negative", func(c *checker) { c.nonNegative("k", -0.5) }, []string{"k: must be finite and ≥ 0, got -0.5"}},
		{"nonNegative NaN", func(c *checker) { c.nonNegative("k", nan) }, []string{"k: must be finite and ≥ 0, got NaN"}},
		{"nonNegative Inf", func(c *checker) { c.nonNegative("k", inf) }, []string{"k: must be finite and ≥ 0, got +Inf"}},

		{"finite negative", func(c *checker) { c.finite("k", -1e300) }, nil},
		{"finite NaN", func(c *checker) { c.finite("k", nan) }, []string{"k: must be finite, got NaN"}},
		{"finite -Inf", func(c *checker) { c.finite("k", -inf) }, []string{"k: must be finite, got -Inf"}},

		{"closed ends", func(c *checker) { c.closed("a", 0, 0, 1); c.closed("b", 1, 0, 1) }, nil},
		{"closed above", func(c *checker) { c.closed("p", 1.5, 0, 1) }, []string{"p: must be in [0, 1], got 1.5"}},
		{"closed below", func(c *checker) { c.closed("deg", -1, 0, 180) }, []string{"deg: must be in [0, 180], got -1"}},
		{"closed NaN", func(c *checker) { c.closed("p", nan, 0, 1) }, []string{"p: must be in [0, 1], got NaN"}},

		{"open inside", func(c *checker) { c.open("d", 0.5, 0, 1) }, nil},
		{"open low end", func(c *checker) { c.open("d", 0, 0, 1) }, []string{"d: must be in (0, 1), got 0"}},
		{"open high end", func(c *checker) { c.open("pc", 100, 0, 100) }, []string{"pc: must be in (0, 100), got 100"}},
		{"open NaN", func(c *checker) { c.open("d", nan, 0, 1) }, []string{"d: must be in (0, 1), got NaN"}},

		{"notBelow equal", func(c *checker) { c.notBelow("max", 3, "min", 3) }, nil},
		{"notBelow below", func(c *checker) { c.notBelow("max_hz", 2, "min_hz", 3) }, []string{"max_hz: must be ≥ min_hz (3), got 2"}},
		{"notAbove equal", func(c *checker) { c.notAbove("off", 3, "on", 3) }, nil},
		{"notAbove above", func(c *checker) { c.notAbove("off", 4, "on", 3) }, []string{"off: must be ≤ on (3), got 4"}},

		{"belowNyquist ok", func(c *checker) { c.belowNyquist("hp", 499, 1000) }, nil},
		{"belowNyquist at", func(c *checker) { c.belowNyquist("hp", 500, 1000) }, []string{"hp: must be below the Nyquist frequency 500 Hz, got 500"}},

		{"duration ok", func(c *checker) { c.duration("tau", time.Nanosecond) }, nil},
		{"duration zero", func(c *checker) { c.duration("tau", 0) }, []string{"tau: must be > 0, got 0s"}},
		{"duration negative", func(c *checker) { c.duration("tau", -20*time.Millisecond) }, []string{"tau: must be > 0, got -20ms"}},

		{"atLeast equal", func(c *checker) { c.atLeast("n", 1, 1) }, nil},
		{"atLeast below", func(c *checker) { c.atLeast("n", -1, 0) }, []string{"n: must be ≥ 0, got -1"}},

		{"intRange ends", func(c *checker) { c.intRange("a", 1, 1, 8); c.intRange("b", 8, 1, 8) }, nil},
		{"intRange below", func(c *checker) { c.intRange("units", 0, 1, 8) }, []string{"units: must be in [1, 8], got 0"}},
		{"intRange above", func(c *checker) { c.intRange("units", 9, 1, 8) }, []string{"units: must be in [1, 8], got 9"}},

		{"bad formats", func(c *checker) { c.bad("channels[2]", "duplicate electrode %q", "C3") }, []string{`channels[2]: duplicate electrode "C3"`}},
		{"nested nil", func(c *checker) { c.nested("jansen_rit", nil) }, nil},
		{"nested", func(c *checker) { c.nested("jansen_rit", errors.New("a: must be finite and > 0, got 0")) },
			[]string{"jansen_rit: a: must be finite and > 0, got 0"}},
		{"add skips nil", func(c *checker) { c.add(nil, errors.New("sheet.grid: x"), nil) }, []string{"sheet.grid: x"}},

		{"every problem at once, in order", func(c *checker) {
			c.positive("rate_hz", 0)
			c.nonNegative("gain", 1)
			c.intRange("units", 0, 1, 8)
			c.duration("tau", 0)
			c.closed("p", 2, 0, 1)
		}, []string{"rate_hz: must be finite and > 0, got 0", "units: must be in [1, 8], got 0", "tau: must be > 0, got 0s", "p: must be in [0, 1], got 2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c checker
			if !c.ok() || c.err() != nil {
				t.Fatal("zero checker is not clean")
			}
			tt.check(&c)
			err := c.err()
			if c.ok() != (err == nil) {
				t.Errorf("ok() = %v with err %v", c.ok(), err)
			}
			var got []string
			if err != nil {
				got = strings.Split(err.Error(), "\n")
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}

// TestCheckerWraps: a problem handed over with add keeps its error chain
// (MotorNetConfig.Validate wraps the network's problems with %w).
func TestCheckerWraps(t *testing.T) {
	sentinel := errors.New("sentinel")
	var c checker
	c.add(sentinel)
	if !errors.Is(c.err(), sentinel) {
		t.Errorf("errors.Is lost the added error: %v", c.err())
	}
}
