package acquire

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync/atomic"
	"time"

	"github.com/bciloop/bciloop/sim"
)

// ErrClosed is returned (possibly wrapped) by Read on a Source that was
// closed.
var ErrClosed = errors.New("acquire: source closed")

// SimSourceConfig configures a SimSource.
type SimSourceConfig struct {
	// BlockFrames is the number of frames per block (1 is 1 ms at 1 kHz).
	BlockFrames int `yaml:"block_frames"`
	// Realtime paces blocks to the monotonic clock; false runs in lockstep,
	// as fast as the reader reads, deterministically.
	Realtime bool `yaml:"realtime"`
}

// maxSimBlockFrames bounds a block so that its buffers stay reasonable.
const maxSimBlockFrames = 1 << 20

// DefaultSimSourceConfig returns 1-frame blocks in lockstep.
func DefaultSimSourceConfig() SimSourceConfig {
	return SimSourceConfig{BlockFrames: 1}
}

// Validate reports every problem of c at once, each as "key: message".
func (c *SimSourceConfig) Validate() error {
	var errs []error
	if c.BlockFrames < 1 || c.BlockFrames > maxSimBlockFrames {
		errs = append(errs, fmt.Errorf("block_frames: must be in [1, %d], got %d", maxSimBlockFrames, c.BlockFrames))
	}
	return errors.Join(errs...)
}

// maxSimSleep bounds one sleep of a real-time Read, so that a cancelled ctx
// or a Close is noticed within min(block duration, maxSimSleep).
const maxSimSleep = 10 * time.Millisecond

// SimSource is the Source of a synthetic brain (a SimBrain: the motor
// cortex, the EEG, the beta or seizure circuit, a spiking network; see
// SimPresets). It owns the brain's advance: each Read generates the next
// BlockFrames frames. Other goroutines may stimulate the brain through
// Stimulable concurrently.
//
// Blocks: Seq counts from 0, Start is the brain's frame index, Channels the
// brain's channel count (units of a spike stream, signals of a raw one),
// Data the frame-major samples of a raw stream (empty for spike-only
// streams), Spikes the spikes with the unit as Channel and Unit 0, Truth the
// brain's ground truth per frame (for the motor cortex [px, py, vx, vy]),
// and Arrived is Now() taken right after the block was generated.
//
// Lockstep (Realtime false): Read returns as soon as the block is generated.
// Output other than Arrived depends only on the brain's seed and the
// stimulation it received.
//
// Real time: block k (from 0) is due at t0 + (k+1)·BlockFrames/rate, t0 the
// time of the first Read, from absolute deadlines on the monotonic clock, so
// pacing does not drift. A block already due is generated at once: after a
// late wake-up or a slow reader the following Reads return immediately until
// the stream has caught up, and no block is ever skipped. On Linux the wait
// is clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME), which does not round
// sub-millisecond waits up to 1 ms the way Go timers do; elsewhere
// time.Sleep. Read does not lock its goroutine to an OS thread: the runtime
// hands the thread's P on while it sleeps, and a caller that wants the
// tightest wake-up tail should call runtime.LockOSThread on the reading
// goroutine (see BenchmarkSimSourceRealtime for measured lateness). A
// cancelled ctx or a Close ends a waiting Read within one block duration (at
// most 10 ms).
//
// Applied stimulation: a brain that reports when a stimulus takes effect
// (the motor cortex, sim.MotorCortexConfig.OnApplied) does so itself; for
// the others Stimulable returns the brain's input wrapped so that the
// source calls SimEnv.OnApplied(arrived, applied) once per stimulus, with
// applied = Now() right after the Advance that generated its first pulse's
// frame.
//
// Concurrency: Read from one goroutine at a time; Close from any goroutine.
type SimSource struct {
	brain   SimBrain
	motor   *sim.MotorCortex // when brain is the motor cortex
	cfg     SimSourceConfig
	seq     uint64
	blockNs float64 // block duration in ns
	chunk   int64   // longest single sleep, ns
	t0      int64
	started bool
	due     int64
	dims    int             // ground-truth values per frame
	track   *appliedTracker // nil when the brain reports applied stimuli itself, or has no input
	closed  atomic.Bool
}

