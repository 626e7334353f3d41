package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bciloop/bciloop/acquire"
)

// readRecording returns the chunks of a recording (copied) and the error
// that ended the reading (io.EOF for a clean end).
func readRecording(t *testing.T, path string) (meta []byte, blocks []acquire.Block, err error) {
	t.Helper()
	rr, err := acquire.OpenRecording(path)
	if err != nil {
		t.Fatal(err)
	}
	defer rr.Close()
	var c acquire.Chunk
	for {
		if err := rr.Next(&c); err != nil {
			return meta, blocks, err
		}
		switch c.Type {
		case acquire.ChunkMeta:
			meta = append([]byte(nil), c.Payload...)
		case acquire.ChunkBlock:
			var b acquire.Block
			c.Block.CopyTo(&b)
			blocks = append(blocks, b)
		}
	}
}

func TestRecordLockstep(t *testing.T) {
	out := filepath.Join(t.TempDir(), "r.bcr")
	code, stdout, stderr := run(t, "record", "../../configs/sim-cursor.yaml", "--out", out, "--duration", "500ms", "--lockstep")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	var sum recordSummary
	if err := json.Unmarshal([]byte(stdout), &sum); err != nil {
		t.Fatalf("summary %q: %v", stdout, err)
	}
	// 500 ms of 1-ms blocks (the config's source.block) at 1 kHz.
	if sum.Blocks != 500 || sum.Frames != 500 || sum.StreamS != 0.5 || sum.Out != out || sum.Spikes == 0 || sum.Error != "" {
		t.Fatalf("summary %+v", sum)
	}
	st, _ := os.Stat(out)
	if sum.Bytes != st.Size() {
		t.Fatalf("summary says %d bytes, the file has %d", sum.Bytes, st.Size())
	}
	meta, blocks, err := readRecording(t, out)
	if err != io.EOF {
		t.Fatalf("recording ends with %v, want a clean end", err)
	}
	var m map[string]any
	if err := json.Unmarshal(meta, &m); err != nil || m["source"] != "sim" || m["lockstep"] != true || !strings.Contains(m["config"].(string), "rig: demo") {
		t.Fatalf("meta %s: %v", meta, err)
	}
	spikes := 0
	for i, b := range blocks {
		if b.Seq != uint64(i) || b.Start != int64(i) || b.Frames != 1 || b.Channels != 96 || b.TruthDims != 4 || len(b.Truth) != 4 {
			t.Fatalf("block %d: %+v", i, b)
		}
		spikes += len(b.Spikes)
	}
	if len(blocks) != 500 || uint64(spikes) != sum.Spikes {
		t.Fatalf("%d blocks, %d spikes in the file; summary %+v", len(blocks), spikes, sum)
	}

	// The same config and seed in lockstep records the same blocks.
	out2 := filepath.Join(t.TempDir(), "r2.bcr")
	if code, _, stderr := run(t, "record", "../../configs/sim-cursor.yaml", "--out", out2, "--duration", "500ms", "--lockstep"); code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	_, again, _ := readRecording(t, out2)
	for i := range blocks {
		a, b := blocks[i], again[i]
		if a.Start != b.Start || len(a.Spikes) != len(b.Spikes) || a.Truth[0] != b.Truth[0] {
			t.Fatalf("block %d differs between two lockstep recordings of one seed", i)
		}
	}
}

func TestRecordUsage(t *testing.T) {
	out := filepath.Join(t.TempDir(), "x.bcr")
	cases := []struct {
		name string
		args []string
		want []string
	}{
		{"nothing", []string{"record"}, []string{"exactly one CONFIG", "--out: "}},
		{"every problem at once", []string{"record", "--duration", "-1s", "--sync-interval", "0s", "a.yaml"}, []string{"--out: ", "--duration: ", "--sync-interval: sync_interval: "}},
		{"bad flag", []string{"record", "--bogus"}, []string{"bogus"}},
		{"missing config", []string{"record", "none.yaml", "--out", out}, []string{"none.yaml"}},
		{"bad config", []string{"record", writeConfig(t, "source: {type: sim, untis: 3}\n"), "--out", out}, []string{"unknown key"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, _, stderr := run(t, c.args...)
			if code != 2 {
				t.Fatalf("exit %d, want 2\n%s", code, stderr)
			}
			for _, w := range c.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr)
				}
			}
		})
	}
	if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a failed record created %s", out)
	}
}

func TestRecordNeverOverwrites(t *testing.T) {
	out := filepath.Join(t.TempDir(), "keep.bcr")
	os.WriteFile(out, []byte("precious"), 0o644)
	code, _, stderr := run(t, "record", "../../configs/sim-cursor.yaml", "--out", out, "--duration", "10ms", "--lockstep")
	if code != 1 || !strings.Contains(stderr, "exists") {
		t.Fatalf("exit %d, stderr %q; want 1 and the file named as existing", code, stderr)
	}
	if b, _ := os.ReadFile(out); string(b) != "precious" {
		t.Fatalf("the existing file was changed to %q", b)
	}
}

// TestRecordInterrupt interrupts a real-time recording: it exits 0 and the
// file ends cleanly with every block read.
func TestRecordInterrupt(t *testing.T) {
	out := filepath.Join(t.TempDir(), "i.bcr")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c := child(ctx, "record", "../../configs/sim-cursor.yaml", "--out", out)
	var stdout bytes.Buffer
	c.Stdout = &stdout
	stderr, err := c.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	sc := bufio.NewScanner(io.TeeReader(stderr, &logs))
	for sc.Scan() {
		if strings.Contains(sc.Text(), "recording") {
			break
		}
	}
	time.Sleep(300 * time.Millisecond)
	if err := c.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(&logs, stderr)
	if err := c.Wait(); err != nil {
		t.Fatalf("exit after SIGINT: %v\n%s", err, logs.String())
	}
	var sum recordSummary
	if err := json.Unmarshal(stdout.Bytes(), &sum); err != nil {
		t.Fatalf("summary %q: %v", stdout.String(), err)
	}
	_, blocks, err := readRecording(t, out)
	if err != io.EOF || uint64(len(blocks)) != sum.Blocks || len(blocks) < 100 {
		t.Fatalf("%d blocks, end %v; summary %+v (300 ms of 1-ms blocks should give ≥ 100)", len(blocks), err, sum)
	}
	if sum.WallS < 0.2 || sum.StreamS > sum.WallS+0.05 {
		t.Fatalf("real time: %v s of stream in %v s of wall time", sum.StreamS, sum.WallS)
	}
}
