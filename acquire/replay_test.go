package acquire_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bciloop/bciloop/acquire"
	"github.com/bciloop/bciloop/acquire/acquiretest"
)

// dataPath returns a file of the shared test data, skipping when absent.
func dataPath(t testing.TB, parts ...string) string {
	t.Helper()
	p := filepath.Join(append([]string{"..", "..", "shared", "data"}, parts...)...)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("test data %s absent (%v): the shared data folder is not next to the repository", p, err)
	}
	return p
}

// recordSource records up to n blocks of src (all of them when n < 0) to a
// new recording at path with meta, and returns the file's bytes.
func recordSource(t testing.TB, src acquire.Source, path string, meta []byte, n int) []byte {
	t.Helper()
	cfg := acquire.DefaultRecorderConfig()
	r, err := acquire.CreateRecording(path, meta, cfg)
	if err != nil {
		t.Fatal(err)
	}
	var b acquire.Block
	for i := 0; n < 0 || i < n; i++ {
		err := src.Read(context.Background(), &b)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := r.AppendBlock(&b); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// writeFixtureEDF writes the seeded EDF-family fixture to dir.
func writeFixtureEDF(t testing.TB, dir string, format acquire.EDFFormat, discontinuous bool) string {
	t.Helper()
	e, data := acquire.EDFFixtureForTest(format, discontinuous, 1)
	path := filepath.Join(dir, "fixture.edf")
	if err := acquire.WriteEDFFile(path, e, data); err != nil {
		t.Fatal(err)
	}
	return path
}

// writeFastEDF writes a 2-second EDF+ of two 1 kHz signals (µV and mV),
// fast enough for real-time conformance runs.
func writeFastEDF(t testing.TB, dir string) string {
	t.Helper()
	e := &acquire.EDF{Format: acquire.FormatEDFPlus, RecordDuration: 0.5, Signals: []acquire.EDFSignal{
		{Label: "C3", PhysicalDimension: "uV", PhysicalMin: -500, PhysicalMax: 500, SamplesPerRecord: 500},
		{Label: "C4", PhysicalDimension: "mV", PhysicalMin: -0.5, PhysicalMax: 0.5, SamplesPerRecord: 500},
	}}
	data := make([][]float64, 2)
	for k := range 2000 {
		x := math.Sin(2 * math.Pi * 10 * float64(k) / 1000)
		data[0] = append(data[0], 100*x)
		data[1] = append(data[1], 0.1*x)
	}
	path := filepath.Join(dir, "fast.edf")
	if err := acquire.WriteEDFFile(path, e, data); err != nil {
		t.Fatal(err)
	}
	return path
}

// writeSimRecording records n 1-ms lockstep blocks of the synthetic brain.
func writeSimRecording(t testing.TB, dir string, n int) string {
	t.Helper()
	path := filepath.Join(dir, "sim.bcr")
	recordSource(t, newSimSource(t, 1, acquire.SimSourceConfig{BlockFrames: 1}), path, []byte(`{"source":"sim"}`), n)
	return path
}

func TestReplayConformance(t *testing.T) {
	dir := t.TempDir()
	fast := writeFastEDF(t, dir)
	sim := writeSimRecording(t, dir, 300)
	gaps := filepath.Join(dir, "gaps.csv")
	if err := os.WriteFile(gaps, []byte(acquire.OpenBCIFixtureForTest(400, map[int]int{50: 3, 120: 1}, 2)), 0o644); err != nil {
		t.Fatal(err)
	}
	edfD := writeFixtureEDF(t, t.TempDir(), acquire.FormatEDFPlus, true)
	finite := acquiretest.Options{Blocks: 100, AllocFree: true, Finite: true}
	realtime := acquiretest.Options{Blocks: 40, AllocFree: true, Finite: true}
	cases := []struct {
		name string
		path func(t *testing.T) string
		cfg  acquire.ReplayConfig
		opts acquiretest.Options
	}{
		{"edf/real/fast", func(t *testing.T) string { return dataPath(t, "eegmmidb", "S001R04.edf") }, acquire.ReplayConfig{BlockFrames: 16}, finite},
		{"edf/1kHz/realtime", func(*testing.T) string { return fast }, acquire.ReplayConfig{BlockFrames: 5, Realtime: true}, realtime},
		{"edf+d/gaps/fast", func(*testing.T) string { return edfD }, acquire.ReplayConfig{BlockFrames: 3, Signals: []string{"EEG Fpz-Cz", "EEG Pz-Oz"}}, finite},
		{"openbci/real/fast", func(t *testing.T) string {
			return dataPath(t, "openbci", "OpenBCI_GUI-v6-blinks-jawClench-alpha.txt")
		}, acquire.ReplayConfig{BlockFrames: 10}, finite},
		{"openbci/gaps/fast", func(*testing.T) string { return gaps }, acquire.ReplayConfig{BlockFrames: 8}, finite},
		{"openbci/gaps/realtime", func(*testing.T) string { return gaps }, acquire.ReplayConfig{BlockFrames: 2, Realtime: true}, realtime},
		{"recording/fast", func(*testing.T) string { return sim }, acquire.ReplayConfig{BlockFrames: 1}, finite},
		{"recording/realtime", func(*testing.T) string { return sim }, acquire.ReplayConfig{BlockFrames: 1, Realtime: true}, realtime},
		{"recording/restamp", func(*testing.T) string { return sim }, acquire.ReplayConfig{BlockFrames: 1, Restamp: true}, finite},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := c.path(t)
			acquiretest.Run(t, func(t *testing.T) acquire.Source {
				r, err := acquire.OpenReplay(path, c.cfg)
				if err != nil {
					t.Fatal(err)
				}
				return r
			}, c.opts)
		})
	}
}

