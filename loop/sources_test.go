package loop

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/bciloop/bciloop/acquire"
	"github.com/bciloop/bciloop/decode"
)

// TestReplayRecordingThroughLoop: a run records itself; replaying the
// recording through the same config (its truth names come from the
// recording's metadata) decodes the same commands, bit for bit.
func TestReplayRecordingThroughLoop(t *testing.T) {
	path := filepath.Join(t.TempDir(), "run.bcl")
	cfg := testConfig(t, 10*time.Second)
	cfg.Run.Record.Path = path
	_, live := runCollected(t, cfg)

	cfg.Run.Record.Path = ""
	cfg.Source.Type, cfg.Source.Path = "replay", path
	sum, replayed := runCollected(t, cfg)
	if len(live) != 250 || len(replayed) != len(live) || sum.Blocks != 10000 {
		t.Fatalf("live %d commands, replayed %d (blocks %d); want 250 each and 10000 blocks", len(live), len(replayed), sum.Blocks)
	}
	for i := range live {
		if live[i].Sample != replayed[i].Sample {
			t.Fatalf("command %d: sample %d live, %d replayed", i, live[i].Sample, replayed[i].Sample)
		}
		for k, v := range live[i].State {
			if replayed[i].State[k] != v {
				t.Fatalf("command %d %s: %v live, %v replayed", i, k, v, replayed[i].State[k])
			}
		}
	}
	if sum.R2Vel == nil {
		t.Fatal("no R² on replay: truth names not recovered from the recording")
	}
}

// TestEDFThroughStages streams the PhysioNet EEG recording (64 channels,
// 160 Hz) through band-pass, common average reference and threshold
// crossing stages with no decoder: every block arrives, crossings are
// found and binned.
func TestEDFThroughStages(t *testing.T) {
	edf := filepath.Join("..", "..", "shared", "data", "eegmmidb", "S001R04.edf")
	if _, err := os.Stat(edf); err != nil {
		t.Skipf("shared EEG recording not available (%v); it lives in ../shared/data beside the repository", err)
	}
	cfg := testConfig(t, 0)
	cfg.Source.Type, cfg.Source.Path = "replay", edf
	cfg.Source.Replay.BlockFrames = 16
	cfg.Decoder.Type = "none"
	cfg.Bin.Width = 250 * time.Millisecond
	th := StageConfig{Type: "threshold"}
	th.ThresholdConfig = decode.DefaultThresholdConfig()
	cfg.Stages = []StageConfig{{Type: "bandpass", Order: 4, LowHz: 1, HighHz: 40}, {Type: "car"}, th}
	srv, err := StartEmbedded("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	cfg.NATS.URL = srv.URL()
	l, err := Build(cfg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	if l.channels != 64 || l.rate != 160 {
		t.Fatalf("shape %d channels at %g Hz, want 64 at 160 (Schalk et al. 2004 montage)", l.channels, l.rate)
	}
	var spikes int
	l.src = countSpikes{l.src, &spikes}
	sum, err := l.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// 125 records of 1 s at 160 Hz in blocks of 16 frames.
	if sum.Blocks != 1250 || sum.Dropped != 0 || sum.Bins != 500 || sum.Commands != 0 {
		t.Fatalf("blocks %d dropped %d bins %d commands %d; want 1250, 0, 500, 0", sum.Blocks, sum.Dropped, sum.Bins, sum.Commands)
	}
	if spikes != 0 {
		t.Fatalf("the source itself produced %d spikes; EEG has none", spikes)
	}
	if sum.Events == 0 {
		t.Fatal("no threshold crossings in 125 s of EEG (blinks alone cross −4.5σ)")
	}
	t.Logf("%d threshold crossings in %d blocks", sum.Events, sum.Blocks)
}

// countSpikes counts the spikes the source delivers, before the stages.
type countSpikes struct {
	acquire.Source
	n *int
}

func (c countSpikes) Read(ctx context.Context, b *acquire.Block) error {
	err := c.Source.Read(ctx, b)
	*c.n += len(b.Spikes)
	return err
}
