package model

import (
	"errors"
	"fmt"
	"math"
)

// paramCheck collects parameter problems as "Field: message" errors so a
// Validate method reports all of them at once (errors.Join).
type paramCheck struct{ errs []error }

func (c *paramCheck) addf(format string, args ...any) {
	c.errs = append(c.errs, fmt.Errorf(format, args...))
}

// finite requires a finite value.
func (c *paramCheck) finite(name string, v float64) {
	if !isFiniteNum(v) {
		c.addf("%s: must be finite, got %v", name, v)
	}
}

// pos requires a finite value > 0.
func (c *paramCheck) pos(name string, v float64) {
	if !isFiniteNum(v) || v <= 0 {
		c.addf("%s: must be finite and > 0, got %v", name, v)
	}
}

// nonneg requires a finite value ≥ 0.
func (c *paramCheck) nonneg(name string, v float64) {
	if !isFiniteNum(v) || v < 0 {
		c.addf("%s: must be finite and ≥ 0, got %v", name, v)
	}
}

// unit requires a value in [0, 1].
func (c *paramCheck) unit(name string, v float64) {
	if !isFiniteNum(v) || v < 0 || v > 1 {
		c.addf("%s: must be in [0, 1], got %v", name, v)
	}
}

// step validates a fixed integration step against a model's stable maximum.
func (c *paramCheck) step(dt, max float64, why string) {
	switch {
	case !isFiniteNum(dt) || dt <= 0:
		c.addf("dt: must be finite and > 0, got %v", dt)
	case dt > max:
		c.addf("dt: %v ms exceeds the stable maximum %v ms (%s)", dt, max, why)
	}
}

func (c *paramCheck) err() error { return errors.Join(c.errs...) }

// isFiniteNum reports whether v is neither NaN nor ±Inf.
func isFiniteNum(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// mustSameLen panics when slices that describe one population differ in
// length: a wiring error, reported once before the hot loop.
func mustSameLen(who string, n int, lens ...int) {
	for _, l := range lens {
		if l != n {
			panic(fmt.Sprintf("model: %s: slice lengths differ (%d vs %d)", who, l, n))
		}
	}
}
