package loop

import (
	"errors"
	"fmt"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync/atomic"

	"github.com/bciloop/bciloop/acquire"
)

// Stage names of the boundaries measured besides StageQueue … StageStim.
const (
	// StagePace is the source's own lateness: the time from when a
	// self-pacing source's block was due (acquire.Paced.Due) to its
	// arrival stamp (the synthetic brain's wake-up jitter).
	StagePace = "pace"
	// StageStages is arrival → the preprocessing stages done.
	StageStages = "stages"
	// StageBin is arrival → the bin holding the block formed.
	StageBin = "bin"
	// StageBlock is arrival (or due, see deadline) → the block fully
	// processed: the figure checked against run.deadline.
	StageBlock = "block"
)

// gcCyclesMetric is the runtime/metrics name of the count of completed GC
// cycles.
const gcCyclesMetric = "/gc/cycles/total:gc-cycles"

// allocBytesMetric is the runtime/metrics name of the bytes allocated on
// the heap since the program started.
const allocBytesMetric = "/gc/heap/allocs:bytes"

// timing keeps the figures counted after warm-up: deadline misses, drops
// and GC cycles, and ends the warm-up. Warm-up ends at the first block
// that ends run.warmup of stream time after the decoder became ready
// (fitted by calibration or loaded; at the first block with decoder none);
// at that moment the latency histograms start over, and the drop and GC
// counts are taken as the baseline.
//
// A block misses its deadline when it is fully processed (stages, binning,
// decoding, publishing and stimulation of every bin it completes) more than
// run.deadline after its reference time: its arrival stamp, or, from a
// self-pacing source (the synthetic brain in real time), the time it was
// due when that is earlier — a block the source generated late because
// the pipeline held the thread has waited as surely as one sitting in a
// queue. A block dropped by back-pressure is counted in the drops, not
// here: dropped + deadline misses is the number of blocks that were not
// handled in time.
type timing struct {
	deadline   int64 // ns; 0: off
	warmFrames int64 // run.warmup in frames
	warmAt     int64 // sample index at which warm-up ends; -1 until the decoder is ready
	due        int64 // Due of the block being processed (self-pacing source), else 0

	warm     atomic.Bool
	warmNS   atomic.Int64 // acquire.Now at the end of warm-up
	warmS    atomic.Int64 // stream sample at the end of warm-up
	misses   atomic.Uint64
	dropped0 atomic.Uint64 // drops at the end of warm-up
	gc0      atomic.Uint64 // GC cycles at the end of warm-up
	alloc0   atomic.Uint64 // heap bytes allocated at the end of warm-up
}

func newTiming(cfg RunConfig, rate float64) timing {
	return timing{deadline: cfg.Deadline.Nanoseconds(), warmFrames: int64(cfg.Warmup.Seconds()*rate + 0.5), warmAt: -1}
}

// gcCycles returns the GC cycles completed and the bytes allocated on the
// heap since the program started.
func gcCycles() (cycles, alloc uint64) {
	s := [2]metrics.Sample{{Name: gcCyclesMetric}, {Name: allocBytesMetric}}
	metrics.Read(s[:])
	if s[0].Value.Kind() == metrics.KindUint64 {
		cycles = s[0].Value.Uint64()
	}
	if s[1].Value.Kind() == metrics.KindUint64 {
		alloc = s[1].Value.Uint64()
	}
	return cycles, alloc
}

// endBlock runs after a block is fully processed: it ends the warm-up when
// due, and after it records the block's latency and checks its deadline.
// It does not allocate.
func (l *Loop) endBlock(b *acquire.Block) {
	t := &l.timing
	now := acquire.Now()
	if !t.warm.Load() {
		if t.warmAt < 0 && (l.dec != nil || l.calibBins == 0) {
			t.warmAt = b.End() + t.warmFrames
			if l.cfg.Run.GC.Percent != 0 {
				// GC tuned: start the warm-up from a collected heap
				// (the calibration's garbage goes now, not later).
				runtime.GC()
			}
		}
		if t.warmAt < 0 || b.End() < t.warmAt {
			return
		}
		l.endWarmup(b.End(), now)
		return
	}
	ref := b.Arrived
	if t.due > 0 {
		l.lat[StagePace].Record(b.Arrived - t.due)
		ref = min(ref, t.due)
	}
	l.lat[StageBlock].Record(now - ref)
	if t.deadline > 0 && now-ref > t.deadline {
		t.misses.Add(1)
	}
}

