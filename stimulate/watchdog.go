package stimulate

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/bciloop/bciloop/acquire"
)

// WatchdogConfig configures a Watchdog.
type WatchdogConfig struct {
	// Stale is how long the loop may go without a fresh input block before
	// stimulation is turned off (SCIENCE.md §6: a watchdog turns
	// stimulation off when inputs go stale or the loop stalls).
	Stale time.Duration `yaml:"stale"`
}

// DefaultWatchdogConfig returns Stale = 100 ms: ten blocks of 10 ms, and
// shorter than one 200 ms lockout of the default ThresholdController, so
// that a stalled stream cannot leave a controller's train running on old
// data for long.
func DefaultWatchdogConfig() WatchdogConfig {
	return WatchdogConfig{Stale: 100 * time.Millisecond}
}

// Validate reports every problem with c at once.
func (c *WatchdogConfig) Validate() error {
	var errs []error
	if c.Stale <= 0 {
		errs = append(errs, fmt.Errorf("stale: must be > 0, got %v", c.Stale))
	}
	return errors.Join(errs...)
}

// WatchdogStats are a Watchdog's counters. Pulses = Passed + Refused;
// ByRule counts refusals by RuleStale (no fresh input, or a pattern caused
// by a block older than Stale) and RuleClosed. Trips counts transitions to
// stale (each turns the sink's outputs off), Resumes transitions back,
// StopErrors failed attempts to turn outputs off.
type WatchdogStats struct {
	Patterns, Pulses, Passed, Refused uint64
	ByRule                            [NumRules]uint64
	Trips, Resumes, StopErrors        uint64
}

// Watchdog sits in front of the stimulation chain (typically a Limit) and
// turns stimulation off when the loop's input goes stale.
//
// The loop calls Feed with the arrival stamp of every fresh block. The
// input is stale when no block arrived within Stale of the clock, and
// before the first Feed. Staleness is checked on every Stimulate and, from
// the first Feed on, by a goroutine the Watchdog owns, every Stale/4, so that
// outputs go off within 1.25·Stale of the last block even when no pattern
// comes. On becoming
// stale the Watchdog turns the sink's outputs off (Stopper.StopStimulation
// when the sink implements it and can, Close otherwise, which is final),
// counts a trip and logs it; while stale it refuses every pulse (RuleStale).
// Stimulate also refuses a pattern whose Arrived stamp, when set, is older
// than Stale: it was caused by stale data. When fresh blocks come again,
// the next Stimulate resumes delivery.
//
// Stimulate does not allocate. Refusals are logged through a burst sampler
// (10 per second) and every one is counted (Stats).
//
// Concurrency: Stimulate is called from one goroutine at a time; Feed may
// be called from any goroutine (it is one atomic operation); Stats,
// StopStimulation and Close from any goroutine at any time. A trip and a
// delivery exclude each other: no pattern reaches the sink after the
// outputs were turned off for staleness until input is fresh again.
type Watchdog struct {
	sink  Stimulator
	cfg   WatchdogConfig
	clock func() int64
	log   zerolog.Logger
	stale int64 // cfg.Stale in ns

	last atomic.Int64 // latest arrival stamp fed; noFeed before the first

	mu      sync.Mutex // guards tripped and delivery against a trip
	tripped bool

	closed    atomic.Bool
	closeOnce sync.Once
	closeErr  error
	quit      chan struct{}
	done      chan struct{}

	patterns, pulses, passed, refused atomic.Uint64
	byRule                            [NumRules]atomic.Uint64
	trips, resumes, stopErrs          atomic.Uint64
}

const noFeed = -1 << 63

// NewWatchdog returns a Watchdog in front of sink under cfg, with clock
// giving the time in ns on the scale of the stamps passed to Feed (nil
// means acquire.Now, the scale of acquire's arrival stamps). It starts the
// Watchdog's goroutine; Close stops it. The input counts as stale until
// the first Feed.
func NewWatchdog(sink Stimulator, cfg WatchdogConfig, clock func() int64, log zerolog.Logger) (*Watchdog, error) {
	if sink == nil {
		return nil, errors.New("stimulate: NewWatchdog: nil sink")
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("stimulate: watchdog config: %w", err)
	}
	if clock == nil {
		clock = acquire.Now
	}
	w := &Watchdog{
		sink:  sink,
		cfg:   cfg,
		clock: clock,
		log:   log.Sample(&zerolog.BurstSampler{Burst: 10, Period: time.Second}),
		stale: int64(cfg.Stale),
		quit:  make(chan struct{}),
		done:  make(chan struct{}),
	}
	w.last.Store(noFeed)
	go w.run(max(cfg.Stale/4, time.Millisecond))
	return w, nil
}

