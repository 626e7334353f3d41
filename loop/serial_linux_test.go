package loop

import (
	"context"
	"testing"
	"time"

	"github.com/bciloop/bciloop/acquire"
	"github.com/bciloop/bciloop/acquire/serialtest"
)

// TestSerialBoardThroughLoop runs a fake OpenBCI Cyton on a pseudo-terminal
// (serialtest: the real byte protocol at the real rate, opened through
// go.bug.st/serial) as the loop's source in real time, through the queue
// path, with a stage: every block arrives in order.
func TestSerialBoardThroughLoop(t *testing.T) {
	d, err := serialtest.NewDevice(&serialtest.CytonBoard{Seed: 3}, serialtest.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	srv, err := StartEmbedded("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	cfg := testConfig(t, 2*time.Second)
	cfg.Run.Lockstep = false
	cfg.NATS.URL = srv.URL()
	cfg.Source.Type = "serial"
	cfg.Source.Serial.Port, cfg.Source.Serial.Protocol, cfg.Source.Serial.BlockFrames = d.Path, acquire.ProtocolCyton, 5
	cfg.Source.Serial.HandshakeTimeout = 2 * time.Second
	cfg.Decoder.Type = "none"
	cfg.Bin.Width = 100 * time.Millisecond
	cfg.Stages = []StageConfig{{Type: "notch", FreqHz: 50, Q: 30}, {Type: "car"}}
	l, err := Build(cfg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	if l.channels != 8 || l.rate != 250 {
		t.Fatalf("shape %d channels at %g Hz, want the Cyton's 8 at 250", l.channels, l.rate)
	}
	sum, err := l.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// 2 s at 250 Hz in blocks of 5 frames.
	if sum.Blocks != 100 || sum.SeqGaps != 0 || sum.Bins != 20 {
		t.Fatalf("blocks %d gaps %d bins %d; want 100, 0, 20", sum.Blocks, sum.SeqGaps, sum.Bins)
	}
}
