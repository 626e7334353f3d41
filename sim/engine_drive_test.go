package sim

import (
	"math"
	"strings"
	"testing"
)

// TestAddInput: the conductance added to a lif-cond neuron between steps
// acts from the next step as a synaptic input (it raises V, and decays with
// τ_e), a neighbour untouched stays as in the twin without input, and bad
// calls fail with errors naming the problem.
func TestAddInput(t *testing.T) {
	cfg := COBA(200, 4, 51)
	cfg.Projections = nil // isolated cells
	a, b := newNet(t, cfg), newNet(t, cfg)
	a.Advance(5, nil)
	b.Advance(5, nil)
	if err := a.AddInput(Exc, 10, []float64{20}); err != nil {
		t.Fatal(err)
	}
	ga, gb := a.e.synState(0, 10, 5), b.e.synState(0, 10, 5)
	if math.Abs(ga-(gb+20)) > 1e-12*(gb+20) {
		t.Fatalf("g_e %v, want the twin's %v + 20", ga, gb)
	}
	a.Advance(10, nil)
	b.Advance(10, nil)
	va, vb := a.Potentials(nil), b.Potentials(nil)
	if !(va[10] > vb[10]) {
		t.Errorf("V after input %v, twin %v: want higher", va[10], vb[10])
	}
	if va[11] != vb[11] || va[9] != vb[9] {
		t.Error("neighbours changed")
	}
	if err := a.AddInput(Inh, 0, []float64{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(10, func() { _ = a.AddInput(Exc, 0, []float64{0, 0}) }); n != 0 {
		t.Errorf("%v allocations", n)
	}

	brunel, err := Preset("brunel-a", PresetOptions{Neurons: 500})
	if err != nil {
		t.Fatal(err)
	}
	d := newNet(t, brunel)
	for _, tc := range []struct {
		nw    *Network
		r     Receptor
		first int
		w     []float64
		want  string
	}{
		{a, Exc, 199, []float64{1, 1}, "not within"},
		{a, Exc, -1, []float64{1}, "not within"},
		{a, "x", 0, []float64{1}, "receptor"},
		{a, Exc, 0, []float64{-1}, "conductance"},
		{a, Inh, 0, []float64{1}, ""},
		{d, Exc, 0, []float64{1}, "takes no synaptic-state input"},
	} {
		err := tc.nw.AddInput(tc.r, tc.first, tc.w)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("AddInput(%v, %d, %v): %v", tc.r, tc.first, tc.w, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("AddInput(%v, %d, %v): %v, want %q", tc.r, tc.first, tc.w, err, tc.want)
		}
	}
}
