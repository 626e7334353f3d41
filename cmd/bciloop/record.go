package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"time"

	"github.com/bciloop/bciloop/acquire"
	"github.com/bciloop/bciloop/loop"
)

func init() {
	register("record", command{"record CONFIG --out FILE [--duration D] [--lockstep] [--sync-interval D]", cmdRecord})
}

// recordSummary is the JSON line record prints at the end.
type recordSummary struct {
	Out       string  `json:"out"`
	Blocks    uint64  `json:"blocks"`
	Frames    int64   `json:"frames"`
	Spikes    uint64  `json:"spikes"`
	Bytes     int64   `json:"bytes"`
	Rejected  uint64  `json:"rejected"` // blocks refused because the disk fell behind
	MaxSyncMs float64 `json:"max_sync_ms"`
	StreamS   float64 `json:"stream_s"`
	WallS     float64 `json:"wall_s"`
	Error     string  `json:"error,omitempty"`
}

func cmdRecord(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("record", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "", "recording file to create (an existing file is never overwritten)")
	duration := fs.Duration("duration", 0, "stop after this much stream time (0: the config's run.duration, else until interrupted)")
	lockstep := fs.Bool("lockstep", false, "run the synthetic brain as fast as possible, deterministically")
	syncEvery := fs.Duration("sync-interval", acquire.DefaultRecorderConfig().SyncInterval, "longest time between fsyncs: a machine crash loses at most about this much")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: bciloop record CONFIG --out FILE [flags]\n\nRecords every block the config's source reads to FILE (the bciloop recording\nformat); a JSON summary goes to stdout. Interrupting ends the recording cleanly.\n\nflags:")
		fs.PrintDefaults()
	}
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	var problems []error
	if len(pos) != 1 {
		problems = append(problems, fmt.Errorf("want exactly one CONFIG file, got %d arguments", len(pos)))
	}
	if *out == "" {
		problems = append(problems, errors.New("--out: the recording file is required"))
	}
	if *duration < 0 {
		problems = append(problems, fmt.Errorf("--duration: must be ≥ 0, got %v", *duration))
	}
	rcfg := acquire.DefaultRecorderConfig()
	rcfg.SyncInterval = *syncEvery
	if err := rcfg.Validate(); err != nil {
		problems = append(problems, fmt.Errorf("--sync-interval: %w", err))
	}
	if len(problems) > 0 {
		return &exitError{code: 2, err: fmt.Errorf("record: %w", errors.Join(problems...))}
	}
	raw, err := os.ReadFile(pos[0])
	if err != nil {
		return &exitError{code: 2, err: err}
	}
	cfg, err := loop.LoadConfig(pos[0])
	if err != nil {
		return &exitError{code: 2, err: err}
	}
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "duration":
			cfg.Run.Duration = *duration
		case "lockstep":
			cfg.Run.Lockstep = *lockstep
		}
	})
	src, err := loop.BuildSource(cfg, nil)
	if err != nil {
		return &exitError{code: 2, err: fmt.Errorf("%s: %w", pos[0], err)}
	}
	defer src.Close()

	meta, err := recordMeta(src, pos[0], raw, cfg)
	if err != nil {
		return err
	}
	rec, err := acquire.CreateRecording(*out, meta, rcfg)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "bciloop: recording %s from %s (lockstep %v, duration %v)\n", *out, pos[0], cfg.Run.Lockstep, cfg.Run.Duration)
	t0 := time.Now()
	sum, runErr := recordBlocks(ctx, src, rec, cfg.Run.Duration)
	closeErr := rec.Close()
	sum.WallS = time.Since(t0).Seconds()
	st := rec.Stats()
	sum.Out, sum.Bytes, sum.Rejected, sum.MaxSyncMs = *out, st.Bytes, st.Rejected, float64(st.MaxSync.Microseconds())/1e3
	if runErr == nil {
		runErr = closeErr
	}
	if runErr != nil {
		sum.Error = runErr.Error()
	}
	if err := json.NewEncoder(stdout).Encode(sum); err != nil {
		return fmt.Errorf("writing the summary: %w", err)
	}
	return runErr
}

// recordBlocks reads src into rec until d of stream time (0: no limit),
// the end of the source, or ctx (a clean stop). A block refused because the
// disk fell behind is counted (in the recorder's stats) and the recording
// goes on; any other failure stops it, keeping everything recorded.
func recordBlocks(ctx context.Context, src acquire.Source, rec *acquire.Recorder, d time.Duration) (recordSummary, error) {
	runtime.LockOSThread() // a real-time source paces itself with precise sleeps on this thread
	defer runtime.UnlockOSThread()
	var sum recordSummary
	var b acquire.Block
	maxFrames, first := int64(math.MaxInt64), int64(0)
	for {
		if ctx.Err() != nil {
			return sum, nil
		}
		if err := src.Read(ctx, &b); err != nil {
			if errors.Is(err, io.EOF) || ctx.Err() != nil {
				return sum, nil
			}
			return sum, fmt.Errorf("source: %w", err)
		}
		if sum.Blocks == 0 {
			first = b.Start
			if d > 0 {
				maxFrames = int64(math.Round(d.Seconds() * b.Rate))
			}
		}
		if err := rec.AppendBlock(&b); err != nil && !errors.Is(err, acquire.ErrRecorderBehind) {
			return sum, err
		}
		sum.Blocks++
		sum.Frames += int64(b.Frames)
		sum.Spikes += uint64(len(b.Spikes))
		sum.StreamS = float64(b.End()-first) / b.Rate
		if b.End()-first >= maxFrames {
			return sum, nil
		}
	}
}

// recordMeta returns the meta chunk: a replayed recording's own (so that
// recording a replay reproduces the original), else a JSON description of
// this recording.
func recordMeta(src acquire.Source, path string, raw []byte, cfg loop.Config) ([]byte, error) {
	if m, ok := src.(interface{ Meta() []byte }); ok && m.Meta() != nil {
		return m.Meta(), nil
	}
	version := "(devel)"
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		version = bi.Main.Version
	}
	return json.Marshal(map[string]any{
		"format":      "bciloop recording",
		"version":     acquire.RecordingVersion,
		"bciloop":     version,
		"created":     time.Now().UTC().Format(time.RFC3339Nano),
		"rig":         cfg.Rig,
		"source":      cfg.Source.Type,
		"lockstep":    cfg.Run.Lockstep,
		"config_file": path,
		"config":      string(raw),
	})
}
