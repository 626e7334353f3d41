package loop

import (
	"context"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/bciloop/bciloop/acquire"
)

// stallStage sleeps for d while processing block seq (a stage taking far
// longer than its budget once).
type stallStage struct {
	seq uint64
	d   time.Duration
}

func (s stallStage) apply(b *acquire.Block) error {
	if b.Seq == s.seq {
		time.Sleep(s.d)
	}
	return nil
}

// TestDeadlineStall injects one stall of about 40 block durations into a
// stage of a real-time run and checks that the drops and deadline misses
// reported are exactly those it caused. With blocks of B = 20 ms, a queue
// of 16 (blocks later than 16·B = 320 ms are dropped) and a deadline of
// 5·B = 100 ms: the stalled block k ends F ≈ 810 ms after it was due (a
// miss); block k+j is then generated about F − j·B late, so it is dropped
// when F − j·B > 320 ms, processed late — a miss — when 100 ms < F − j·B
// ≤ 320 ms, and in time after. F is the slowest block of the report
// (sleeps overshoot on a loaded machine); a run whose F falls within 3 ms
// of a boundary is repeated, so the counts are exact: for F = 810 ms, 24
// drops and 1 + 11 misses.
func TestDeadlineStall(t *testing.T) {
	srv, err := StartEmbedded("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	const (
		B       = 20 * time.Millisecond
		stallAt = 10
		queue   = 16
		dl      = 5 * B
	)
	for attempt := 1; ; attempt++ {
		cfg := testConfig(t, 0)
		cfg.Run.Lockstep = false
		cfg.NATS.URL = srv.URL()
		cfg.Source.Units = 16
		cfg.Source.Block = B
		cfg.Decoder.Type = "none"
		cfg.Publish = PublishConfig{}
		cfg.Run.Queue = queue
		cfg.Run.Deadline = dl
		cfg.Run.Duration = (stallAt + 60) * B
		l, err := Build(cfg, testLogger(t))
		if err != nil {
			t.Fatal(err)
		}
		l.stages = append(l.stages, stallStage{seq: stallAt, d: 810 * time.Millisecond})
		s, err := l.Run(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if !s.Warm || s.GCCycles == nil {
			t.Fatalf("warm %v, gc cycles %v: the warm-up never ended", s.Warm, s.GCCycles)
		}
		F := time.Duration(s.Stages[StageBlock].Max * 1e3)
		if F < 810*time.Millisecond || F > 2*time.Second {
			t.Fatalf("slowest block %v after it was due, want ≥ 810 ms", F)
		}
		if r := F % B; (r < 3*time.Millisecond || r > B-3*time.Millisecond) && attempt < 4 {
			t.Logf("attempt %d: F = %v is within 3 ms of a block boundary; again", attempt, F)
			continue
		}
		var drops, misses uint64 = 0, 1 // the stalled block itself
		for j := 1; j < 60; j++ {
			late := F - time.Duration(j)*B
			switch {
			case late > queue*B:
				drops++
			case late > dl:
				misses++
			}
		}
		if s.DroppedAfterWarmup != drops || s.Dropped != drops {
			t.Errorf("F = %v: dropped %d (after warm-up %d), want %d", F, s.Dropped, s.DroppedAfterWarmup, drops)
		}
		if s.DeadlineMisses != misses {
			t.Errorf("F = %v: deadline misses %d, want %d", F, s.DeadlineMisses, misses)
		}
		if got, want := s.Blocks+s.Dropped, uint64(stallAt+60); got != want {
			t.Errorf("%d blocks processed + %d dropped, want %d", s.Blocks, s.Dropped, want)
		}
		t.Logf("F = %v: %d drops, %d misses", F, drops, misses)
		return
	}
}

// TestWarmupLockstep checks where the warm-up ends and what is counted after it.
func TestWarmupLockstep(t *testing.T) {
	srv, err := StartEmbedded("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	cfg := testConfig(t, 8*time.Second)
	cfg.NATS.URL = srv.URL()
	cfg.Decoder.Calibration = 3 * time.Second
	cfg.Run.Warmup = time.Second
	cfg.Run.Deadline = time.Hour
	l, err := Build(cfg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	s, err := l.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// Warm-up ends 1 s after the decoder is fitted at 3 s: the publish
	// histogram holds the commands of the last 4 s only (200 of 20 ms).
	if !s.Warm || s.WarmupS != 4 {
		t.Fatalf("warm %v at %g s, want at 4 s", s.Warm, s.WarmupS)
	}
	if n := s.Stages[StagePublish].Count; n != 200 {
		t.Errorf("%d commands in the publish histogram after warm-up, want 200", n)
	}
	if n := s.Stages[StageBlock].Count; n != 4000 {
		t.Errorf("%d blocks checked after warm-up, want 4000 (those ending after 4 s)", n)
	}
	if s.DeadlineMisses != 0 || s.DroppedAfterWarmup != 0 {
		t.Errorf("misses %d, drops %d in lockstep with a 1 h deadline", s.DeadlineMisses, s.DroppedAfterWarmup)
	}
}

func TestGCConfig(t *testing.T) {
	for _, c := range []struct {
		gc   GCConfig
		want string
	}{
		{GCConfig{}, ""},
		{GCConfig{Percent: 400}, ""},
		{GCConfig{Percent: -1, MemoryLimitMB: 512}, ""},
		{GCConfig{Percent: -1}, "memory_limit_mb: required"},
		{GCConfig{Percent: -2, MemoryLimitMB: -1}, "percent: must be"},
	} {
		err := c.gc.Validate()
		if (c.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%+v: %v, want %q", c.gc, err, c.want)
		}
	}
}

// TestGCOff runs with the collector off: no cycle after warm-up even while
// the test allocates 64 MB beside the loop, and the runtime's settings
// restored afterwards.
func TestGCOff(t *testing.T) {
	srv, err := StartEmbedded("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	cfg := testConfig(t, 4*time.Second)
	cfg.Run.Lockstep = false
	cfg.NATS.URL = srv.URL()
	cfg.Decoder.Calibration = 3 * time.Second
	cfg.Run.GC = GCConfig{Percent: -1, MemoryLimitMB: 1024}
	l, err := Build(cfg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	var sink [][]byte
	go func() { // garbage beside the loop, once it is warm
		defer close(done)
		for l.WarmedAt() == 0 {
			select {
			case <-stop:
				return
			default:
				time.Sleep(time.Millisecond)
			}
		}
		for range 64 {
			sink = append(sink, make([]byte, 1<<20))
			sink = sink[:0]
		}
	}()
	s, err := l.Run(context.Background())
	close(stop)
	<-done
	if err != nil {
		t.Fatal(err)
	}
	if s.GCCycles == nil || *s.GCCycles != 0 {
		t.Errorf("GC cycles after warm-up %v with the collector off", s.GCCycles)
	}
	if old := debug.SetGCPercent(100); old != 100 {
		t.Errorf("GOGC after the run %d, want the runtime's 100 restored", old)
	}
}