// endWarmup starts the after-warm-up figures over.
func (l *Loop) endWarmup(sample, now int64) {
	t := &l.timing
	for _, h := range l.lat {
		h.Reset()
	}
	l.e2e.Reset()
	t.dropped0.Store(l.dropped.Load())
	gc, alloc := gcCycles()
	t.gc0.Store(gc)
	t.alloc0.Store(alloc)
	t.warmS.Store(sample)
	t.warmNS.Store(now)
	t.warm.Store(true)
}

// WarmedAt returns the monotonic time (acquire.Now) at which the warm-up
// ended, or 0 while it lasts. Safe from any goroutine.
func (l *Loop) WarmedAt() int64 { return l.timing.warmNS.Load() }

// afterWarmup fills the after-warm-up figures of s.
func (l *Loop) afterWarmup(s *Summary) {
	t := &l.timing
	s.DeadlineUS = float64(t.deadline) / 1e3
	if !t.warm.Load() {
		return
	}
	s.Warm = true
	s.WarmupS = float64(t.warmS.Load()) / l.rate
	s.DeadlineMisses = t.misses.Load()
	s.DroppedAfterWarmup = l.dropped.Load() - t.dropped0.Load()
	gc, alloc := gcCycles()
	gc -= t.gc0.Load()
	s.GCCycles = &gc
	s.AllocBytes = alloc - t.alloc0.Load()
}

// GCConfig tunes the Go garbage collector for the run. The pipeline does
// not allocate after warm-up (TestProcessAllocs), but the embedded NATS
// server, the client and the status line do, about 0.1–0.2 MB/s with
// the default streams (see `bciloop latency`, alloc_bytes): with the
// runtime's default GOGC = 100 and a live heap of a few MB that is a GC
// cycle every 15–30 s, each stopping the world for a fraction of a
// millisecond. Percent −1 turns the collector off for the run, with
// MemoryLimitMB as the backstop (the collector runs when the heap reaches
// it; Go's soft memory limit, runtime/debug.SetMemoryLimit); at 0.2 MB/s a
// 512 MB limit lasts about 40 minutes. When Percent is set, the heap is
// also collected once when the decoder becomes ready, so the warm-up
// starts clean.
type GCConfig struct {
	Percent       int `yaml:"percent"`         // GOGC for the run; 0 leaves the runtime's (the GOGC variable, default 100); −1: off
	MemoryLimitMB int `yaml:"memory_limit_mb"` // soft memory limit for the run; 0 leaves the runtime's (GOMEMLIMIT)
}

// Validate reports every problem with c.
func (c *GCConfig) Validate() error {
	var errs []error
	if c.Percent < -1 {
		errs = append(errs, fmt.Errorf("percent: must be −1 (off), 0 (the runtime's) or > 0, got %d", c.Percent))
	}
	if c.MemoryLimitMB < 0 {
		errs = append(errs, fmt.Errorf("memory_limit_mb: must be ≥ 0, got %d", c.MemoryLimitMB))
	}
	if c.Percent == -1 && c.MemoryLimitMB == 0 {
		errs = append(errs, errors.New("memory_limit_mb: required with percent −1 (the collector off needs a memory limit as its backstop)"))
	}
	return errors.Join(errs...)
}

// tuneGC applies run.gc and returns the function restoring the runtime's
// settings.
func (l *Loop) tuneGC() func() {
	c := l.cfg.Run.GC
	if c.Percent == 0 && c.MemoryLimitMB == 0 {
		return func() {}
	}
	pct, lim := debug.SetGCPercent(-1), debug.SetMemoryLimit(-1)
	debug.SetGCPercent(pct)
	if c.MemoryLimitMB > 0 {
		debug.SetMemoryLimit(int64(c.MemoryLimitMB) << 20)
	}
	if c.Percent != 0 {
		debug.SetGCPercent(c.Percent)
	}
	return func() {
		debug.SetGCPercent(pct)
		debug.SetMemoryLimit(lim)
	}
}
