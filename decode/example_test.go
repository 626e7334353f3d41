package decode_test

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/bciloop/bciloop/acquire"
	"github.com/bciloop/bciloop/decode"
)

// A Kalman decoder fitted on calibration bins and run on new ones, on a
// synthetic population of 24 linearly tuned channels (Wu et al. 2006, §2)
// encoding a 2-D velocity.
func ExampleFitKalmanBins() {
	rng := rand.New(rand.NewPCG(1, 2))
	const channels = 24
	prefX, prefY := make([]float64, channels), make([]float64, channels)
	for i := range prefX {
		th := 2 * math.Pi * float64(i) / channels // preferred directions
		prefX[i], prefY[i] = math.Cos(th), math.Sin(th)
	}
	var vx, vy float64
	makeBins := func(n int, seq0 uint64) []decode.Bin {
		bins := make([]decode.Bin, n)
		for t := range bins {
			vx = 0.9*vx + 0.4*rng.NormFloat64()
			vy = 0.9*vy + 0.4*rng.NormFloat64()
			counts := make([]float64, channels)
			for i := range counts {
				counts[i] = 5 + 3*(prefX[i]*vx+prefY[i]*vy) + rng.NormFloat64()
			}
			seq := seq0 + uint64(t)
			bins[t] = decode.Bin{Seq: seq, Start: int64(seq) * 20, Width: 20, Rate: 1000,
				Counts: counts, Truth: []float64{vx, vy}}
		}
		return bins
	}

	cfg := decode.DefaultKalmanConfig()
	cfg.StateNames = []string{"vx", "vy"}
	params, err := decode.FitKalmanBins(makeBins(2000, 0), cfg)
	if err != nil {
		fmt.Println(err)
		return
	}
	// Parameters travel as versioned JSON.
	var file bytes.Buffer
	if err := decode.WriteKalmanParams(&file, params); err != nil {
		fmt.Println(err)
		return
	}
	params, err = decode.ReadKalmanParams(&file)
	if err != nil {
		fmt.Println(err)
		return
	}
	dec, err := decode.NewKalman(params)
	if err != nil {
		fmt.Println(err)
		return
	}
	r2 := decode.NewR2(2)
	var est decode.Estimate
	for _, b := range makeBins(500, 2000) {
		if err := dec.Decode(&est, &b); err != nil {
			fmt.Println(err)
			return
		}
		_ = r2.Add(est.State, b.Truth)
	}
	fmt.Println(dec.StateNames())
	fmt.Printf("A diagonal: %.2f %.2f (true 0.9)\n", params.A[0], params.A[3])
	fmt.Printf("R²: %.2f\n", r2.R2To(nil))
	// Output:
	// [vx vy]
	// A diagonal: 0.90 0.90 (true 0.9)
	// R²: [0.99 0.98]
}

// Blocks of any size become fixed-width bins aligned to sample 0.
func ExampleSpikeBinner() {
	sb, err := decode.NewSpikeBinner(3, 10) // 3 channels, 10-frame bins
	if err != nil {
		fmt.Println(err)
		return
	}
	blocks := []acquire.Block{
		{Seq: 0, Start: 0, Frames: 4, Rate: 1000, Channels: 3,
			Spikes: []acquire.Spike{{Sample: 1, Channel: 0}, {Sample: 3, Channel: 2, Unit: 1}}},
		{Seq: 1, Start: 4, Frames: 25, Rate: 1000, Channels: 3,
			Spikes: []acquire.Spike{{Sample: 9, Channel: 0}, {Sample: 12, Channel: 1}, {Sample: 28, Channel: 1}}},
		{Seq: 2, Start: 40, Frames: 10, Rate: 1000, Channels: 3}, // after a gap
	}
	var bin decode.Bin
	for i := range blocks {
		if err := sb.Add(&blocks[i]); err != nil {
			fmt.Println(err)
			return
		}
		for sb.Next(&bin) {
			fmt.Printf("bin %d [%d, %d): %v lost %d missed %d\n", bin.Seq, bin.Start, bin.End(), bin.Counts, bin.Lost, bin.Missed)
		}
	}
	fmt.Println("gaps:", sb.Gaps())
	// Output:
	// bin 0 [0, 10): [2 0 1] lost 0 missed 0
	// bin 1 [10, 20): [0 1 0] lost 0 missed 0
	// bin 2 [20, 30): [0 1 0] lost 1 missed 0
	// bin 3 [40, 50): [0 0 0] lost 0 missed 1
	// gaps: 1
}