// NewSimSource returns a Source reading the motor cortex brain with cfg.
func NewSimSource(brain *sim.MotorCortex, cfg SimSourceConfig) (*SimSource, error) {
	if brain == nil {
		var errs []error
		errs = append(errs, errors.New("brain: must not be nil"))
		if err := cfg.Validate(); err != nil {
			errs = append(errs, err)
		}
		return nil, fmt.Errorf("acquire: sim source: %w", errors.Join(errs...))
	}
	s, err := NewSimBrainSource(&motorBrain{m: brain}, cfg, SimEnv{})
	if err != nil {
		return nil, err
	}
	s.motor = brain
	return s, nil
}

// NewSimBrainSource returns a Source reading brain with cfg; env.OnApplied
// (may be nil) is called for each stimulus applied through Stimulable when
// the brain does not report applied stimuli itself.
func NewSimBrainSource(brain SimBrain, cfg SimSourceConfig, env SimEnv) (*SimSource, error) {
	var errs []error
	if brain == nil {
		errs = append(errs, errors.New("brain: must not be nil"))
	}
	if err := cfg.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("acquire: sim source: %w", err)
	}
	blockNs := float64(cfg.BlockFrames) / brain.Rate() * 1e9
	s := &SimSource{
		brain:   brain,
		cfg:     cfg,
		blockNs: blockNs,
		chunk:   max(1, min(int64(blockNs), int64(maxSimSleep))),
		dims:    len(brain.TruthNames()),
	}
	if mb, ok := brain.(*motorBrain); ok {
		s.motor = mb.m
	}
	if t := brain.Target(); t != nil && env.OnApplied != nil && !reportsApplied(brain) {
		s.track = newAppliedTracker(t, env)
	}
	return s, nil
}

// Brain returns the motor cortex the source reads, or nil when it reads
// another brain (see SimBrain).
func (s *SimSource) Brain() *sim.MotorCortex { return s.motor }

// SimBrain returns the synthetic brain the source reads.
func (s *SimSource) SimBrain() SimBrain { return s.brain }

// Stimulable returns the brain's stimulation input (wrapped to report
// applied stimuli when the brain does not), or nil when it has none.
func (s *SimSource) Stimulable() sim.Stimulable {
	if s.track != nil {
		return s.track
	}
	return s.brain.Target()
}

// SetIntent hands the brain an external intended velocity (sim.Intent:
// the simulated user of a closed-loop task) when it takes one (the motor
// cortex, the spiking motor cortex), and reports whether it does. Call it
// before the first Read or from the reading goroutine.
func (s *SimSource) SetIntent(it sim.Intent) bool {
	b, ok := s.brain.(interface{ SetIntent(sim.Intent) })
	if ok {
		b.SetIntent(it)
	}
	return ok
}

// Due returns the monotonic time in ns at which the last block read was due
// (real time), or 0 in lockstep. Arrived − Due is the pacing lateness.
func (s *SimSource) Due() int64 { return s.due }

// Read generates the next block into b (see SimSource). It does not allocate
// once b's slices have grown to the largest block.
func (s *SimSource) Read(ctx context.Context, b *Block) error {
	if s.closed.Load() {
		return ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.cfg.Realtime {
		if !s.started {
			s.t0, s.started = Now(), true
		}
		due := s.t0 + int64(math.Round(float64(s.seq+1)*s.blockNs))
		if err := s.waitUntil(ctx, due); err != nil {
			return err
		}
		s.due = due
	}
	start := s.brain.Sample()
	b.Data, b.Spikes, b.Truth = b.Data[:0], b.Spikes[:0], b.Truth[:0]
	s.brain.Advance(s.cfg.BlockFrames, b)
	b.Arrived = Now()
	if s.track != nil {
		s.track.applied(start+int64(s.cfg.BlockFrames), b.Arrived)
	}
	b.Seq = s.seq
	b.Start = start
	b.Frames = s.cfg.BlockFrames
	b.Rate = s.brain.Rate()
	b.Channels = s.brain.Channels()
	b.Dropped = 0
	b.TruthDims = s.dims
	s.seq++
	return nil
}

// waitUntil sleeps until the monotonic clock reaches due, in sleeps of at
// most s.chunk, returning early with ctx's error or ErrClosed.
func (s *SimSource) waitUntil(ctx context.Context, due int64) error {
	for {
		now := Now()
		if now >= due {
			return nil
		}
		if s.closed.Load() {
			return ErrClosed
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		sleepUntil(min(due, now+s.chunk))
	}
}

// Close stops the source; a Read waiting for its deadline returns ErrClosed
// within one block duration. It is idempotent and always returns nil.
func (s *SimSource) Close() error {
	s.closed.Store(true)
	return nil
}

var _ Source = (*SimSource)(nil)
