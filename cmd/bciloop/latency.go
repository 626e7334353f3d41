package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/bciloop/bciloop/acquire"
	"github.com/bciloop/bciloop/decode"
	"github.com/bciloop/bciloop/loop"
	"github.com/bciloop/bciloop/sim"
	"github.com/bciloop/bciloop/stimulate"
)

func init() {
	register("latency", command{"latency --config CONFIG [--duration D] [--load NAME] [--out DIR] [--warmup D] [--deadline D] [--gc-off] [--external CMD]", cmdLatency})
	register(latencyPeerCmd, command{latencyPeerCmd + " (internal: the other process of bciloop latency)", cmdLatencyPeer})
}

// loadProfile is one load of `bciloop latency --load`: it rewrites the
// source (and what the source needs downstream) of a config.
type loadProfile struct {
	doc   string
	apply func(c *loop.Config)
}

// loadProfiles are the loads of the latency table: spikes from 96
// and 192 units at 1 kHz (a Utah array and two), 1024 channels of 30 kHz
// broadband through threshold crossing (the load BRAND reports < 600 µs per
// hop for; Ali et al. 2024, Nat Neurosci), and scalp EEG at 8 channels ×
// 250 Hz (an OpenBCI Cyton) and 64 channels × 1 kHz (the BCI2000 10–10 cap).
var loadProfiles = map[string]loadProfile{
	"spikes-96":  {"96 motor-cortex units, spikes at 1 kHz in 1 ms blocks", func(c *loop.Config) { spikesLoad(c, 96) }},
	"spikes-192": {"192 motor-cortex units, spikes at 1 kHz in 1 ms blocks", func(c *loop.Config) { spikesLoad(c, 192) }},
	"raw-1024":   {"1024 channels × 30 kHz broadband in 1 ms blocks → threshold crossings → bins → steady-state Kalman", rawLoad},
	"eeg-8":      {"8-channel EEG at 250 Hz (sim eeg preset), 4 ms blocks", func(c *loop.Config) { eegLoad(c, 8, 250) }},
	"eeg-64":     {"64-channel EEG at 1 kHz (sim eeg preset, every electrode of the 10–10 cap), 1 ms blocks", func(c *loop.Config) { eegLoad(c, 64, 1000) }},
}

func spikesLoad(c *loop.Config, units int) {
	c.Source.Type, c.Source.Preset = "sim", "motor-cortex"
	c.Source.Units, c.Source.MotorCortexConfig.RateHz, c.Source.Block = units, 1000, time.Millisecond
	c.Stages = nil
}

func loadNames() string {
	var n []string
	for k := range loadProfiles {
		n = append(n, k)
	}
	sort.Strings(n)
	return strings.Join(n, ", ")
}

// latencyOptions are the flags of `bciloop latency`.
type latencyOptions struct {
	config, load, out, external string
	duration, warmup, deadline  time.Duration
	level                       string
	gcOff                       bool
}

