package loop

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/bciloop/bciloop/acquire"
)

// TestRecordFromRun: with run.record.path set, a closed-loop run records
// every block, every command (byte for byte as published) and every
// stimulation pattern with its outcome, and the file reads back cleanly.
func TestRecordFromRun(t *testing.T) {
	path := filepath.Join(t.TempDir(), "run.bcl")
	cfg := testConfig(t, 20*time.Second)
	cfg.Run.Record.Path = path
	cfg.Stimulate.Controller = "threshold"
	cfg.Stimulate.Threshold.Threshold = 8
	sum, cmds := runCollected(t, cfg)
	if sum.RecordErrors != 0 || sum.StimPatterns == 0 {
		t.Fatalf("record errors %d, stim patterns %d", sum.RecordErrors, sum.StimPatterns)
	}
	rr, err := acquire.OpenRecording(path)
	if err != nil {
		t.Fatal(err)
	}
	defer rr.Close()
	var c acquire.Chunk
	counts := map[acquire.ChunkType]int{}
	var meta map[string]any
	cmdIdx := 0
	for {
		err := rr.Next(&c)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("chunk %d: %v", counts[acquire.ChunkBlock], err)
		}
		counts[c.Type]++
		switch c.Type {
		case acquire.ChunkMeta:
			if err := json.Unmarshal(c.Payload, &meta); err != nil {
				t.Fatalf("meta: %v", err)
			}
		case acquire.ChunkBlock:
			if want := uint64(counts[acquire.ChunkBlock] - 1); c.Block.Seq != want {
				t.Fatalf("block %d has seq %d", want, c.Block.Seq)
			}
		case acquire.ChunkCommand:
			var got Command
			if err := json.Unmarshal(c.Payload, &got); err != nil || got.Seq != cmds[cmdIdx].Seq || got.Sample != cmds[cmdIdx].Sample {
				t.Fatalf("recorded command %d: %s (%v), published %+v", cmdIdx, c.Payload, err, cmds[cmdIdx])
			}
			cmdIdx++
		case acquire.ChunkStim:
			if c.Stim.Outcome != acquire.StimDelivered || len(c.Stim.Pulses) != 1 || c.Stim.Pulses[0].Electrode != int32(cfg.Stimulate.Threshold.Electrode) {
				t.Fatalf("stim event %+v", c.Stim)
			}
		}
	}
	if counts[acquire.ChunkBlock] != 20000 || uint64(counts[acquire.ChunkCommand]) != sum.Commands || uint64(counts[acquire.ChunkStim]) != sum.StimPatterns || counts[acquire.ChunkMeta] != 1 {
		t.Fatalf("chunks %v; want 20000 blocks, %d commands, %d stim", counts, sum.Commands, sum.StimPatterns)
	}
	if meta["decoder"] != "kalman" || meta["rig"] != "test" {
		t.Fatalf("meta %v", meta)
	}
	// A second run may not overwrite the recording.
	if _, err := ParseConfig("c", []byte("run: {record: {path: "+path+"}}")); err == nil {
		t.Fatal("config naming an existing recording accepted")
	}
}

// TestNATSStimSink: with sink nats, the patterns that pass the Limit are
// published as JSON on bciloop.<rig>.stim for an external stimulator.
func TestNATSStimSink(t *testing.T) {
	srv, err := StartEmbedded("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	nc, err := nats.Connect(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	sub, err := nc.SubscribeSync("bciloop.test.stim")
	if err != nil {
		t.Fatal(err)
	}
	_ = nc.Flush()
	cfg := testConfig(t, 20*time.Second)
	cfg.NATS.URL = srv.URL()
	cfg.Stimulate.Controller, cfg.Stimulate.Sink = "threshold", "nats"
	cfg.Stimulate.Threshold.Threshold = 8
	l, err := Build(cfg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	sum, err := l.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if sum.StimPatterns == 0 || sum.StimRefused != 0 {
		t.Fatalf("patterns %d refused %d", sum.StimPatterns, sum.StimRefused)
	}
	for i := uint64(0); i < sum.StimPatterns; i++ {
		m, err := sub.NextMsg(2 * time.Second)
		if err != nil {
			t.Fatalf("pattern %d of %d not received: %v", i+1, sum.StimPatterns, err)
		}
		var p struct {
			V      int `json:"v"`
			Pulses []struct {
				Electrode   int     `json:"electrode"`
				AmplitudeUA float64 `json:"amplitude_ua"`
			} `json:"pulses"`
		}
		if err := json.Unmarshal(m.Data, &p); err != nil || p.V != 1 || len(p.Pulses) != 1 || p.Pulses[0].Electrode != cfg.Stimulate.Threshold.Electrode {
			t.Fatalf("pattern %s: %v", m.Data, err)
		}
	}
}