// Feed tells the Watchdog that a fresh block arrived at arrived (ns, on the
// clock's scale). Stamps older than one already fed are ignored.
func (w *Watchdog) Feed(arrived int64) {
	for {
		old := w.last.Load()
		if arrived <= old || w.last.CompareAndSwap(old, arrived) {
			return
		}
	}
}

// isStale reports whether no block arrived within Stale of now.
func (w *Watchdog) isStale(now int64) bool {
	last := w.last.Load()
	return last == noFeed || now-last > w.stale
}

// run checks staleness every period until Close.
func (w *Watchdog) run(period time.Duration) {
	defer close(w.done)
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-w.quit:
			return
		case <-t.C:
			// Before the first block nothing can have been delivered
			// (Stimulate refuses), so there is no output to turn off: the
			// timer arms at the first Feed, and a loop slow to start does
			// not log a trip.
			if w.last.Load() != noFeed && w.isStale(w.clock()) {
				w.mu.Lock()
				if !w.tripped && !w.closed.Load() {
					w.trip("timer")
				}
				w.mu.Unlock()
			}
		}
	}
}

// trip turns the outputs off; w.mu is held.
func (w *Watchdog) trip(by string) {
	w.tripped = true
	err := w.stopSink()
	if err != nil {
		w.stopErrs.Add(1)
	}
	w.trips.Add(1) // after the stop: a reader that sees the trip sees the outputs off
	w.log.Error().Err(err).Str("rule", RuleStale.String()).Str("by", by).Int64("last_block", w.last.Load()).
		Dur("stale", w.cfg.Stale).Uint64("trips", w.trips.Load()).Msg("stimulation watchdog: input stale, outputs off")
}

// stopSink turns the sink's outputs off, stopping it when it can and
// closing it otherwise.
func (w *Watchdog) stopSink() error {
	if s, ok := w.sink.(Stopper); ok {
		err := s.StopStimulation()
		if !errors.Is(err, ErrNotStoppable) {
			return err
		}
	}
	return w.sink.Close()
}

// Stimulate delivers p to the sink when the input is fresh, and refuses it
// whole (RuleStale) otherwise, turning the outputs off on the first stale
// check.
func (w *Watchdog) Stimulate(ctx context.Context, p *Pattern) error {
	if p == nil {
		return errNilPattern
	}
	n := uint64(len(p.Pulses))
	w.patterns.Add(1)
	w.pulses.Add(n)
	if w.closed.Load() {
		w.refuse(RuleClosed, n)
		return ErrClosed
	}
	now := w.clock()
	w.mu.Lock()
	defer w.mu.Unlock()
	switch {
	case w.isStale(now):
		if !w.tripped {
			w.trip("stimulate")
		}
	case w.tripped:
		w.tripped = false
		w.resumes.Add(1)
		w.log.Info().Int64("last_block", w.last.Load()).Msg("stimulation watchdog: input fresh again, delivery resumed")
	}
	if w.tripped || (p.Arrived != 0 && now-p.Arrived > w.stale) {
		w.refuse(RuleStale, n)
		w.log.Warn().Str("rule", RuleStale.String()).Uint64("seq", p.Seq).Int64("arrived", p.Arrived).
			Int64("now", now).Int64("last_block", w.last.Load()).Uint64("refused_total", w.refused.Load()).
			Msg("stimulation pattern refused: input stale")
		return refusals[RuleStale]
	}
	w.passed.Add(n)
	return w.sink.Stimulate(ctx, p)
}

func (w *Watchdog) refuse(r Rule, n uint64) {
	w.refused.Add(n)
	w.byRule[r].Add(n)
}

// StopStimulation turns the sink's outputs off now (as a trip does, without
// counting one); later fresh patterns are delivered again.
func (w *Watchdog) StopStimulation() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.stopSink()
}

// Stale reports whether the input is stale now.
func (w *Watchdog) Stale() bool { return w.isStale(w.clock()) }

// Stats returns a snapshot of the counters.
func (w *Watchdog) Stats() WatchdogStats {
	s := WatchdogStats{
		Patterns:   w.patterns.Load(),
		Pulses:     w.pulses.Load(),
		Passed:     w.passed.Load(),
		Refused:    w.refused.Load(),
		Trips:      w.trips.Load(),
		Resumes:    w.resumes.Load(),
		StopErrors: w.stopErrs.Load(),
	}
	for i := range s.ByRule {
		s.ByRule[i] = w.byRule[i].Load()
	}
	return s
}

// Close stops the Watchdog's goroutine, closes the sink (turning its
// outputs to zero) and refuses every later pattern with ErrClosed. It is
// idempotent; later calls return the first result.
func (w *Watchdog) Close() error {
	w.closed.Store(true)
	w.closeOnce.Do(func() {
		close(w.quit)
		<-w.done
		w.mu.Lock()
		w.closeErr = w.sink.Close()
		w.mu.Unlock()
	})
	return w.closeErr
}
