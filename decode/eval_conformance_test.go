package decode_test

import (
	"testing"

	"github.com/bciloop/bciloop/decode"
	"github.com/bciloop/bciloop/decode/decodetest"
	"github.com/bciloop/bciloop/sim"
)

// simBins returns T bins of 20 frames of the default synthetic motor cortex
// (96 units), with Truth [vx, vy].
func simBins(t *testing.T, T int) []decode.Bin {
	m, err := sim.NewMotorCortex(sim.DefaultMotorCortexConfig())
	if err != nil {
		t.Fatal(err)
	}
	var ev []sim.Event
	var truth []float64
	bins := make([]decode.Bin, T)
	for b := range bins {
		ev, truth = m.Advance(20, ev[:0], truth[:0])
		c := make([]float64, m.Units())
		for _, e := range ev {
			c[e.Channel]++
		}
		v := make([]float64, 2)
		for f := 0; f < 20; f++ {
			v[0] += truth[f*4+2] / 20
			v[1] += truth[f*4+3] / 20
		}
		bins[b] = decode.Bin{Seq: uint64(b), Start: int64(20 * b), Width: 20, Rate: 1000, Counts: c, Truth: v, Arrived: int64(b + 7)}
	}
	return bins
}

func TestNewDecodersConformance(t *testing.T) {
	bins := simBins(t, 1560)
	train, test := bins[:1500], bins[1500:]
	grid := decode.DefaultPoissonConfig()
	grid.Axes = []decode.GridAxis{{Name: "vx", Min: -30, Max: 30, Points: 21}, {Name: "vy", Min: -30, Max: 30, Points: 21}}
	cont := grid
	cont.Prior, cont.Tuning = decode.PriorContinuity, decode.TuningCosine
	mapEst := cont
	mapEst.Estimate = decode.EstimateMAP
	factories := map[string]func() (decode.Decoder, error){}
	for name, cfg := range map[string]decode.PoissonConfig{"poisson/flat": grid, "poisson/continuity": cont, "poisson/map": mapEst} {
		p, err := decode.FitPoissonBins(train, cfg)
		if err != nil {
			t.Fatal(err)
		}
		factories[name] = func() (decode.Decoder, error) { return decode.NewPoisson(p) }
	}
	pp, err := decode.FitPPFBins(train, decode.DefaultPPFConfig())
	if err != nil {
		t.Fatal(err)
	}
	factories["ppf"] = func() (decode.Decoder, error) { return decode.NewPPF(pp) }
	pv, err := decode.FitPopVecBins(train, decode.DefaultPopVecConfig())
	if err != nil {
		t.Fatal(err)
	}
	factories["popvec"] = func() (decode.Decoder, error) { return decode.NewPopVec(pv) }
	wcfg := decode.DefaultWienerConfig()
	wcfg.Lags, wcfg.Ridge = 3, 1
	wp, err := decode.FitWienerBins(train, wcfg)
	if err != nil {
		t.Fatal(err)
	}
	factories["wiener"] = func() (decode.Decoder, error) { return decode.NewWiener(wp) }
	// Classifiers on the sign of vx.
	feats := make([][]float64, len(train))
	labels := make([]int, len(train))
	for i, b := range train {
		feats[i] = b.Counts
		if b.Truth[0] > 0 {
			labels[i] = 1
		}
	}
	lp, err := decode.FitLDA(feats, labels, decode.LDAConfig{Classes: []string{"left", "right"}, Shrinkage: decode.ShrinkLedoitWolf})
	if err != nil {
		t.Fatal(err)
	}
	factories["lda"] = func() (decode.Decoder, error) { return decode.NewLDA(lp) }
	gp, err := decode.FitGNB(feats, labels, []string{"left", "right"})
	if err != nil {
		t.Fatal(err)
	}
	factories["gnb"] = func() (decode.Decoder, error) { return decode.NewGNB(gp) }
	for name, f := range factories {
		t.Run(name, func(t *testing.T) {
			decodetest.Run(t, func() decode.Decoder {
				d, err := f()
				if err != nil {
					t.Fatal(err)
				}
				return d
			}, 96, test)
		})
	}
}
