package stimulate

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/bciloop/bciloop/acquire"
	"github.com/bciloop/bciloop/decode"
	"github.com/bciloop/bciloop/sim"
)

// atomicClock is a controllable clock in ns, safe for the Watchdog's
// goroutine.
type atomicClock struct{ t atomic.Int64 }

func (c *atomicClock) Now() int64 { return c.t.Load() }

// stopRecordSink is a recordSink that can stop without closing.
type stopRecordSink struct {
	recordSink
	mu    sync.Mutex
	stops int
}

func (s *stopRecordSink) StopStimulation() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stops++
	return nil
}

func (s *stopRecordSink) stopCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stops
}

func TestWatchdogConfigValidate(t *testing.T) {
	def := DefaultWatchdogConfig()
	if err := def.Validate(); err != nil {
		t.Fatal(err)
	}
	bad := WatchdogConfig{Stale: -time.Second}
	if err := bad.Validate(); err == nil || !strings.HasPrefix(err.Error(), "stale:") {
		t.Errorf("got %v", err)
	}
	if _, err := NewWatchdog(&countSink{}, bad, nil, zerolog.Nop()); err == nil {
		t.Error("NewWatchdog accepted a bad config")
	}
	if _, err := NewWatchdog(nil, def, nil, zerolog.Nop()); err == nil {
		t.Error("NewWatchdog accepted a nil sink")
	}
}

// TestWatchdogStale steps a clock (ms) through feeds and patterns with
// Stale = 100 ms and checks each verdict, the trips and the sink's stops.
// The timer goroutine is kept out of the way by a clock that only the test
// moves, checked between steps.
func TestWatchdogStale(t *testing.T) {
	type step struct {
		ms      int64
		feed    int64 // ms of a block fed before the pattern; -1: none
		arrived int64 // pattern's Arrived in ms; 0: unset
		pass    bool
	}
	tests := []struct {
		name      string
		steps     []step
		trips     uint64
		resumes   uint64
		stops     int
		staleRefs uint64
	}{
		{"stale before the first block", []step{{0, -1, 0, false}, {50, -1, 0, false}}, 1, 0, 1, 2},
		{"fresh", []step{{10, 5, 0, true}, {100, 50, 0, true}, {150, -1, 0, true}}, 0, 0, 0, 0},
		{"goes stale, resumes", []step{
			{10, 10, 0, true},
			{110, -1, 0, true},  // exactly Stale after the block: still fresh
			{111, -1, 0, false}, // trip
			{150, -1, 0, false},
			{160, 160, 0, true}, // fresh again
		}, 1, 1, 1, 2},
		{"old block fed does not refresh", []step{{10, 10, 0, true}, {300, 100, 0, false}}, 1, 0, 1, 1},
		{"pattern from a stale block", []step{
			{200, 195, 90, false}, // input fresh, but the pattern's block is 110 ms old
			{200, -1, 150, true},
		}, 0, 0, 0, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clk := &atomicClock{}
			sink := &stopRecordSink{recordSink: recordSink{clock: clk.Now}}
			cfg := WatchdogConfig{Stale: 100 * time.Millisecond}
			w, err := NewWatchdog(sink, cfg, clk.Now, zerolog.Nop())
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			pat := &Pattern{Pulses: []Pulse{{AmplitudeUA: 10, PhaseUS: 100, Count: 1}}}
			for i, s := range tc.steps {
				clk.t.Store(s.ms * 1e6)
				if s.feed >= 0 {
					w.Feed(s.feed * 1e6)
				}
				pat.Arrived = s.arrived * 1e6
				err := w.Stimulate(context.Background(), pat)
				if s.pass != (err == nil) {
					t.Errorf("step %d %+v: err %v", i, s, err)
				}
				var re *RefusalError
				if err != nil && (!errors.As(err, &re) || re.Rule != RuleStale) {
					t.Errorf("step %d: err %v, want a stale refusal", i, err)
				}
			}
			st := w.Stats()
			if st.Trips != tc.trips || st.Resumes != tc.resumes || sink.stopCount() != tc.stops ||
				st.ByRule[RuleStale] != tc.staleRefs || st.Pulses != st.Passed+st.Refused || int(st.Passed) != sink.pulses() {
				t.Errorf("stats %+v, stops %d, sink got %d", st, sink.stopCount(), sink.pulses())
			}
		})
	}
}

