package loop

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/bciloop/bciloop/acquire"
	"github.com/bciloop/bciloop/sim"
)

// TestNATSStreamThroughLoop: a remote rig publishes its spikes stream at
// 1 kHz; the loop reads it as its source (source.type nats), bins and
// republishes it, losing nothing silently.
func TestNATSStreamThroughLoop(t *testing.T) {
	srv, err := StartEmbedded("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	pub, err := nats.Connect(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // the remote rig: a synthetic brain in real time
		defer wg.Done()
		brain, _ := sim.NewMotorCortex(sim.DefaultMotorCortexConfig())
		src, _ := acquire.NewSimSource(brain, acquire.SimSourceConfig{BlockFrames: 1, Realtime: true})
		var b acquire.Block
		var buf []byte
		for src.Read(ctx, &b) == nil {
			buf = acquire.AppendSpikesMessage(buf[:0], &b)
			_ = pub.Publish("bciloop.remote.spikes", buf)
		}
	}()
	cfg := testConfig(t, 0)
	cfg.Run.Lockstep = false
	cfg.Run.Duration = 0
	cfg.NATS.URL = srv.URL()
	cfg.Source.Type = "nats"
	cfg.Source.NATS.Subject = "bciloop.remote.spikes"
	cfg.Decoder.Type = "none"
	l, err := Build(cfg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	if l.channels != 96 || l.rate != 1000 {
		t.Fatalf("shape %d channels at %g Hz from the stream, want 96 at 1000", l.channels, l.rate)
	}
	runCtx, stop := context.WithTimeout(ctx, 1500*time.Millisecond)
	defer stop()
	sum, err := l.Run(runCtx)
	cancel()
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	// Nothing is lost on the way (lost_frames 0); on a loaded machine the
	// real-time queue may drop the oldest block, and then says so: every
	// sequence gap is a counted drop.
	if sum.Blocks < 1000 || sum.SeqGaps != sum.Dropped || sum.LostFrames != 0 || sum.Events == 0 {
		t.Fatalf("blocks %d gaps %d dropped %d lost frames %d events %d; want ≥ 1000 blocks, gaps = drops, nothing lost upstream",
			sum.Blocks, sum.SeqGaps, sum.Dropped, sum.LostFrames, sum.Events)
	}
}
