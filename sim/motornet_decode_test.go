package sim_test

import (
	"fmt"
	"testing"

	"github.com/bciloop/bciloop/decode"
	"github.com/bciloop/bciloop/sim"
)

// motorNetBins runs m for T bins of width frames and returns them with the
// counts per electrode (all its units) and the mean truth [vx, vy] of each
// bin.
func motorNetBins(t testing.TB, m *sim.MotorNet, T, width int) []decode.Bin {
	t.Helper()
	n := m.Electrodes()
	bins := make([]decode.Bin, T)
	var ev []sim.UnitEvent
	var truth []float64
	for b := range bins {
		start := m.Sample()
		ev, truth = m.Advance(width, ev[:0], truth[:0])
		c := make([]float64, n)
		for _, e := range ev {
			c[e.Channel]++
		}
		tr := make([]float64, 2)
		for f := range width {
			tr[0] += truth[f*4+2] / float64(width)
			tr[1] += truth[f*4+3] / float64(width)
		}
		bins[b] = decode.Bin{Seq: uint64(b), Start: start, Width: width, Rate: m.Rate(), Counts: c, Truth: tr}
	}
	return bins
}

// kalmanR2 fits the Kalman decoder of package decode (Wu et al. 2006) on
// train and returns its velocity R² per axis on held.
func kalmanR2(t testing.TB, train, held []decode.Bin) []float64 {
	t.Helper()
	kcfg := decode.DefaultKalmanConfig()
	kcfg.StateNames = []string{"vx", "vy"}
	kp, err := decode.FitKalmanBins(train, kcfg)
	if err != nil {
		t.Fatal(err)
	}
	kal, err := decode.NewKalman(kp)
	if err != nil {
		t.Fatal(err)
	}
	r := decode.NewR2(2)
	var est decode.Estimate
	for i := range held {
		if err := kal.Decode(&est, &held[i]); err != nil {
			t.Fatal(err)
		}
		if err := r.Add(est.State[:2], held[i].Truth); err != nil {
			t.Fatal(err)
		}
	}
	return r.R2To(nil)
}

// TestMotorNetKalman is the decoding figure of issue 4: with the default
// 96 electrodes (1–3 units each, sorting noise, counts summed per
// electrode as the loop bins them), the Kalman decoder fitted on 20 s
// reaches a velocity R² ≥ 0.7 against the latent on the next 10 s
// (50 ms bins, seed 1).
func TestMotorNetKalman(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("simulates 30 s of a 4000-neuron network")
	}
	m, err := sim.NewMotorNet(sim.DefaultMotorNetConfig())
	if err != nil {
		t.Fatal(err)
	}
	const width, calib, test = 50, 400, 200
	bins := motorNetBins(t, m, calib+test, width)
	r2 := kalmanR2(t, bins[:calib], bins[calib:])
	t.Logf("Kalman velocity R² on held-out data: vx %.3f, vy %.3f", r2[0], r2[1])
	for i, r := range r2 {
		if r < 0.7 {
			t.Errorf("R²[%d] = %.3f, want ≥ 0.7", i, r)
		}
	}
}

// ExampleMotorNet runs the default motor network for 100 ms: spikes come
// per electrode with their sorted unit, truth per frame.
func ExampleMotorNet() {
	m, err := sim.NewMotorNet(sim.DefaultMotorNetConfig())
	if err != nil {
		panic(err)
	}
	defer m.Close()
	spikes, truth := m.Advance(100, nil, nil)
	fmt.Println("electrodes:", m.Electrodes(), "steps per frame:", m.StepsPerFrame())
	fmt.Println("truth:", m.TruthNames(), len(truth)/m.TruthDims(), "frames")
	fmt.Println("spikes:", len(spikes) > 0, "unit of the first:", spikes[0].Unit <= 2)
	// Output:
	// electrodes: 96 steps per frame: 4
	// truth: [px py vx vy] 100 frames
	// spikes: true unit of the first: true
}
