package decode

import (
	"math"
	"testing"

	"github.com/bciloop/bciloop/sim"
)

// motorBins runs the synthetic motor cortex (sim.DefaultMotorCortexConfig:
// 96 cosine-tuned units, 1 kHz, seed 1) for T bins of 20 frames and returns
// them with the mean truth [px, py, vx, vy] of each bin.
func motorBins(t testing.TB, T int) []Bin {
	t.Helper()
	m, err := sim.NewMotorCortex(sim.DefaultMotorCortexConfig())
	if err != nil {
		t.Fatal(err)
	}
	const width = 20
	n := m.Units()
	bins := make([]Bin, T)
	var ev []sim.Event
	var truth []float64
	for b := range bins {
		ev, truth = m.Advance(width, ev[:0], truth[:0])
		c := make([]float64, n)
		for _, e := range ev {
			c[e.Channel]++
		}
		tr := make([]float64, 4)
		for f := 0; f < width; f++ {
			for j := range tr {
				tr[j] += truth[f*4+j] / width
			}
		}
		bins[b] = Bin{Seq: uint64(b), Start: int64(b * width), Width: width, Rate: m.Rate(), Counts: c, Truth: tr}
	}
	return bins
}

// velocityBins returns copies of bins whose Truth is [vx, vy] only.
func velocityBins(bins []Bin) []Bin {
	out := make([]Bin, len(bins))
	for i, b := range bins {
		b.Truth = b.Truth[2:4]
		out[i] = b
	}
	return out
}

// TestMotorCortexFigures measures the decoders on the synthetic motor
// cortex with its defaults (96 units, 20 ms bins): 120 s of calibration, then
// 60 s decoded. Targets (issue 5): velocity R² ≥ 0.7 for Kalman and ≥ 0.65
// for the point-process filter; the Poisson grid decoder's median error below
// 10 % of the workspace it decodes over.
func TestMotorCortexFigures(t *testing.T) {
	if testing.Short() {
		t.Skip("simulates 180 s of the motor cortex")
	}
	const calib, test = 6000, 3000
	bins := velocityBins(motorBins(t, calib+test))
	train, held := bins[:calib], bins[calib:]
	r2Of := func(dec Decoder) []float64 {
		r := NewR2(2)
		var est Estimate
		for i := range held {
			if err := dec.Decode(&est, &held[i]); err != nil {
				t.Fatal(err)
			}
			if err := r.Add(est.State[:2], held[i].Truth); err != nil {
				t.Fatal(err)
			}
		}
		return r.R2To(nil)
	}
	mean := func(v []float64) float64 { return (v[0] + v[1]) / 2 }

	kcfg := DefaultKalmanConfig()
	kcfg.StateNames = []string{"vx", "vy"}
	kp, err := FitKalmanBins(train, kcfg)
	if err != nil {
		t.Fatal(err)
	}
	kal, err := NewKalman(kp)
	if err != nil {
		t.Fatal(err)
	}
	kr := r2Of(kal)

	pp, err := FitPPFBins(train, PPFConfig{StateNames: []string{"vx", "vy"}})
	if err != nil {
		t.Fatal(err)
	}
	ppf, err := NewPPF(pp)
	if err != nil {
		t.Fatal(err)
	}
	pr := r2Of(ppf)

	pvp, err := FitPopVecBins(train, PopVecConfig{})
	if err != nil {
		t.Fatal(err)
	}
	pv, _ := NewPopVec(pvp)
	pvr := r2Of(pv)
	wcfg := DefaultWienerConfig()
	wcfg.Lags = 5 // 100 ms: enough for the 300 ms latent dynamics, and a fast fit under -race
	wp, err := FitWienerBins(train, wcfg)
	if err != nil {
		t.Fatal(err)
	}
	wf, _ := NewWiener(wp)
	wr := r2Of(wf)
	t.Logf("baselines, velocity R²: population vector %.3f (mean %.3f), wiener (5 lags) %.3f (mean %.3f)", pvr, mean(pvr), wr, mean(wr))

	// The units encode velocity only (sim.MotorCortex), so the grid is
	// over (vx, vy): ±30 cm/s (3× the RMS speed of 10 cm/s) in 2 cm/s
	// steps, 31 × 31 = 961 points; "workspace" is its 60 cm/s width.
	const half = 30.0
	pcfg := DefaultPoissonConfig()
	pcfg.Axes = []GridAxis{{Name: "vx", Min: -half, Max: half, Points: 31}, {Name: "vy", Min: -half, Max: half, Points: 31}}
	pcfg.Tuning, pcfg.Prior = TuningCosine, PriorContinuity
	gp, err := FitPoissonBins(train, pcfg)
	if err != nil {
		t.Fatal(err)
	}
	grid, err := NewPoisson(gp)
	if err != nil {
		t.Fatal(err)
	}
	errs := make([]float64, len(held))
	var est Estimate
	for i := range held {
		if err := grid.Decode(&est, &held[i]); err != nil {
			t.Fatal(err)
		}
		errs[i] = math.Hypot(est.State[0]-held[i].Truth[0], est.State[1]-held[i].Truth[1])
	}
	med := median(errs)
	gr := NewR2(2)
	grid.Reset()
	for i := range held {
		_ = grid.Decode(&est, &held[i])
		_ = gr.Add(est.State, held[i].Truth)
	}

	t.Logf("velocity R² (vx, vy): kalman %.3f (mean %.3f), ppf %.3f (mean %.3f), poisson grid %.3f (mean %.3f)",
		kr, mean(kr), pr, mean(pr), gr.R2To(nil), mean(gr.R2To(nil)))
	t.Logf("poisson grid (continuity prior, cosine tuning): median error %.2f cm/s = %.1f %% of the %.0f cm/s workspace",
		med, 100*med/(2*half), 2*half)
	if mean(kr) < 0.7 {
		t.Errorf("kalman velocity R² %.3f < 0.7", mean(kr))
	}
	if mean(pr) < 0.65 {
		t.Errorf("ppf velocity R² %.3f < 0.65", mean(pr))
	}
	if med >= 0.1*2*half {
		t.Errorf("poisson grid median error %.2f cm/s ≥ 10 %% of the workspace (%.1f)", med, 0.2*half)
	}
}