// TestReplayRecordingIdentical records a source, replays the recording
// (fast, then in real time) and records the replay: the files are equal
// byte for byte.
func TestReplayRecordingIdentical(t *testing.T) {
	cases := []struct {
		name string
		src  func(t *testing.T) acquire.Source
		n    int
	}{
		{"sim", func(t *testing.T) acquire.Source { return newSimSource(t, 3, acquire.SimSourceConfig{BlockFrames: 2}) }, 150},
		{"edf", func(t *testing.T) acquire.Source {
			r, err := acquire.OpenReplay(writeFastEDF(t, t.TempDir()), acquire.ReplayConfig{BlockFrames: 7})
			if err != nil {
				t.Fatal(err)
			}
			return r
		}, -1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			src := c.src(t)
			defer src.Close()
			orig := recordSource(t, src, filepath.Join(dir, "a.bcr"), []byte(`{"source":"`+c.name+`","started":"2026-01-02T03:04:05Z"}`), c.n)
			prev := filepath.Join(dir, "a.bcr")
			for i, realtime := range []bool{false, true} {
				rp, err := acquire.OpenReplay(prev, acquire.ReplayConfig{BlockFrames: 1, Realtime: realtime})
				if err != nil {
					t.Fatal(err)
				}
				next := filepath.Join(dir, []string{"b.bcr", "c.bcr"}[i])
				copyBytes := recordSource(t, rp, next, rp.Meta(), -1)
				rp.Close()
				if !bytes.Equal(copyBytes, orig) {
					t.Fatalf("realtime=%v: the recording of the replay (%d bytes) differs from the original (%d bytes)", realtime, len(copyBytes), len(orig))
				}
				prev = next
			}
		})
	}
}

// TestReplayEDFBlocks checks an EDF+D replay against the EDF reader: µV
// scaling, frame-major data, and the gaps between records as Dropped.
func TestReplayEDFBlocks(t *testing.T) {
	path := writeFixtureEDF(t, t.TempDir(), acquire.FormatEDFPlus, true)
	e, err := acquire.ReadEDF(path)
	if err != nil {
		t.Fatal(err)
	}
	fpz, _ := e.Physical(0) // µV
	pz, _ := e.Physical(1)  // mV
	r, err := acquire.OpenReplay(path, acquire.ReplayConfig{BlockFrames: 3, Signals: []string{"EEG Pz-Oz", "EEG Fpz-Cz"}})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	// Records of 4 samples (0.5 s at 8 Hz) start at 0, 0.5, 2, 2.5, 4.25 s:
	// samples 0, 4, 16, 20, 34, so 8 frames are missing before record 2
	// and 10 before record 4.
	var got []int64
	var dropped []uint64
	frame := 0
	var b acquire.Block
	for {
		err := r.Read(context.Background(), &b)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if b.Rate != 8 || b.Channels != 2 {
			t.Fatalf("block %+v", b)
		}
		got = append(got, b.Start)
		dropped = append(dropped, b.Dropped)
		for f := range b.Frames {
			// float32 keeps 24 bits: a relative difference of 2⁻²³ is one ulp.
			if !near32(b.Data[2*f], pz[frame]*1000) || !near32(b.Data[2*f+1], fpz[frame]) {
				t.Fatalf("frame %d: %v %v, want %v mV·1000 and %v µV", frame, b.Data[2*f], b.Data[2*f+1], pz[frame], fpz[frame])
			}
			frame++
		}
	}
	// Blocks of 3 frames, cut short before each gap.
	wantStarts := []int64{0, 3, 6, 16, 19, 22, 34, 37}
	wantDropped := []uint64{0, 0, 0, 8, 0, 0, 10, 0}
	if !slices.Equal(got, wantStarts) || !slices.Equal(dropped, wantDropped) || frame != 20 {
		t.Fatalf("starts %v dropped %v frames %d; want %v %v 20", got, dropped, frame, wantStarts, wantDropped)
	}
}