// TestWatchdogTimer: with no pattern coming, the Watchdog's goroutine turns
// the outputs off within Stale + Stale/4 of the last block, once; a sink
// that cannot stop is closed instead.
func TestWatchdogTimer(t *testing.T) {
	for _, stoppable := range []bool{true, false} {
		sink := &stopRecordSink{}
		var s Stimulator = sink
		if !stoppable {
			s = &sink.recordSink
		}
		w, err := NewWatchdog(s, WatchdogConfig{Stale: 20 * time.Millisecond}, nil, zerolog.Nop())
		if err != nil {
			t.Fatal(err)
		}
		w.Feed(acquire.Now())
		deadline := time.Now().Add(2 * time.Second)
		for w.Stats().Trips == 0 && time.Now().Before(deadline) {
			time.Sleep(2 * time.Millisecond)
		}
		time.Sleep(30 * time.Millisecond) // a second tick must not trip again
		if st := w.Stats(); st.Trips != 1 || !w.Stale() {
			t.Errorf("stoppable=%v: stats %+v", stoppable, st)
		}
		if stoppable && (sink.stopCount() != 1 || sink.closes != 0) || !stoppable && sink.closes != 1 {
			t.Errorf("stoppable=%v: stops %d, closes %d", stoppable, sink.stopCount(), sink.closes)
		}
		if err := w.Close(); err != nil {
			t.Error(err)
		}
	}
}

// brainChain builds MotorCortex ← SimSink ← Limit ← Watchdog, counting
// the trains the brain applies.
func brainChain(t *testing.T, clk *atomicClock) (*sim.MotorCortex, *Limit, *Watchdog, *atomic.Int64) {
	t.Helper()
	applied := &atomic.Int64{}
	bc := sim.DefaultMotorCortexConfig()
	bc.OnApplied = func(_, _ int64) { applied.Add(1) }
	brain, err := sim.NewMotorCortex(bc)
	if err != nil {
		t.Fatal(err)
	}
	lc := DefaultLimitConfig()
	lc.Clock = clk.Now
	l, err := NewLimit(NewSimSink(brain), lc, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	w, err := NewWatchdog(l, WatchdogConfig{Stale: 100 * time.Millisecond}, clk.Now, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = w.Close() })
	return brain, l, w, applied
}

// panicController panics on its second Update.
type panicController struct{ n int }

func (c *panicController) Update(dst *Pattern, est *decode.Estimate) bool {
	c.n++
	if c.n == 2 {
		var m map[string]int
		m["boom"]++ // a real runtime panic: assignment to a nil map
	}
	dst.Seq++
	dst.Sample = est.Sample
	dst.Pulses = append(dst.Pulses[:0], Pulse{Electrode: 3, AmplitudeUA: 50, PhaseUS: 200, GapUS: 50, Count: 10, FreqHz: 100})
	return true
}

func (c *panicController) Reset() {}

