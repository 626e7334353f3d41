package sim

import (
	"errors"
	"fmt"
	"time"
)

// checker collects the problems of a config, each as "key: message", so that
// a Validate method reports every problem at once instead of stopping at the
// first. Each check records at most one problem and never stops; err joins
// them all in the order they were found. The zero checker is ready to use.
//
// The messages are part of the user-facing contract (tests, the README and
// `bciloop check` quote them): change a text here only together with them.
type checker struct {
	errs []error
}

// bad records the problem "key: message" with the message formatted from
// format and args.
func (c *checker) bad(key, format string, args ...any) {
	c.errs = append(c.errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
}

// add records already formed problems (nil ones are skipped), e.g. those of a
// nested config's validate.
func (c *checker) add(errs ...error) {
	for _, err := range errs {
		if err != nil {
			c.errs = append(c.errs, err)
		}
	}
}

// nested records err of a nested config, if any, as "key: err".
func (c *checker) nested(key string, err error) {
	if err != nil {
		c.bad(key, "%v", err)
	}
}

// ok reports whether no problem has been recorded so far.
func (c *checker) ok() bool { return len(c.errs) == 0 }

// err returns every recorded problem joined by errors.Join, or nil.
func (c *checker) err() error { return errors.Join(c.errs...) }

// positive checks 0 < v < ∞ (NaN fails).
func (c *checker) positive(key string, v float64) {
	if !(v > 0) || !finite(v) {
		c.bad(key, "must be finite and > 0, got %v", v)
	}
}

// nonNegative checks 0 ≤ v < ∞ (NaN fails).
func (c *checker) nonNegative(key string, v float64) {
	if !(v >= 0) || !finite(v) {
		c.bad(key, "must be finite and ≥ 0, got %v", v)
	}
}

// finite checks that v is neither NaN nor ±Inf.
func (c *checker) finite(key string, v float64) {
	if !finite(v) {
		c.bad(key, "must be finite, got %v", v)
	}
}

// closed checks lo ≤ v ≤ hi (NaN fails).
func (c *checker) closed(key string, v, lo, hi float64) {
	if !(v >= lo && v <= hi) {
		c.bad(key, "must be in [%v, %v], got %v", lo, hi, v)
	}
}

// open checks lo < v < hi (NaN fails).
func (c *checker) open(key string, v, lo, hi float64) {
	if !(v > lo && v < hi) {
		c.bad(key, "must be in (%v, %v), got %v", lo, hi, v)
	}
}

// notBelow checks v ≥ min, where min is the value of the key minKey: the
// upper end of a range against its lower end.
func (c *checker) notBelow(key string, v float64, minKey string, min float64) {
	if v < min {
		c.bad(key, "must be ≥ %s (%v), got %v", minKey, min, v)
	}
}

// notAbove checks v ≤ max, where max is the value of the key maxKey: the
// lower end of a range (or a threshold with hysteresis) against its upper end.
func (c *checker) notAbove(key string, v float64, maxKey string, max float64) {
	if v > max {
		c.bad(key, "must be ≤ %s (%v), got %v", maxKey, max, v)
	}
}

// belowNyquist checks that the frequency v (Hz) lies below half the sample
// rate rateHz. It does not check v itself; pair it with positive.
func (c *checker) belowNyquist(key string, v, rateHz float64) {
	if v >= rateHz/2 {
		c.bad(key, "must be below the Nyquist frequency %v Hz, got %v", rateHz/2, v)
	}
}

// duration checks d > 0.
func (c *checker) duration(key string, d time.Duration) {
	if d <= 0 {
		c.bad(key, "must be > 0, got %v", d)
	}
}

// atLeast checks the count n ≥ min.
func (c *checker) atLeast(key string, n, min int) {
	if n < min {
		c.bad(key, "must be ≥ %d, got %d", min, n)
	}
}

// intRange checks the count lo ≤ n ≤ hi.
func (c *checker) intRange(key string, n, lo, hi int) {
	if n < lo || n > hi {
		c.bad(key, "must be in [%d, %d], got %d", lo, hi, n)
	}
}