func near32(got float32, want float64) bool {
	return math.Abs(float64(got)-want) <= math.Abs(want)*0x1p-23
}

func TestReplayOpenBCIBlocks(t *testing.T) {
	path := filepath.Join(t.TempDir(), "g.csv")
	if err := os.WriteFile(path, []byte(acquire.OpenBCIFixtureForTest(12, map[int]int{4: 2, 5: 1}, 3)), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := acquire.ReadOpenBCICSV(path)
	if err != nil {
		t.Fatal(err)
	}
	r, err := acquire.OpenReplay(path, acquire.ReplayConfig{BlockFrames: 5})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	type blk struct {
		start   int64
		frames  int
		dropped uint64
	}
	var got []blk
	var data []float32
	var b acquire.Block
	for r.Read(context.Background(), &b) == nil {
		got = append(got, blk{b.Start, b.Frames, b.Dropped})
		data = append(data, b.Data...)
	}
	want := []blk{{0, 4, 0}, {6, 1, 2}, {8, 5, 1}, {13, 2, 0}}
	if !slices.Equal(got, want) || !slices.Equal(data, c.EXG) {
		t.Fatalf("blocks %v, want %v (data equal: %v)", got, want, slices.Equal(data, c.EXG))
	}
}

// TestReplayArrived checks the documented stamps: fast replays keep the
// recorded intervals, all in the past; real-time EDF blocks arrive at their
// deadline.
func TestReplayArrived(t *testing.T) {
	dir := t.TempDir()
	path := writeSimRecording(t, dir, 50)
	rr, err := acquire.OpenRecording(path)
	if err != nil {
		t.Fatal(err)
	}
	var rel []int64
	var c acquire.Chunk
	for rr.Next(&c) == nil {
		if c.Type == acquire.ChunkBlock {
			rel = append(rel, c.Block.Arrived)
		}
	}
	rr.Close()
	if rel[0] != 0 {
		t.Fatalf("first stored stamp %d, want 0 (relative to itself)", rel[0])
	}
	rp, err := acquire.OpenReplay(path, acquire.DefaultReplayConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer rp.Close()
	var b acquire.Block
	var first int64
	for i := range rel {
		if err := rp.Read(context.Background(), &b); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first = b.Arrived
		}
		if b.Arrived-first != rel[i] || b.Arrived > acquire.Now() {
			t.Fatalf("block %d arrived %d (+%d), recorded +%d", i, b.Arrived, b.Arrived-first, rel[i])
		}
	}
	if err := rp.Read(context.Background(), &b); !errors.Is(err, io.EOF) {
		t.Fatalf("after the last block: %v", err)
	}

	rt, err := acquire.OpenReplay(writeFastEDF(t, dir), acquire.ReplayConfig{BlockFrames: 10, Realtime: true})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	start := time.Now()
	for range 20 {
		if err := rt.Read(context.Background(), &b); err != nil {
			t.Fatal(err)
		}
		if b.Arrived != rt.Due() {
			t.Fatalf("real-time EDF block arrived %d, due %d", b.Arrived, rt.Due())
		}
	}
	if d := time.Since(start); d < 190*time.Millisecond {
		t.Fatalf("20 blocks of 10 ms in %v: not paced", d)
	}
}

// TestReplayTornRecording replays a recording cut by a crash: every intact
// block, then io.EOF, with Torn reporting the tail.
func TestReplayTornRecording(t *testing.T) {
	dir := t.TempDir()
	full, _ := os.ReadFile(writeSimRecording(t, dir, 40))
	cut := filepath.Join(dir, "cut.bcr")
	os.WriteFile(cut, full[:len(full)-100], 0o644)
	r, err := acquire.OpenReplay(cut, acquire.DefaultReplayConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var te *acquire.TornError
	if !errors.As(r.Torn(), &te) {
		t.Fatalf("Torn() = %v", r.Torn())
	}
	n := 0
	var b acquire.Block
	for {
		err := r.Read(context.Background(), &b)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n < 30 || n >= 40 {
		t.Fatalf("%d blocks replayed from a recording of 40 cut by 100 bytes", n)
	}
}

func TestReplayErrors(t *testing.T) {
	dir := t.TempDir()
	edf := writeFixtureEDF(t, dir, acquire.FormatEDFPlus, false)
	unknown := filepath.Join(dir, "x.bin")
	os.WriteFile(unknown, []byte("hello"), 0o644)
	cases := []struct {
		name string
		path string
		cfg  acquire.ReplayConfig
		want []string
	}{
		{"mixed rates", edf, acquire.ReplayConfig{BlockFrames: 1}, []string{"do not share one sample rate", "Temp rectal", "signals:"}},
		{"not a voltage", edf, acquire.ReplayConfig{BlockFrames: 1, Signals: []string{"Temp rectal"}}, []string{`"degC" is not a voltage`}},
		{"unknown label", edf, acquire.ReplayConfig{BlockFrames: 1, Signals: []string{"Cz"}}, []string{`"Cz" is not an ordinary signal`, "EEG Fpz-Cz"}},
		{"config", edf, acquire.ReplayConfig{BlockFrames: 0, Signals: []string{"a", "a", " "}}, []string{"block_frames: ", `signals[1]: "a" listed twice`, "signals[2]: empty"}},
		{"unknown format", unknown, acquire.DefaultReplayConfig(), []string{"unknown format", "x.bin"}},
		{"missing", filepath.Join(dir, "none.edf"), acquire.DefaultReplayConfig(), []string{"no such file"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := acquire.OpenReplay(c.path, c.cfg)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestDetectReplayFormat(t *testing.T) {
	dir := t.TempDir()
	csv := filepath.Join(dir, "a.txt")
	os.WriteFile(csv, []byte(acquire.OpenBCIFixtureForTest(3, nil, 1)), 0o644)
	bdf := filepath.Join(t.TempDir(), "b.bdf")
	e, data := acquire.EDFFixtureForTest(acquire.FormatBDF, false, 1)
	acquire.WriteEDFFile(bdf, e, data)
	for path, want := range map[string]acquire.ReplayFormat{
		writeFixtureEDF(t, dir, acquire.FormatEDF, false): acquire.ReplayEDF,
		bdf:                          acquire.ReplayEDF,
		csv:                          acquire.ReplayOpenBCI,
		writeSimRecording(t, dir, 2): acquire.ReplayRecording,
	} {
		if got, err := acquire.DetectReplayFormat(path); got != want || err != nil {
			t.Errorf("%s: %v, %v; want %v", filepath.Base(path), got, err, want)
		}
	}
}

func BenchmarkReplayRead(b *testing.B) {
	dir := b.TempDir()
	for _, c := range []struct {
		name string
		path string
		cfg  acquire.ReplayConfig
	}{
		{"edf=64ch_16frames", dataPath(b, "eegmmidb", "S001R04.edf"), acquire.ReplayConfig{BlockFrames: 16}},
		{"recording=sim_1ms", writeSimRecording(b, dir, 2000), acquire.ReplayConfig{BlockFrames: 1}},
	} {
		b.Run(c.name, func(b *testing.B) {
			r, err := acquire.OpenReplay(c.path, c.cfg)
			if err != nil {
				b.Fatal(err)
			}
			var blk acquire.Block
			b.ReportAllocs()
			for b.Loop() {
				if err := r.Read(context.Background(), &blk); err != nil {
					if !errors.Is(err, io.EOF) {
						b.Fatal(err)
					}
					r.Close()
					b.StopTimer()
					if r, err = acquire.OpenReplay(c.path, c.cfg); err != nil {
						b.Fatal(err)
					}
					b.StartTimer()
				}
			}
			r.Close()
		})
	}
}