// TestOutputsOff queues a train 100 frames ahead in a synthetic brain and
// then turns the outputs off in each way; the brain must apply nothing.
// The "none" case shows that the train is applied otherwise.
func TestOutputsOff(t *testing.T) {
	tests := []struct {
		name string
		off  func(t *testing.T, clk *atomicClock, w *Watchdog, safe *SafeController)
	}{
		{"none", func(*testing.T, *atomicClock, *Watchdog, *SafeController) {}},
		{"watchdog timer", func(t *testing.T, clk *atomicClock, w *Watchdog, _ *SafeController) {
			clk.t.Add(int64(101 * time.Millisecond))
			deadline := time.Now().Add(2 * time.Second)
			for w.Stats().Trips == 0 && time.Now().Before(deadline) {
				time.Sleep(time.Millisecond)
			}
		}},
		{"watchdog on stimulate", func(t *testing.T, clk *atomicClock, w *Watchdog, _ *SafeController) {
			clk.t.Add(int64(101 * time.Millisecond))
			if err := w.Stimulate(context.Background(), &Pattern{Pulses: []Pulse{{AmplitudeUA: 10, PhaseUS: 100, Count: 1}}}); !errors.Is(err, ErrRefused) {
				t.Errorf("stale stimulate: %v", err)
			}
		}},
		{"controller panic", func(t *testing.T, _ *atomicClock, _ *Watchdog, safe *SafeController) {
			var pat Pattern
			if safe.Update(&pat, &decode.Estimate{Sample: 5}) || !safe.Disabled() || safe.Panics() != 1 {
				t.Errorf("panic not handled: disabled %v", safe.Disabled())
			}
			if safe.Update(&pat, &decode.Estimate{Sample: 6}) {
				t.Error("disabled controller fired")
			}
			safe.Reset()
		}},
		{"close", func(t *testing.T, _ *atomicClock, w *Watchdog, _ *SafeController) {
			if err := w.Close(); err != nil {
				t.Error(err)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clk := &atomicClock{}
			clk.t.Store(int64(time.Second))
			brain, l, w, applied := brainChain(t, clk)
			safe, err := NewSafeController(&panicController{}, w, zerolog.Nop())
			if err != nil {
				t.Fatal(err)
			}
			w.Feed(clk.Now())
			var pat Pattern
			if !safe.Update(&pat, &decode.Estimate{Sample: brain.Sample() + 100}) {
				t.Fatal("controller did not fire")
			}
			if err := w.Stimulate(context.Background(), &pat); err != nil {
				t.Fatal(err)
			}
			tc.off(t, clk, w, safe)
			brain.Advance(300, nil, nil)
			want := int64(0)
			if tc.name == "none" {
				want = 1
			}
			if got := applied.Load(); got != want {
				t.Errorf("brain applied %d trains, want %d", got, want)
			}
			if st := l.Stats(); st.Passed != 1 {
				t.Errorf("limit stats %+v", st)
			}
		})
	}
}

func TestWatchdogAllocs(t *testing.T) {
	clk := &atomicClock{}
	w, err := NewWatchdog(&countSink{}, DefaultWatchdogConfig(), clk.Now, zerolog.New(io.Discard))
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	pat := &Pattern{Pulses: []Pulse{{AmplitudeUA: 10, PhaseUS: 100, Count: 1}}}
	i := 0
	step := func() {
		i++
		clk.t.Add(int64(time.Millisecond))
		if i%300 < 100 { // fed for 100 ms, then not for 200 ms: stale for the last 100
			w.Feed(clk.Now())
		}
		_ = w.Stimulate(context.Background(), pat)
	}
	if n := testing.AllocsPerRun(3000, step); n != 0 {
		t.Errorf("%v allocs per Stimulate", n)
	}
	if st := w.Stats(); st.Trips == 0 || st.Resumes == 0 || st.Passed == 0 {
		t.Errorf("stats %+v", st)
	}
}

// TestWatchdogConcurrent feeds, stimulates, trips and closes from several
// goroutines (for the race detector).
func TestWatchdogConcurrent(t *testing.T) {
	clk := &atomicClock{}
	sink := &stopRecordSink{recordSink: recordSink{clock: clk.Now}}
	w, err := NewWatchdog(sink, WatchdogConfig{Stale: 4 * time.Millisecond}, clk.Now, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		for range 2000 {
			w.Feed(clk.t.Add(int64(10 * time.Microsecond)))
		}
	})
	wg.Go(func() {
		pat := &Pattern{Pulses: []Pulse{{AmplitudeUA: 10, PhaseUS: 100, Count: 1}}}
		for range 2000 {
			_ = w.Stimulate(context.Background(), pat)
		}
	})
	wg.Go(func() {
		for range 100 {
			_ = w.Stats()
			_ = w.StopStimulation()
		}
	})
	wg.Wait()
	_ = w.Close()
	if st := w.Stats(); st.Pulses != 2000 || st.Pulses != st.Passed+st.Refused {
		t.Errorf("stats %+v", st)
	}
}

// TestWatchdogTimerArmsAtFirstFeed: before the first block the timer does
// not trip (nothing can have been delivered: Stimulate refuses, see
// TestWatchdogStale), and once blocks have come and stopped it does.
func TestWatchdogTimerArmsAtFirstFeed(t *testing.T) {
	sink := &stopRecordSink{}
	w, err := NewWatchdog(sink, WatchdogConfig{Stale: 5 * time.Millisecond}, nil, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	time.Sleep(50 * time.Millisecond) // ten staleness periods without a block
	if st := w.Stats(); st.Trips != 0 || sink.stopCount() != 0 {
		t.Fatalf("tripped before the first block: %+v, stops %d", st, sink.stopCount())
	}
	w.Feed(acquire.Now())
	deadline := time.Now().Add(2 * time.Second)
	for w.Stats().Trips == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if st := w.Stats(); st.Trips != 1 || sink.stopCount() != 1 {
		t.Fatalf("after the blocks stopped: %+v, stops %d", st, sink.stopCount())
	}
}
