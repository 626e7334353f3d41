package model

import (
	"math"
	"strings"
	"testing"
)

// TestRateUnitFixedPointAndTau: for constant input the rate settles at
// r* = f(I) and covers 1 − 1/e of the distance in one τ (exact solution of
// τ dr/dt = −r + f(I)).
func TestRateUnitFixedPointAndTau(t *testing.T) {
	sig := func(x float64) float64 { return 100 / (1 + math.Exp(-(x-5)/2)) }
	for _, tc := range []struct {
		name string
		u    RateUnit
		in   float64
		want float64
	}{
		{"threshold-linear", RateUnit{Tau: 10}, 42, 42},
		{"threshold-linear below 0", RateUnit{Tau: 10, R0: 30}, -5, 0},
		{"sigmoid", RateUnit{Tau: 25, Gain: sig, R0: 3}, 7, 100 / (1 + math.Exp(-1))},
	} {
		if got := tc.u.FixedPoint(tc.in); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("%s: FixedPoint = %v, want %v", tc.name, got, tc.want)
		}
		tau := tc.u.Tau
		tr, err := Simulate(tc.u, Const(tc.in), 0, 10*tau, SimOptions{SampleDt: tau})
		if err != nil {
			t.Fatal(err)
		}
		r := tr.Var("r")
		wantTau := tc.want + (tc.u.R0-tc.want)/math.E
		if math.Abs(r[1]-wantTau) > 1e-6*math.Max(1, math.Abs(tc.want)) {
			t.Errorf("%s: r(τ) = %v, want %v", tc.name, r[1], wantTau)
		}
		if w := tc.u.Exact(tc.u.R0, tc.in, 10*tau); math.Abs(r[10]-w) > 1e-6*math.Max(1, math.Abs(tc.want)) {
			t.Errorf("%s: r(10τ) = %v, want %v", tc.name, r[10], w)
		}
		// Time constant measured from the trajectory: ln of the gap ratio.
		if tc.u.R0 != tc.want {
			g1, g2 := r[1]-tc.want, r[2]-tc.want
			if got := tau / math.Log(g1/g2); math.Abs(got-tau) > 1e-4*tau {
				t.Errorf("%s: measured τ = %v, want %v", tc.name, got, tau)
			}
		}
	}
	if err := (RateUnit{Tau: -1, R0: math.NaN()}).Validate(); err == nil ||
		!strings.Contains(err.Error(), "Tau:") || !strings.Contains(err.Error(), "R0:") {
		t.Errorf("Validate() = %v", err)
	}
}
