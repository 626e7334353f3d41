package loop

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/bciloop/bciloop/acquire"
)

// sessionTestConfig is a lockstep run of d with a 5 s calibration, recorded
// as session name.
func sessionTestConfig(t testing.TB, d time.Duration, name string) Config {
	cfg := testConfig(t, d)
	cfg.Decoder.Calibration = 5 * time.Second
	cfg.Session.Name = name
	return cfg
}

// replayStored replays session name, recorded by a finished run into the
// store dir, through an embedded server started on that store.
func replayStored(t *testing.T, dir, name string, opt ReplayOptions) *ReplayReport {
	t.Helper()
	srv, err := StartEmbeddedStore("127.0.0.1:0", dir)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	nc, err := nats.Connect(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	rep, err := ReplaySession(context.Background(), nc, name, opt)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// readSessionAll reads session name from the server at url and returns its
// chunks by type, the raw messages in order, and the damage reported.
func readSessionAll(t *testing.T, url, name string) (map[acquire.ChunkType]int, [][]byte, []SessionDamage, uint64) {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	counts := map[acquire.ChunkType]int{}
	var raws [][]byte
	var damage []SessionDamage
	nextBlock, nextCmd := uint64(0), uint64(1)
	last, err := ReadSession(context.Background(), nc, name, func(seq uint64, raw []byte, c *acquire.Chunk) error {
		if seq != uint64(len(raws))+1 {
			return fmt.Errorf("message %d visited after %d", seq, len(raws))
		}
		raws = append(raws, bytes.Clone(raw))
		counts[c.Type]++
		switch c.Type {
		case acquire.ChunkBlock:
			// Increasing; real-time runs may drop blocks (counted).
			if c.Block.Seq < nextBlock {
				return fmt.Errorf("message %d: block seq %d after %d", seq, c.Block.Seq, nextBlock-1)
			}
			nextBlock = c.Block.Seq + 1
		case acquire.ChunkCommand:
			want := fmt.Sprintf(`"seq":%d,`, nextCmd)
			if !strings.Contains(string(c.Payload), want) {
				return fmt.Errorf("message %d: command %s, want %s", seq, c.Payload, want)
			}
			nextCmd++
		}
		return nil
	}, func(d SessionDamage) { damage = append(damage, d) })
	if err != nil {
		t.Fatal(err)
	}
	return counts, raws, damage, last
}

// TestSessionRecordAndReplay records a run with the embedded server's
// JetStream (nats.store_dir), reads the session back from a server started
// again on the same folder, and replays it: through the recorded decoder
// every command comes out byte for byte as recorded; through another
// decoder the replay runs and reports; the export is a recording file
// with every block, command and stimulation pattern.
func TestSessionRecordAndReplay(t *testing.T) {
	dir := t.TempDir()
	cfg := sessionTestConfig(t, 8*time.Second, "rr")
	cfg.NATS.StoreDir = dir
	cfg.Stimulate.Controller = "threshold"
	cfg.Stimulate.Threshold.Threshold = 8
	l, err := Build(cfg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	sum, err := l.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ss := sum.Session
	if ss == nil || ss.Messages == 0 || ss.Acked != ss.Messages || ss.Unconfirmed != 0 || ss.Rejected != 0 || ss.Error != "" {
		t.Fatalf("session summary %+v", ss)
	}
	if sum.Commands == 0 {
		t.Fatal("no commands")
	}
	t.Logf("run R² %v", ptrVal(sum.R2Vel))

	srv, err := StartEmbeddedStore("127.0.0.1:0", dir)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	// A second server on the same store would corrupt it: refused.
	if srv2, err := StartEmbeddedStore("127.0.0.1:0", dir); err == nil || !strings.Contains(err.Error(), "in use by another server") {
		if srv2 != nil {
			srv2.Shutdown()
		}
		t.Fatalf("second server on one store: %v", err)
	}
	counts, _, damage, last := readSessionAll(t, srv.URL(), "rr")
	if len(damage) != 0 || last != ss.Messages {
		t.Fatalf("damage %v, last sequence %d, %d messages appended", damage, last, ss.Messages)
	}
	if counts[acquire.ChunkBlock] != 8000 || uint64(counts[acquire.ChunkCommand]) != sum.Commands || counts[acquire.ChunkMeta] != 1 ||
		uint64(counts[acquire.ChunkBins]) != sum.Bins || counts[acquire.ChunkParams] != 1 ||
		sum.StimPatterns == 0 || uint64(counts[acquire.ChunkStim]) != sum.StimPatterns {
		t.Fatalf("chunks %v; want 8000 blocks, %d commands, %d bins, 1 params, %d stim", counts, sum.Commands, sum.Bins, sum.StimPatterns)
	}

	nc, err := nats.Connect(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	out := filepath.Join(t.TempDir(), "rr.bcl")
	rep, err := ReplaySession(context.Background(), nc, "rr", ReplayOptions{Export: out})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Fit != "recorded" || rep.CommandsRecorded != sum.Commands || rep.CommandsIdentical != sum.Commands || rep.CommandsDiffer != 0 || rep.Damaged != 0 || rep.Stims != sum.StimPatterns {
		t.Fatalf("replay through the recorded decoder: %+v", rep)
	}
	// The recorded commands carry 7 significant digits.
	if rep.R2Vel == nil || rep.R2VelRecorded == nil || sum.R2Vel == nil || *rep.R2Vel != *sum.R2Vel || math.Abs(*rep.R2Vel-*rep.R2VelRecorded) > 1e-5 {
		t.Fatalf("replay R² %v, recorded %v", ptrVal(rep.R2Vel), ptrVal(rep.R2VelRecorded))
	}
	if a := rep.Agreement["vx"]; a.RMSE > 1e-5 || a.R2 < 1-1e-9 {
		t.Fatalf("agreement with itself %+v", rep.Agreement)
	}
	// The export is a recording with every block and command, readable by
	// the recording reader.
	rr, err := acquire.OpenRecording(out)
	if err != nil {
		t.Fatal(err)
	}
	defer rr.Close()
	got := map[acquire.ChunkType]int{}
	var c acquire.Chunk
	for {
		err := rr.Next(&c)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got[c.Type]++
	}
	if got[acquire.ChunkBlock] != 8000 || uint64(got[acquire.ChunkCommand]) != sum.Commands || uint64(got[acquire.ChunkStim]) != sum.StimPatterns || got[acquire.ChunkMeta] != 1 || got[acquire.ChunkEnd] != 1 {
		t.Fatalf("exported chunks %v", got)
	}

	// Another decoder, fitted on the session's calibration span.
	rep2, err := ReplaySession(context.Background(), nc, "rr", ReplayOptions{Decoder: "popvec"})
	if err != nil {
		t.Fatal(err)
	}
	if rep2.Fit != "calibrate" || rep2.Decoder != "popvec" || rep2.Decoded == 0 || rep2.R2Vel == nil || rep2.CommandsIdentical != 0 || len(rep2.Agreement) == 0 {
		t.Fatalf("replay through popvec: %+v", rep2)
	}
	t.Logf("kalman R² %.3f (replayed %.3f); popvec R² %.3f, agreement %+v", *rep.R2VelRecorded, *rep.R2Vel, *rep2.R2Vel, rep2.Agreement)

	// A second run may not overwrite the session.
	srv.Shutdown()
	l2, err := Build(cfg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l2.Run(context.Background()); err == nil || !strings.Contains(err.Error(), "never overwritten") {
		t.Fatalf("second run into the same session: %v", err)
	}
}

// TestSessionSurvivesServerRestart stops the JetStream server in the middle
// of a real-time session and starts it again on the same store folder and
// port. Without a reconnect buffer every publish during the outage fails,
// so the session must resend from the stream's last sequence once the
// server is back; with the default buffer the client holds them and
// whatever the old server lost is resent the same way. Either way the
// session ends complete, in order, with no gap and no duplicate.
func TestSessionSurvivesServerRestart(t *testing.T) {
	for _, tc := range []struct {
		name       string
		buf        int
		wantResync bool
	}{
		{"no reconnect buffer", 1, true},
		{"default reconnect buffer", DefaultNATSConfig().ReconnectBuf, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			srv, err := StartEmbeddedStore("127.0.0.1:0", dir)
			if err != nil {
				t.Fatal(err)
			}
			url := srv.URL()
			listen := strings.TrimPrefix(url, "nats://")
			cfg := sessionTestConfig(t, 2500*time.Millisecond, "restart")
			cfg.Run.Lockstep = false
			cfg.Decoder.Type, cfg.Decoder.Calibration = "popvec", time.Second
			cfg.NATS.URL = url
			cfg.NATS.ReconnectWait = 20 * time.Millisecond
			cfg.NATS.ReconnectBuf = tc.buf
			cfg.Session.AckTimeout = 500 * time.Millisecond
			cfg.Session.RetryWait = 20 * time.Millisecond
			l, err := Build(cfg, testLogger(t))
			if err != nil {
				t.Fatal(err)
			}
			type result struct {
				sum Summary
				err error
			}
			done := make(chan result, 1)
			go func() {
				s, err := l.Run(context.Background())
				done <- result{s, err}
			}()
			// After calibration, restart the server.
			rate := cfg.Source.SimOptions.RateHz(cfg.Source.Preset)
			for l.simSamples.Load() < int64(1.3*rate) {
				time.Sleep(time.Millisecond)
			}
			srv.Shutdown()
			at := l.simSamples.Load()
			time.Sleep(200 * time.Millisecond)
			srv, err = StartEmbeddedStore(listen, dir)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { srv.Shutdown() }()
			res := <-done
			if res.err != nil {
				t.Fatal(res.err)
			}
			ss := res.sum.Session
			t.Logf("restart at sample %d of %d; session %+v; %d blocks, %d dropped", at, int64(2.5*rate), ss, res.sum.Blocks, res.sum.Dropped)
			if (tc.wantResync && ss.Resyncs == 0) || ss.Acked != ss.Messages || ss.Unconfirmed != 0 || ss.Rejected != 0 || ss.Error != "" {
				t.Fatalf("session summary %+v: want every message acknowledged (and a resync: %v)", ss, tc.wantResync)
			}
			counts, _, damage, last := readSessionAll(t, url, "restart")
			if len(damage) != 0 || last != ss.Messages {
				t.Fatalf("damage %v, last sequence %d, %d messages", damage, last, ss.Messages)
			}
			if uint64(counts[acquire.ChunkBlock]) != res.sum.Blocks || uint64(counts[acquire.ChunkCommand]) != res.sum.Commands || res.sum.Commands == 0 {
				t.Fatalf("chunks %v; want %d blocks and %d commands", counts, res.sum.Blocks, res.sum.Commands)
			}
		})
	}
}

// corruptStored flips one byte inside the stored message that contains
// marker, in the stream's block files under dir (the server stopped).
func corruptStored(t *testing.T, dir string, marker []byte) {
	t.Helper()
	var hit string
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() || !strings.HasSuffix(p, ".blk") || hit != "" {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		i := bytes.Index(b, marker)
		if i < 0 {
			return nil
		}
		b[i+len(marker)] ^= 0x01 // a bit of the value after the marker
		hit = p
		return os.WriteFile(p, b, fi.Mode())
	})
	if err != nil || hit == "" {
		t.Fatalf("no stored message with %q (%v)", marker, err)
	}
}

// TestSessionReplayReportsCorruption corrupts one stored command of a
// recorded session: the replay goes up to it and past it to the end,
// reporting the damaged message with its stream sequence.
func TestSessionReplayReportsCorruption(t *testing.T) {
	dir := t.TempDir()
	cfg := sessionTestConfig(t, 7*time.Second, "bad")
	cfg.NATS.StoreDir = dir
	l, err := Build(cfg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	sum, err := l.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// The 40th command, well inside the session.
	corruptStored(t, dir, []byte(`"seq":40,"bin_seq":`))
	rep := replayStored(t, dir, "bad", ReplayOptions{})
	t.Logf("damage %+v", rep.Damage)
	if rep.Damaged != 1 || len(rep.Damage) != 1 || rep.Damage[0].Seq < 2 || rep.Damage[0].Seq >= rep.Messages {
		t.Fatalf("damage %d %+v of %d messages, want the one corrupted message", rep.Damaged, rep.Damage, rep.Messages)
	}
	// Everything else is replayed: every block, and every command but the
	// damaged one reproduced exactly.
	if rep.Blocks != 7000 || rep.CommandsRecorded != sum.Commands-1 || rep.CommandsIdentical != sum.Commands-1 || rep.Decoded != sum.Commands {
		t.Fatalf("replay past the damage: %+v (run had %d commands)", rep, sum.Commands)
	}
}

func ptrVal(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}

// pausedSession is a session recorder without a publisher: what the
// pipeline goroutine does for a session, and nothing else. Its buffer
// takes what TestSessionProcessAllocs appends without growing.
func pausedSession() *sessionRecorder {
	sc := DefaultSessionConfig()
	return &sessionRecorder{cfg: sc, name: "paused", active: make([]byte, 0, sc.BufferBytes), kickAt: sc.BufferBytes, kick: make(chan struct{}, 1)}
}

// TestSessionProcessAllocs proves the pipeline's share of a session
// allocation-free: every block, bin and command is encoded into the
// session buffer (the publisher, which allocates, runs on its own
// goroutine and is left out here, as the NATS server is by running it in
// a child process).
func TestSessionProcessAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	l, b, done := warmLoopOn(t, true, nil)
	defer done()
	s := pausedSession()
	l.sess, l.subjCursor = s, "bciloop.test.cursor"
	defer func() { l.sess = nil }()
	ctx := context.Background()
	allocs := testing.AllocsPerRun(50, func() {
		for range 40 {
			if err := l.src.Read(ctx, b); err != nil {
				t.Fatal(err)
			}
			if err := l.Process(b); err != nil {
				t.Fatal(err)
			}
		}
	})
	sum := s.summary()
	if allocs != 0 || sum.Messages < 51*40 || sum.Grows != 0 || sum.Rejected != 0 {
		t.Fatalf("%v allocations per 40 iterations with a session, %+v", allocs, sum)
	}
}

// BenchmarkSessionLoopIteration is BenchmarkLoopIteration (nats=inproc,
// controller=none) against a JetStream server: publisher=off without a
// session, the reference; publisher=paused with a session whose publisher
// does not run, the pipeline's share (encoding into the session buffer);
// publisher=jetstream the whole cost, the publisher and the in-process
// JetStream server on a file store sharing the machine (allocations are
// process-wide, so they include the server's and the publisher's). The
// three run interleaved with -count.
func BenchmarkSessionLoopIteration(b *testing.B) {
	for _, mode := range []string{"off", "paused", "jetstream"} {
		b.Run("publisher="+mode, func(b *testing.B) {
			srv, err := StartEmbeddedStore("127.0.0.1:0", b.TempDir())
			if err != nil {
				b.Fatal(err)
			}
			defer srv.Shutdown()
			stopSub := discardSubscriber(b, srv.URL(), "bciloop.test.>")
			defer stopSub()
			cfg := testConfig(b, 0)
			cfg.NATS.URL = srv.URL()
			cfg.Decoder.Calibration = 4 * time.Second
			if mode != "off" {
				cfg.Session.Name = "bench"
			}
			l, err := Build(cfg, testLogger(b))
			if err != nil {
				b.Fatal(err)
			}
			if err := l.Connect(); err != nil {
				b.Fatal(err)
			}
			if mode == "paused" {
				l.sess, l.subjCursor = pausedSession(), "bciloop.test.cursor"
			} else if mode == "jetstream" {
				if err := l.startSession(); err != nil {
					b.Fatal(err)
				}
			}
			defer func() {
				if mode == "paused" {
					l.sess = nil
				}
				l.shutdown()
			}()
			ctx := context.Background()
			var blk acquire.Block
			step := func() {
				if err := l.src.Read(ctx, &blk); err != nil {
					b.Fatal(err)
				}
				if err := l.Process(&blk); err != nil {
					b.Fatal(err)
				}
				if s := l.sess; mode == "paused" && len(s.active) > s.cfg.BufferBytes/2 {
					// No publisher: empty the buffer where the publisher
					// would be woken to take it.
					s.active = s.active[:0]
				}
			}
			for range 5000 {
				step()
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				step()
			}
		})
	}
}

// TestSessionReplayReportsBadChunk damages one block after the pipeline
// encoded it and before it was published, so that JetStream stores it
// intact as it received it (a fault its own checksums cannot see): the
// replay finds the chunk's CRC wrong, reports the message with its stream
// sequence, and replays everything before and after it.
func TestSessionReplayReportsBadChunk(t *testing.T) {
	dir := t.TempDir()
	cfg := sessionTestConfig(t, 7*time.Second, "badcrc")
	cfg.NATS.StoreDir = dir
	l, err := Build(cfg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Connect(); err != nil {
		t.Fatal(err)
	}
	if err := l.startSession(); err != nil {
		t.Fatal(err)
	}
	var b acquire.Block
	var damagedBlock uint64
	var cmdsBefore uint64
	for i := 0; i < 7000; i++ {
		if err := l.src.Read(context.Background(), &b); err != nil {
			t.Fatal(err)
		}
		if err := l.Process(&b); err != nil {
			t.Fatal(err)
		}
		if i >= 6000 && damagedBlock == 0 {
			s := l.sess
			s.mu.Lock()
			if len(s.active) > 0 { // the block just appended is the buffer's last chunk
				s.active[len(s.active)-1] ^= 0x40
				damagedBlock, cmdsBefore = b.Seq, l.commands.Load()
			}
			s.mu.Unlock()
		}
	}
	l.shutdown() // drains the session
	sum := l.Summary(0)
	if damagedBlock == 0 || sum.Session.Acked != sum.Session.Messages {
		t.Fatalf("damaged block %d, session %+v", damagedBlock, sum.Session)
	}
	rep := replayStored(t, dir, "badcrc", ReplayOptions{})
	t.Logf("block %d damaged; %+v", damagedBlock, rep.Damage)
	if rep.Damaged != 1 || !strings.Contains(rep.Damage[0].Reason, "CRC-32C mismatch") || rep.Damage[0].Seq < 2 || rep.Damage[0].Seq >= rep.Messages {
		t.Fatalf("damage %+v", rep.Damage)
	}
	// Every other block is replayed, every command before the damage is
	// reproduced exactly, and decoding goes on to the end.
	if rep.Blocks != 6999 || rep.CommandsRecorded != sum.Commands || rep.CommandsIdentical < cmdsBefore || rep.Decoded < sum.Commands-1 {
		t.Fatalf("replay past the damage: %+v (run: %d commands, %d before the damage)", rep, sum.Commands, cmdsBefore)
	}
}

// TestSessionReplayReFIT records a closed-loop centre-out session whose
// Kalman decoder is refitted mid-run (ReFIT): the replay through the
// recorded decoder switches both fits in where the run did, and reproduces
// every command byte for byte; the cursor states are in the session too.
func TestSessionReplayReFIT(t *testing.T) {
	dir := t.TempDir()
	cfg := sessionTestConfig(t, 10*time.Second, "refit")
	cfg.NATS.StoreDir = dir
	cfg.Task.Type = "centre-out"
	cfg.Task.Refit.Enabled, cfg.Task.Refit.After = true, 3*time.Second
	l, err := Build(cfg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	sum, err := l.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	srv, err := StartEmbeddedStore("127.0.0.1:0", dir)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	counts, _, damage, _ := readSessionAll(t, srv.URL(), "refit")
	if len(damage) != 0 || counts[acquire.ChunkParams] != 2 || uint64(counts[acquire.ChunkCursor]) != sum.Bins {
		t.Fatalf("chunks %v (want 2 fits and a cursor state per bin, %d bins), damage %v", counts, sum.Bins, damage)
	}
	nc, err := nats.Connect(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	rep, err := ReplaySession(context.Background(), nc, "refit", ReplayOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.CommandsRecorded != sum.Commands || rep.CommandsIdentical != sum.Commands || rep.Cursor != sum.Bins {
		t.Fatalf("replay of a ReFIT session: %+v (run: %d commands)", rep, sum.Commands)
	}
}

// TestSessionStreamOnly: a session of a run without a decoder replays its
// blocks and bins, decoding nothing.
func TestSessionStreamOnly(t *testing.T) {
	dir := t.TempDir()
	cfg := sessionTestConfig(t, 2*time.Second, "raw")
	cfg.NATS.StoreDir = dir
	cfg.Decoder.Type = "none"
	l, err := Build(cfg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	rep := replayStored(t, dir, "raw", ReplayOptions{})
	if rep.Decoder != "none" || rep.Blocks != 2000 || rep.Bins != 100 || rep.Decoded != 0 || rep.Damaged != 0 {
		t.Fatalf("stream-only replay %+v", rep)
	}
}

// BenchmarkSessionAppendBlock is the pipeline's cost per block of a
// session: encoding a 1 ms block of the 96-unit motor cortex (two spikes,
// four truth values) as a chunk with its CRC-32C into the session buffer
// under its mutex.
func BenchmarkSessionAppendBlock(b *testing.B) {
	s := pausedSession()
	blk := &acquire.Block{Seq: 1, Start: 1000, Frames: 1, Rate: 1000, Channels: 96, Arrived: 1,
		Spikes: []acquire.Spike{{Sample: 1000, Channel: 3}, {Sample: 1000, Channel: 70}}, Truth: []float64{1, 2, 3, 4}, TruthDims: 4}
	b.ReportAllocs()
	for b.Loop() {
		s.block(blk)
		if len(s.active) > s.cfg.BufferBytes/2 {
			s.active = s.active[:0]
		}
	}
}

func TestSessionConfigValidate(t *testing.T) {
	file := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, yaml string
		want       []string
	}{
		{"ok embedded", "session: {name: s-1}\nnats: {store_dir: " + t.TempDir() + "}\n", nil},
		{"ok external", "session: {name: s_1}\nnats: {url: 'nats://127.0.0.1:4222'}\n", nil},
		{"no jetstream", "session: {name: s1}\n", []string{"session.name: a session needs JetStream"}},
		{"bad values", "session: {name: 'a.b', max_pending: 0, ack_timeout: 0s, retry_wait: 0s, buffer_bytes: 10, max_buffer_bytes: 5, drain_timeout: 0s}\nnats: {store_dir: " + t.TempDir() + "}\n",
			[]string{"session.name: \"a.b\" must be", "session.max_pending:", "session.ack_timeout:", "session.retry_wait:", "session.buffer_bytes:", "session.max_buffer_bytes:", "session.drain_timeout:"}},
		{"store with url", "nats: {url: 'nats://h:4222', store_dir: /tmp/x}\n", []string{"nats.store_dir: is for the embedded server"}},
		{"store is a file", "nats: {store_dir: " + file + "}\n", []string{"nats.store_dir: " + file + " is not a folder"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseConfig("c", []byte(tc.yaml))
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
}

// TestSessionNeedsJetStream: a session against a server without JetStream
// fails at start, saying so.
func TestSessionNeedsJetStream(t *testing.T) {
	srv, err := StartEmbedded("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	cfg := sessionTestConfig(t, time.Second, "nojs")
	cfg.NATS.URL = srv.URL()
	l, err := Build(cfg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Run(context.Background()); err == nil || !strings.Contains(err.Error(), "does the server run JetStream?") {
		t.Fatalf("session without JetStream: %v", err)
	}
}

// TestSessionServerGone: when the server goes away for good, the run still
// ends (after session.drain_timeout) and the summary reports what was not
// acknowledged; nothing is silently lost.
func TestSessionServerGone(t *testing.T) {
	srv, err := StartEmbeddedStore("127.0.0.1:0", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cfg := sessionTestConfig(t, time.Second, "gone")
	cfg.Run.Lockstep = false
	cfg.Decoder.Type = "none"
	cfg.NATS.URL = srv.URL()
	cfg.NATS.ReconnectWait = 20 * time.Millisecond
	cfg.Session.AckTimeout, cfg.Session.RetryWait, cfg.Session.DrainTimeout = 200*time.Millisecond, 20*time.Millisecond, 300*time.Millisecond
	l, err := Build(cfg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan Summary, 1)
	go func() {
		s, _ := l.Run(context.Background())
		done <- s
	}()
	rate := cfg.Source.SimOptions.RateHz(cfg.Source.Preset)
	for l.simSamples.Load() < int64(rate/4) {
		time.Sleep(time.Millisecond)
	}
	srv.Shutdown()
	select {
	case sum := <-done:
		ss := sum.Session
		t.Logf("session %+v", ss)
		if ss.Unconfirmed == 0 || ss.Acked+ss.Unconfirmed != ss.Messages || !strings.Contains(ss.Error, "not acknowledged within drain_timeout") {
			t.Fatalf("session summary %+v", ss)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the run did not end with the server gone")
	}
}