func cmdLatency(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("latency", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o latencyOptions
	fs.StringVar(&o.config, "config", "", "loop config (default: the built-in defaults; a --load rewrites its source)")
	fs.DurationVar(&o.duration, "duration", time.Minute, "measured stream time, after calibration and warm-up")
	fs.StringVar(&o.load, "load", "", "load profile: "+loadNames()+" (default: the config's source)")
	fs.StringVar(&o.out, "out", "latency-out", "directory for latency.json, ccdf.png and timeline.png")
	fs.DurationVar(&o.warmup, "warmup", 2*time.Second, "stream time after the decoder is ready before measuring (run.warmup)")
	fs.DurationVar(&o.deadline, "deadline", 0, "per-block deadline (default: the config's run.deadline, else one block)")
	fs.StringVar(&o.external, "external", "", "external decoder mode: run this command (sh -c) as the decoder; it reads the bins and publishes stimulation commands (see docs/examples/external_decoder.py)")
	fs.StringVar(&o.level, "log-level", "warn", "log level: trace, debug, info, warn, error")
	fs.BoolVar(&o.gcOff, "gc-off", false, "turn the Go garbage collector off for the run (run.gc: percent −1, memory_limit_mb 1024)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, `usage: bciloop latency --config CONFIG [flags]

Runs the synthetic brain in real time through the configured pipeline, with
a subscriber in another process, and measures every boundary from sample
arrival to the command received in that process and the stimulation applied
in the brain, next to a bare NATS hop of the same message size in the same
run. Prints a table, writes latency.json and PNG plots to --out.

flags:`)
		fs.PrintDefaults()
	}
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 1 && o.config == "" {
		o.config = pos[0]
	} else if len(pos) > 0 {
		return usageErr("latency: unexpected arguments %q", pos)
	}
	if o.duration <= 0 || o.warmup < 0 || o.deadline < 0 {
		return usageErr("latency: --duration must be > 0, --warmup and --deadline ≥ 0")
	}
	if o.load != "" {
		if _, ok := loadProfiles[o.load]; !ok {
			return usageErr("latency: --load: unknown %q (one of: %s)", o.load, loadNames())
		}
	}
	log, err := newLogger(stderr, o.level)
	if err != nil {
		return err
	}
	cfg := loop.DefaultConfig()
	if o.config != "" {
		if cfg, err = loop.LoadConfig(o.config); err != nil {
			return &exitError{code: 2, err: err}
		}
	}
	if o.load != "" {
		loadProfiles[o.load].apply(&cfg)
	}
	if err := prepareLatencyConfig(&cfg, &o); err != nil {
		return &exitError{code: 2, err: err}
	}
	rep, err := measureLatency(ctx, cfg, o, log, stderr)
	if err != nil {
		return err
	}
	rep.Config, rep.Load = o.config, o.load
	if err := writeLatencyReport(rep, o.out); err != nil {
		return err
	}
	printLatencyTable(stdout, rep)
	fmt.Fprintf(stdout, "\nwrote %s\n", strings.Join([]string{filepath.Join(o.out, "latency.json"), filepath.Join(o.out, "ccdf.png"), filepath.Join(o.out, "timeline.png")}, ", "))
	return nil
}

// prepareLatencyConfig makes cfg a real-time measurement run: commands and
// the bare-transport probe published, the duration covering calibration,
// warm-up and the measured span, the deadline set.
func prepareLatencyConfig(cfg *loop.Config, o *latencyOptions) error {
	if cfg.Source.Type != "sim" {
		return fmt.Errorf("latency: source.type %q: the latency tool runs a synthetic brain (source.type sim, or --load)", cfg.Source.Type)
	}
	cfg.Run.Lockstep = false
	cfg.Publish.Commands, cfg.Publish.Probe, cfg.Publish.Status = true, true, true
	cfg.Run.Warmup = o.warmup
	if o.gcOff {
		cfg.Run.GC = loop.GCConfig{Percent: -1, MemoryLimitMB: 1024}
	}
	if o.deadline > 0 {
		cfg.Run.Deadline = o.deadline
	} else if cfg.Run.Deadline == 0 {
		cfg.Run.Deadline = cfg.Source.Block
	}
	if o.external != "" {
		// The external process decodes the bins and stimulates.
		cfg.Decoder.Type = "none"
		cfg.Stimulate.Controller = "none"
		cfg.Publish.Bins = true
	}
	// The run ends --duration of stream time after the warm-up, which
	// ends run.warmup after the decoder is ready (measureLatency).
	cfg.Run.Duration = 0
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("latency: config after --load and flags: %w", err)
	}
	return nil
}

// latencyRow is one measured boundary.
type latencyRow struct {
	Name string         `json:"name"`
	What string         `json:"what"`
	Q    loop.Quantiles `json:"us"`
	ccdf [2][]float64   // µs, P(X > x)
}

// latencyReport is what `bciloop latency` writes to latency.json.
type latencyReport struct {
	Config     string       `json:"config"`
	Load       string       `json:"load"`
	External   string       `json:"external,omitempty"`
	MeasuredS  float64      `json:"measured_s"`
	Rows       []latencyRow `json:"rows"`
	RatioP50   float64      `json:"e2e_over_bare_p50"` // end-to-end ÷ bare NATS hop
	RatioP99   float64      `json:"e2e_over_bare_p99"`
	PeerLost   uint64       `json:"peer_lost"`  // commands the other process never received (seq gaps)
	GOMAXPROCS int          `json:"gomaxprocs"` //
	CPUs       int          `json:"cpus"`       //
	LoadAvg    string       `json:"loadavg"`    // /proc/loadavg at the end of the run
	Summary    loop.Summary `json:"summary"`    // the loop's own summary
	// ExternalCommands counts the external decoder's commands (--external).
	ExternalCommands *externalStats `json:"external_commands,omitempty"`
	Timeline         [][3]float64   `json:"timeline"`      // [t_s, e2e_us, hop_us] per command after warm-up
	BareTimeline     [][2]float64   `json:"bare_timeline"` // [t_s, hop_us] per probe after warm-up
	// BinsTimeline is [t_s, us] per bins message: arrival → received in the other process.
	BinsTimeline [][2]float64 `json:"bins_timeline"`
}

// externalStats is what became of the external decoder's commands.
type externalStats struct {
	Received      uint64            `json:"received"`
	ByReason      map[string]uint64 `json:"by_reason"` // delivered, malformed, invalid, replayed, limited, failed
	PulsesPassed  uint64            `json:"pulses_passed"`
	PulsesRefused uint64            `json:"pulses_refused"`
}

// row returns the row named n, or nil.
func (r *latencyReport) row(n string) *latencyRow {
	for i := range r.Rows {
		if r.Rows[i].Name == n {
			return &r.Rows[i]
		}
	}
	return nil
}

// stageRows are the loop's own histograms, in pipeline order, with what
// each measures.
var stageRows = [][2]string{
	{loop.StagePace, "source: block due → arrival stamp (sim pacing jitter)"},
	{loop.StageQueue, "arrival → pipeline took the block"},
	{loop.StageStages, "arrival → preprocessing stages done"},
	{loop.StageBin, "arrival → bin formed"},
	{loop.StageDecode, "arrival → decoded"},
	{loop.StagePublish, "arrival → command handed to NATS"},
	{loop.StageBlock, "due/arrival → block fully processed (deadline)"},
	{loop.StageStim, "arrival → stimulation applied in the sim"},
}

// measureLatency runs the loop with the peer process and gathers the rows.
func measureLatency(ctx context.Context, cfg loop.Config, o latencyOptions, log zerolog.Logger, stderr io.Writer) (*latencyReport, error) {
	l, err := loop.Build(cfg, log)
	if err != nil {
		var ce *loop.ConfigError
		if errors.As(err, &ce) {
			return nil, &exitError{code: 2, err: err}
		}
		return nil, err
	}
	if err := l.Connect(); err != nil {
		return nil, err
	}
	peer, err := startLatencyPeer(ctx, l.URL(), cfg.Rig, cfg.Decoder.Type == "none", stderr)
	if err != nil {
		_, _ = l.Run(canceled())
		return nil, err
	}
	var ext *externalRun
	if o.external != "" {
		if ext, err = startExternal(ctx, l, cfg.Rig, o.external, stderr); err != nil {
			peer.stop()
			_, _ = l.Run(canceled())
			return nil, err
		}
	}
	if cfg.Decoder.Type == "none" {
		// No commands, hence no probes from the loop: a bare hop of the
		// bins message's size, once per bin, from a connection of its own.
		stopProbe, err := startBareProber(ctx, l.URL(), cfg.Rig, acquire.WireHeaderSize+4*l.Channels(), cfg.Bin.Width)
		if err != nil {
			peer.stop()
			if ext != nil {
				ext.stop()
			}
			_, _ = l.Run(canceled())
			return nil, err
		}
		defer stopProbe()
	}
	rctx, stopRun := context.WithCancel(ctx)
	defer stopRun()
	go stopAfterWarmup(rctx, l, o.duration, stopRun)
	sum, runErr := l.Run(rctx)
	if ext != nil {
		ext.stop()
	}
	res, peerErr := peer.stop()
	if runErr != nil {
		return nil, runErr
	}
	if peerErr != nil {
		return nil, fmt.Errorf("latency: the subscriber process: %w", peerErr)
	}
	if !sum.Warm {
		return nil, fmt.Errorf("latency: the run ended before its warm-up (decoder never ready?): %s", sum.Error)
	}
	rep := &latencyReport{Summary: sum, GOMAXPROCS: runtime.GOMAXPROCS(0), CPUs: runtime.NumCPU(), External: o.external,
		MeasuredS: sum.SimSeconds - sum.WarmupS}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		rep.LoadAvg = strings.TrimSpace(string(b))
	}
	lats := l.Latencies()
	for _, sr := range stageRows {
		h := lats[sr[0]]
		if q := h.Quantiles(); q.Count > 0 {
			us, above := h.CCDF()
			rep.Rows = append(rep.Rows, latencyRow{Name: sr[0], What: sr[1], Q: q, ccdf: [2][]float64{us, above}})
		}
	}
	rep.addPeer(res, l.WarmedAt())
	if ext != nil {
		rep.addRow("external", "arrival → external decoder's command received", ext.recv)
		cs, ls := ext.ext.Stats()
		rep.ExternalCommands = &externalStats{Received: cs.Received, ByReason: map[string]uint64{}, PulsesPassed: ls.Passed, PulsesRefused: ls.Refused}
		for r, n := range cs.ByReason {
			if n > 0 {
				rep.ExternalCommands.ByReason[stimulate.CommandReason(r).String()] = n
			}
		}
	}
	e2e := rep.row("e2e")
	if e2e == nil {
		e2e = rep.row("bins-e2e") // no commands: the bins stream is the end of the pipeline
	}
	if bare := rep.row("bare"); e2e != nil && bare != nil && bare.Q.P50 > 0 {
		rep.RatioP50, rep.RatioP99 = e2e.Q.P50/bare.Q.P50, e2e.Q.P99/bare.Q.P99
	}
	return rep, nil
}

// stopAfterWarmup calls stop once the loop has processed d of stream time
// after its warm-up.
func stopAfterWarmup(ctx context.Context, l *loop.Loop, d time.Duration, stop func()) {
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if w := l.WarmupSeconds(); w >= 0 && l.StreamSeconds() >= w+d.Seconds() {
			stop()
			return
		}
	}
}

// addPeer adds the rows measured in the other process, from messages whose
// data arrived after warm-up.
func (r *latencyReport) addPeer(res *peerResult, warm int64) {
	e2e, hop, bare := loop.NewLatency(), loop.NewLatency(), loop.NewLatency()
	for _, m := range res.Cmd {
		recv, arrived, sent := m[0], m[1], m[2]
		if arrived < warm {
			continue
		}
		e2e.Record(recv - arrived)
		hop.Record(recv - sent)
		r.Timeline = append(r.Timeline, [3]float64{float64(arrived-warm) / 1e9, float64(recv-arrived) / 1e3, float64(recv-sent) / 1e3})
	}
	for _, m := range res.Probe {
		recv, sent := m[0], m[1]
		if sent < warm {
			continue
		}
		bare.Record(recv - sent)
		r.BareTimeline = append(r.BareTimeline, [2]float64{float64(sent-warm) / 1e9, float64(recv-sent) / 1e3})
	}
	bins := loop.NewLatency()
	for _, m := range res.Bins {
		if m[1] >= warm {
			bins.Record(m[0] - m[1])
			r.BinsTimeline = append(r.BinsTimeline, [2]float64{float64(m[1]-warm) / 1e9, float64(m[0]-m[1]) / 1e3})
		}
	}
	r.PeerLost = res.Lost
	r.addRow("e2e", "arrival → command received in another process", e2e)
	r.addRow("cmd-hop", "command sent → received in another process", hop)
	r.addRow("bare", "bare NATS hop: probe of the same size sent → received", bare)
	r.addRow("bins-e2e", "arrival → bin received in another process", bins)
}

func (r *latencyReport) addRow(name, what string, h *loop.Latency) {
	q := h.Quantiles()
	if q.Count == 0 {
		return
	}
	us, above := h.CCDF()
	r.Rows = append(r.Rows, latencyRow{Name: name, What: what, Q: q, ccdf: [2][]float64{us, above}})
}

// printLatencyTable prints the report as a terminal table.
func printLatencyTable(w io.Writer, r *latencyReport) {
	s := &r.Summary
	fmt.Fprintf(w, "bciloop latency: %s, %.1f s measured after %.1f s (calibration + warm-up); %d CPUs, load %s\n\n",
		orDefault(r.Load, "config source"), r.MeasuredS, s.WarmupS, r.CPUs, r.LoadAvg)
	fmt.Fprintf(w, "%-9s %9s %9s %9s %9s %9s %9s  %s\n", "boundary", "count", "p50 µs", "p90 µs", "p99 µs", "p99.9 µs", "max µs", "")
	for _, row := range r.Rows {
		q := row.Q
		fmt.Fprintf(w, "%-9s %9d %9.1f %9.1f %9.1f %9.1f %9.1f  %s\n", row.Name, q.Count, q.P50, q.P90, q.P99, q.P999, q.Max, row.What)
	}
	fmt.Fprintln(w)
	if r.RatioP50 > 0 {
		fmt.Fprintf(w, "end-to-end ÷ bare NATS hop: p50 %.2f×, p99 %.2f×\n", r.RatioP50, r.RatioP99)
	}
	gc := "n/a"
	if s.GCCycles != nil {
		gc = fmt.Sprint(*s.GCCycles)
	}
	fmt.Fprintf(w, "deadline %.0f µs: %d blocks missed it; %d blocks dropped; %d commands lost on the way; GC cycles after warm-up: %s\n",
		s.DeadlineUS, s.DeadlineMisses, s.DroppedAfterWarmup, r.PeerLost, gc)
	fmt.Fprintf(w, "blocks %d, bins %d, commands %d, stimulation pulses %d (refused %d)\n", s.Blocks, s.Bins, s.Commands, s.StimPulses, s.StimRefused)
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

// writeLatencyReport writes latency.json, ccdf.png and timeline.png.
func writeLatencyReport(r *latencyReport, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("latency: --out: %w", err)
	}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "latency.json"), append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("latency: %w", err)
	}
	if err := plotCCDF(r, filepath.Join(dir, "ccdf.png")); err != nil {
		return fmt.Errorf("latency: ccdf.png: %w", err)
	}
	if err := plotTimeline(r, filepath.Join(dir, "timeline.png")); err != nil {
		return fmt.Errorf("latency: timeline.png: %w", err)
	}
	return nil
}

// canceled returns a context already done: Run then shuts the loop down
// cleanly (stimulator zeroed, NATS closed) without running.
func canceled() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}

// ---- the other process ----

// latencyPeerCmd is the hidden subcommand the latency tool runs as its
// subscriber in another process.
const latencyPeerCmd = "latency-peer"

// peerResult is what the subscriber process reports: for each command
// [receipt, arrived_ns, sent_ns], for each probe [receipt, sent_ns]
// (acquire.Now, CLOCK_MONOTONIC, which both processes share), and the
// commands missing from the sequence.
type peerResult struct {
	Cmd   [][3]int64 `json:"cmd"`
	Probe [][2]int64 `json:"probe"`
	Bins  [][2]int64 `json:"bins"` // [receipt, arrived] per bins message
	Lost  uint64     `json:"lost"`
}

// latencyPeer is the running subscriber process.
type latencyPeer struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   *bufio.Reader
	done  chan struct{}
}

// startLatencyPeer starts this binary again as the subscriber of the rig's
// commands and probes, and waits until it is subscribed.
func startLatencyPeer(ctx context.Context, url, rig string, bins bool, stderr io.Writer) (*latencyPeer, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("latency: finding this executable to start the subscriber: %w", err)
	}
	c := exec.Command(exe, latencyPeerCmd, "--nats", url, "--rig", rig, fmt.Sprintf("--bins=%v", bins))
	c.Env = os.Environ()
	c.Stderr = stderr
	stdin, err := c.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := c.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := c.Start(); err != nil {
		return nil, fmt.Errorf("latency: starting the subscriber: %w", err)
	}
	p := &latencyPeer{cmd: c, stdin: stdin, out: bufio.NewReaderSize(stdout, 1<<20)}
	ready := make(chan error, 1)
	go func() {
		line, err := p.out.ReadString('\n')
		if err == nil && strings.TrimSpace(line) != "ready" {
			err = fmt.Errorf("said %q instead of ready", line)
		}
		ready <- err
	}()
	select {
	case err = <-ready:
	case <-time.After(15 * time.Second):
		err = errors.New("not subscribed within 15 s")
	case <-ctx.Done():
		err = ctx.Err()
	}
	if err != nil {
		_ = c.Process.Kill()
		_ = c.Wait()
		return nil, fmt.Errorf("latency: the subscriber process: %w", err)
	}
	return p, nil
}

// stop tells the subscriber to finish (its stdin closes) and reads its
// result.
func (p *latencyPeer) stop() (*peerResult, error) {
	_ = p.stdin.Close()
	var res peerResult
	dec := json.NewDecoder(p.out)
	decErr := dec.Decode(&res)
	waitErr := p.cmd.Wait()
	if decErr != nil {
		return nil, fmt.Errorf("reading its result: %w (exit: %v)", decErr, waitErr)
	}
	return &res, waitErr
}

// rawLoad is 1024 channels × 30 kHz of broadband voltage (sim preset
// broadband) in 1 ms blocks, through threshold crossings at −4.5σ (σ
// from the first 200 ms; 1 s would hold 123 MB of samples for the median)
// into 20 ms bins and a steady-state Kalman filter (Malik et al. 2011) —
// fitted in information form, so a step costs O(states·channels). With
// 250 calibration bins for 1024 channels, Q is rank-deficient without a
// ridge: q_ridge 0.05 counts² per bin (an eighth of the variance of a
// 20 Hz unit's count in a 20 ms bin).
func rawLoad(c *loop.Config) {
	c.Source.Type, c.Source.Preset = "sim", "broadband"
	c.Source.Broadband.Channels, c.Source.Broadband.RateHz = 1024, 30000
	c.Source.MotorCortexConfig.RateHz, c.Source.Block = 1000, time.Millisecond
	th := loop.StageConfig{Type: "threshold"}
	th.ThresholdConfig = decode.DefaultThresholdConfig()
	th.Calibration = 200 * time.Millisecond
	c.Stages = []loop.StageConfig{th}
	if c.Decoder.Type != "none" {
		c.Decoder.Type = "kalman-ss"
		c.Decoder.Kalman.QRidge = 0.05
	}
	// Back-pressure drops blocks older than run.queue blocks. On the
	// shared 2-core VM this was measured on, scheduling stalls of the
	// pipeline thread longer than the default 16 blocks (16 ms) happen
	// every minute at a load of 2–4 (the sim's own wake-up lateness, row
	// pace, has p99.9 of 5–11 ms there), and the raw load's block is 30×
	// the data of a spike block; 64 ms absorb most. A late block is then
	// processed and counted as a deadline miss instead of being dropped.
	c.Run.Queue = max(c.Run.Queue, 64)
}

// eegLoad is scalp EEG (sim preset eeg) of n channels at rate Hz, one
// frame per block, band-passed 8–30 Hz (mu and beta) and re-referenced to
// the common average; there is no decoder for EEG in the loop, so the
// pipeline ends with the binned stream published (bins on NATS).
func eegLoad(c *loop.Config, n int, rate float64) {
	c.Source.Type, c.Source.Preset = "sim", "eeg"
	c.Source.EEG.Channels = sim.DefaultEEGConfig().Channels
	if n > len(c.Source.EEG.Channels) {
		c.Source.EEG.Channels = sim.EEGElectrodes()
	}
	c.Source.EEG.Channels = c.Source.EEG.Channels[:n]
	c.Source.EEG.RateHz = rate
	c.Source.Block = time.Duration(float64(time.Second) / rate)
	c.Stages = []loop.StageConfig{{Type: "bandpass", Order: 4, LowHz: 8, HighHz: 30}, {Type: "car"}}
	c.Decoder.Type, c.Stimulate.Controller = "none", "none"
	c.Publish.Bins = true
	c.Bin.Width = 100 * time.Millisecond
}
