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

// SimSource is the Source of a synthetic brain. It owns the brain's advance:
// each Read generates the next BlockFrames frames. Other goroutines may
// stimulate the brain (sim.MotorCortex.Stimulate) concurrently.
//
// Blocks: Seq counts from 0, Start is the brain's frame index, Channels the
// unit count, Data is empty (spike-only stream), Spikes carry the unit as
// Channel and Unit 0, Truth carries the brain's [px, py, vx, vy] per frame,
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
// Concurrency: Read from one goroutine at a time; Close from any goroutine.
type SimSource struct {
	brain   *sim.MotorCortex
	cfg     SimSourceConfig
	seq     uint64
	blockNs float64 // block duration in ns
	chunk   int64   // longest single sleep, ns
	t0      int64
	started bool
	due     int64
	events  []sim.Event
	closed  atomic.Bool
}

// NewSimSource returns a Source reading brain with cfg.
func NewSimSource(brain *sim.MotorCortex, cfg SimSourceConfig) (*SimSource, error) {
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
	return &SimSource{
		brain:   brain,
		cfg:     cfg,
		blockNs: blockNs,
		chunk:   max(1, min(int64(blockNs), int64(maxSimSleep))),
	}, nil
}

// Brain returns the synthetic brain the source reads.
func (s *SimSource) Brain() *sim.MotorCortex { return s.brain }

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
	s.events, b.Truth = s.brain.Advance(s.cfg.BlockFrames, s.events[:0], b.Truth[:0])
	spikes := b.Spikes[:0]
	for _, e := range s.events {
		spikes = append(spikes, Spike{Sample: e.Sample, Channel: uint16(e.Channel)})
	}
	b.Arrived = Now()
	b.Spikes = spikes
	b.Seq = s.seq
	b.Start = start
	b.Frames = s.cfg.BlockFrames
	b.Rate = s.brain.Rate()
	b.Channels = s.brain.Units()
	b.Data = b.Data[:0]
	b.Dropped = 0
	b.TruthDims = s.brain.TruthDims()
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
