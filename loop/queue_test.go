package loop

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bciloop/bciloop/acquire"
)

// countingSource is a finite Source of numbered empty blocks (a real Source:
// it honours the Read contract; it stands for a device whose reads return at
// once).
type countingSource struct {
	n   atomic.Uint64
	max uint64
}

func (s *countingSource) Read(ctx context.Context, b *acquire.Block) error {
	n := s.n.Load()
	if n == s.max {
		<-ctx.Done()
		return ctx.Err()
	}
	b.Reset()
	b.Seq, b.Start, b.Frames, b.Rate, b.Channels, b.Arrived = n, int64(n), 1, 1000, 1, acquire.Now()
	s.n.Store(n + 1)
	return nil
}

func (s *countingSource) Close() error { return nil }

// TestBlockQueueDropsOldest: with nobody consuming, the queue keeps the
// newest blocks, drops the oldest, and counts every drop.
func TestBlockQueueDropsOldest(t *testing.T) {
	q := newBlockQueue(4)
	src := &countingSource{max: 10}
	var dropped atomic.Uint64
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- q.fill(ctx, src, &dropped) }()
	deadline := time.Now().Add(5 * time.Second)
	for src.n.Load() < 10 || len(q.full) < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("source read %d blocks, queue holds %d", src.n.Load(), len(q.full))
		}
		time.Sleep(time.Millisecond)
	}
	cancel()
	<-done
	// 10 blocks through a pool of 4: the reader holds none at the end, so
	// the queue holds the 4 newest … or 3 when one was in the reader's hand
	// when the source ran dry; every other block was dropped.
	var got []uint64
	for len(q.full) > 0 {
		got = append(got, (<-q.full).Seq)
	}
	if uint64(len(got))+dropped.Load() != 10 {
		t.Fatalf("kept %v and dropped %d: %d blocks unaccounted for", got, dropped.Load(), 10-uint64(len(got))-dropped.Load())
	}
	for i, s := range got {
		if want := uint64(10 - len(got) + i); s != want {
			t.Fatalf("kept %v, want the newest blocks in order", got)
		}
	}
}

// unpaced hides the SimSource's pacing so that the loop reads it through
// the block queue, as it reads a serial board.
type unpaced struct{ acquire.Source }

// TestRealtimeThroughQueue runs a real-time synthetic brain through the
// goroutine + queue path: every block arrives, in order, none dropped on an
// idle pipeline.
func TestRealtimeThroughQueue(t *testing.T) {
	srv, err := StartEmbedded("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	cfg := testConfig(t, 300*time.Millisecond)
	cfg.Run.Lockstep = false
	cfg.NATS.URL = srv.URL()
	l, err := Build(cfg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	l.src = unpaced{l.src}
	sum, err := l.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if sum.Blocks+sum.Dropped != 300 || sum.SeqGaps != sum.Dropped {
		t.Fatalf("blocks %d + dropped %d ≠ 300, or gaps %d ≠ dropped", sum.Blocks, sum.Dropped, sum.SeqGaps)
	}
	if sum.WallSeconds < 0.29 {
		t.Fatalf("300 real-time blocks of 1 ms took %.3f s: not paced", sum.WallSeconds)
	}
}
