package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"strings"
	"time"

	"github.com/bciloop/bciloop/sim"
)

func init() {
	register("sim", command{"sim --preset NAME [--neurons N] [--duration D] [--seed S] [--threads T] [--raster out.png]", cmdSim})
}

// simSummary is the JSON line of bciloop sim.
type simSummary struct {
	Preset    string   `json:"preset"`
	Neurons   int      `json:"neurons"`
	Synapses  int64    `json:"synapses"`
	Seed      uint64   `json:"seed"`
	Threads   int      `json:"threads"`
	DurationS float64  `json:"duration_s"` // simulated
	Spikes    int64    `json:"spikes"`
	RateEHz   float64  `json:"rate_e_hz"`
	RateIHz   float64  `json:"rate_i_hz"`
	CVISI     *float64 `json:"cv_isi"` // null when no neuron fired three times
	BuildS    float64  `json:"build_s"`
	WallS     float64  `json:"wall_s"` // Advance alone
	RTF       float64  `json:"rtf"`    // simulated time / wall_s
}

// cmdSim runs a network preset as fast as possible and prints one JSON
// line: spike count, mean rates of the E and I populations, mean ISI CV
// over neurons with at least three spikes, and the real-time factor of the
// simulation loop (Advance alone: simulated seconds per wall second);
// with --raster, a raster plot of the spikes of about 500 neurons (each
// population's first ones, in proportion to its size) as a PNG.
func cmdSim(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("sim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	preset := fs.String("preset", "", "network preset: "+strings.Join(sim.Presets(), ", "))
	neurons := fs.Int("neurons", 0, "network size (0: the preset's)")
	duration := fs.Duration("duration", time.Second, "simulated time")
	seed := fs.Uint64("seed", 1, "seed of every random draw")
	threads := fs.Int("threads", 1, "worker threads (the result does not depend on it)")
	rasterPath := fs.String("raster", "", "write a raster plot of the spikes (PNG) to this file")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: bciloop sim --preset NAME [flags]\n\nSimulates a spiking-network preset as fast as possible and prints one JSON line.\n\npresets:")
		for _, p := range sim.Presets() {
			fmt.Fprintf(stderr, "  %-10s %s\n", p, sim.PresetDoc(p))
		}
		fmt.Fprintln(stderr, "\nflags:")
		fs.PrintDefaults()
	}
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	switch {
	case len(pos) != 0:
		return usageErr("sim: unexpected arguments %q", pos)
	case *preset == "":
		return usageErr("sim: --preset is required (one of %s)", strings.Join(sim.Presets(), ", "))
	case *duration <= 0:
		return usageErr("sim: --duration must be > 0, got %v", *duration)
	case *neurons < 0:
		return usageErr("sim: --neurons must be ≥ 0, got %d", *neurons)
	case *threads < 1:
		return usageErr("sim: --threads must be ≥ 1, got %d", *threads)
	}
	cfg, err := sim.Preset(*preset, sim.PresetOptions{Neurons: *neurons, Seed: *seed, Threads: *threads})
	if err != nil {
		return &exitError{code: 2, err: err}
	}
	t0 := time.Now()
	nw, err := sim.NewNetwork(cfg)
	if err != nil {
		return &exitError{code: 2, err: err}
	}
	defer nw.Close()
	build := time.Since(t0)

	steps := int64(math.Round(duration.Seconds() * nw.Rate()))
	st := sim.NewSpikeStats(nw.Neurons(), 0, steps)
	var rs *raster
	if *rasterPath != "" {
		rs = newRaster(nw)
	}
	chunk := int64(nw.Rate() / 10) // 100 ms
	ev := make([]sim.Event, 0, 1<<16)
	var wall time.Duration
	done := int64(0)
	for done < steps && ctx.Err() == nil {
		k := min(chunk, steps-done)
		t := time.Now()
		ev = nw.Advance(int(k), ev[:0])
		wall += time.Since(t)
		st.Add(ev)
		if rs != nil {
			rs.add(ev)
		}
		done += k
	}
	st.To = done // an interrupted run reports what it simulated
	simS := float64(done) / nw.Rate()
	out := simSummary{Preset: *preset, Neurons: nw.Neurons(), Synapses: nw.Synapses(), Seed: *seed, Threads: *threads,
		DurationS: simS, Spikes: st.Count(0, nw.Neurons()), BuildS: build.Seconds(), WallS: wall.Seconds()}
	if wall > 0 {
		out.RTF = simS / wall.Seconds()
	}
	if done > 0 {
		if f, n, ok := nw.PopulationRange("E"); ok {
			out.RateEHz = st.Rate(f, n, cfg.DtMs)
		}
		if f, n, ok := nw.PopulationRange("I"); ok {
			out.RateIHz = st.Rate(f, n, cfg.DtMs)
		}
	}
	if cv, n := st.CV(0, nw.Neurons(), 3); n > 0 {
		out.CVISI = &cv
	}
	if rs != nil {
		title := fmt.Sprintf("%s, %d neurons, seed %d", *preset, nw.Neurons(), *seed)
		if err := rs.write(*rasterPath, title, simS); err != nil {
			return err
		}
	}
	b, err := json.Marshal(out)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "%s\n", b)
	return err
}
