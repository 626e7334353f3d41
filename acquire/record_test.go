package acquire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// recTestBlock returns block k of a seeded test stream: 1–20 frames of 3
// channels at 1 kHz, data on even blocks, sorted spikes, 2 truth dims on
// blocks divisible by 3, Arrived 1 s + k ms.
func recTestBlock(seed uint64, k int, start int64) Block {
	rng := rand.New(rand.NewPCG(seed, uint64(k)))
	b := Block{Seq: uint64(k), Start: start, Frames: 1 + rng.IntN(20), Rate: 1000, Channels: 3, Arrived: 1e9 + int64(k)*1e6}
	if k%2 == 0 {
		b.Data = make([]float32, b.Frames*b.Channels)
		for i := range b.Data {
			b.Data[i] = float32(rng.NormFloat64() * 30)
		}
	}
	for f := range b.Frames {
		if rng.IntN(3) == 0 {
			b.Spikes = append(b.Spikes, Spike{Sample: start + int64(f), Channel: uint16(rng.IntN(3)), Unit: uint8(rng.IntN(2))})
		}
	}
	if k%3 == 0 {
		b.TruthDims = 2
		b.Truth = make([]float64, b.Frames*2)
		for i := range b.Truth {
			b.Truth[i] = rng.Float64()
		}
	}
	if k%5 == 4 {
		b.Dropped = uint64(rng.IntN(4))
	}
	return b
}

// recTestChunk is one chunk of the seeded test recording: chunk i ≥ 1 is,
// cycling, a block, sometimes followed by a command or a stim event.
type recTestChunk struct {
	t       ChunkType
	block   Block
	command []byte
	stim    StimEvent
}

// recTestGen generates the seeded test recording chunk by chunk.
type recTestGen struct {
	seed    uint64
	k       int
	start   int64
	pending []recTestChunk
}

// next returns the next chunk.
func (g *recTestGen) next() recTestChunk {
	for len(g.pending) == 0 {
		k := g.k
		g.k++
		b := recTestBlock(g.seed, k, g.start)
		b.Start += int64(b.Dropped)
		for i := range b.Spikes {
			b.Spikes[i].Sample += int64(b.Dropped)
		}
		g.start = b.End()
		g.pending = append(g.pending, recTestChunk{t: ChunkBlock, block: b})
		if k%7 == 3 {
			g.pending = append(g.pending, recTestChunk{t: ChunkCommand, command: fmt.Appendf(nil, `{"v":1,"seq":%d,"state":{"vx":%g}}`, k, float64(k)/7)})
		}
		if k%11 == 5 {
			e := StimEvent{Seq: uint64(k), Sample: b.End() + 10, Arrived: b.Arrived, Outcome: StimOutcome(k % 4)}
			for j := range k % 3 {
				e.Pulses = append(e.Pulses, StimPulse{Electrode: int32(j), Count: int32(1 + j), AmplitudeUA: 20 + float64(k), PhaseUS: 200, GapUS: 50, FreqHz: 130})
			}
			g.pending = append(g.pending, recTestChunk{t: ChunkStim, stim: e})
		}
	}
	c := g.pending[0]
	g.pending = g.pending[1:]
	return c
}

// recTestStream returns the first n chunks (after the meta chunk) of the
// test recording of seed.
func recTestStream(seed uint64, n int) []recTestChunk {
	g := &recTestGen{seed: seed}
	out := make([]recTestChunk, n)
	for i := range out {
		out[i] = g.next()
	}
	return out
}

func appendTestChunk(t testing.TB, r *Recorder, c *recTestChunk) {
	t.Helper()
	var err error
	switch c.t {
	case ChunkBlock:
		err = r.AppendBlock(&c.block)
	case ChunkCommand:
		err = r.AppendCommand(c.command)
	case ChunkStim:
		err = r.AppendStim(&c.stim)
	}
	if err != nil {
		t.Fatal(err)
	}
}

// checkTestChunk compares a chunk read back with the one written, whose
// stamps the reader gives relative to epoch.
func checkTestChunk(got *Chunk, want *recTestChunk, epoch int64) error {
	if got.Type != want.t {
		return fmt.Errorf("type %v, want %v", got.Type, want.t)
	}
	switch want.t {
	case ChunkBlock:
		w := want.block
		w.Arrived -= epoch
		g := got.Block
		if g.Seq != w.Seq || g.Start != w.Start || g.Frames != w.Frames || g.Rate != w.Rate || g.Channels != w.Channels ||
			g.Dropped != w.Dropped || g.TruthDims != w.TruthDims || g.Arrived != w.Arrived ||
			!slices.Equal(g.Data, w.Data) || !slices.Equal(g.Spikes, w.Spikes) || !slices.Equal(g.Truth, w.Truth) {
			return fmt.Errorf("block\n got %+v\nwant %+v", g, w)
		}
	case ChunkCommand:
		if !bytes.Equal(got.Payload, want.command) {
			return fmt.Errorf("command %q, want %q", got.Payload, want.command)
		}
	case ChunkStim:
		w := want.stim
		w.Arrived -= epoch
		g := got.Stim
		if g.Seq != w.Seq || g.Sample != w.Sample || g.Arrived != w.Arrived || g.Outcome != w.Outcome || !slices.Equal(g.Pulses, w.Pulses) {
			return fmt.Errorf("stim\n got %+v\nwant %+v", g, w)
		}
	}
	return nil
}

func testRecorderConfig() RecorderConfig {
	c := DefaultRecorderConfig()
	c.SyncInterval = time.Hour // tests sync explicitly
	return c
}

// writeTestRecording records n chunks of the test stream and closes.
func writeTestRecording(t testing.TB, path string, seed uint64, n int) []recTestChunk {
	t.Helper()
	r, err := CreateRecording(path, []byte(`{"test":true}`), testRecorderConfig())
	if err != nil {
		t.Fatal(err)
	}
	chunks := recTestStream(seed, n)
	for i := range chunks {
		appendTestChunk(t, r, &chunks[i])
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	return chunks
}

// readAll reads every chunk of the recording in data and returns copies
// of them and the final error (io.EOF for a clean end).
func readAll(t testing.TB, data []byte) ([]Chunk, error) {
	t.Helper()
	rr, err := NewRecordingReader(bytes.NewReader(data), "t.bcr")
	if err != nil {
		return nil, err
	}
	var out []Chunk
	for {
		var c Chunk
		if err := rr.Next(&c); err != nil {
			return out, err
		}
		c.Payload = slices.Clone(c.Payload)
		if rr.Offset() != c.Offset+int64(recChunkHeader+c.Len) {
			t.Fatalf("offset %d after a chunk at %d of %d bytes", rr.Offset(), c.Offset, c.Len)
		}
		out = append(out, c)
	}
}

func TestRecordingRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a.bcr")
	want := writeTestRecording(t, path, 1, 120)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	got, err := readAll(t, data)
	if err != io.EOF {
		t.Fatalf("final error %v, want io.EOF", err)
	}
	if len(got) != len(want)+2 {
		t.Fatalf("%d chunks, want meta + %d + end", len(got), len(want))
	}
	if got[0].Type != ChunkMeta || string(got[0].Payload) != `{"test":true}` || got[0].Offset != recHeaderSize {
		t.Fatalf("first chunk %+v", got[0])
	}
	epoch := want[0].block.Arrived
	for i := range want {
		if err := checkTestChunk(&got[i+1], &want[i], epoch); err != nil {
			t.Fatalf("chunk %d: %v", i+1, err)
		}
	}
	end := got[len(got)-1]
	if end.Type != ChunkEnd || end.Chunks != uint64(len(want)+1) || end.Offset+recChunkHeader+8 != int64(len(data)) {
		t.Fatalf("end chunk %+v in a %d-byte file", end, len(data))
	}
}

// TestRecordingLayout decodes a recording by the offsets documented in
// record.go, without the reader.
func TestRecordingLayout(t *testing.T) {
	path := filepath.Join(t.TempDir(), "l.bcr")
	r, err := CreateRecording(path, []byte("M"), testRecorderConfig())
	if err != nil {
		t.Fatal(err)
	}
	b := Block{Seq: 7, Start: 100, Frames: 2, Rate: 1000, Channels: 1, Data: []float32{1.5, -2}, Spikes: []Spike{{Sample: 101, Channel: 0, Unit: 3}},
		TruthDims: 1, Truth: []float64{0.25, 0.5}, Dropped: 4, Arrived: 5000}
	r.AppendBlock(&b)
	b.Arrived = 7500
	r.AppendBlock(&b)
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	d, _ := os.ReadFile(path)
	le := binary.LittleEndian
	if !bytes.Equal(d[:8], []byte{0x89, 'B', 'C', 'L', '\r', '\n', 0x1A, '\n'}) || le.Uint16(d[8:]) != 1 || le.Uint32(d[12:]) != crc32.Checksum(d[:12], crc32.MakeTable(crc32.Castagnoli)) {
		t.Fatalf("file header % x", d[:16])
	}
	chunk := func(off int) (typ byte, payload []byte, next int) {
		n := int(le.Uint32(d[off+4:]))
		crc := crc32.Update(0, crc32.MakeTable(crc32.Castagnoli), d[off:off+8])
		if crc32.Update(crc, crc32.MakeTable(crc32.Castagnoli), d[off+12:off+12+n]) != le.Uint32(d[off+8:]) {
			t.Fatalf("chunk at %d: CRC", off)
		}
		return d[off], d[off+12 : off+12+n], off + 12 + n
	}
	typ, p, off := chunk(16)
	if typ != 1 || string(p) != "M" {
		t.Fatalf("meta chunk %d %q", typ, p)
	}
	typ, p, off = chunk(off)
	// 64-byte header + 2 float32 + 1 spike of 12 bytes + 2 float64.
	if typ != 2 || len(p) != 64+8+12+16 {
		t.Fatalf("block chunk type %d, %d bytes", typ, len(p))
	}
	if le.Uint64(p[0:]) != 7 || le.Uint64(p[8:]) != 100 || math.Float64frombits(le.Uint64(p[16:])) != 1000 || le.Uint64(p[24:]) != 0 ||
		le.Uint64(p[32:]) != 4 || le.Uint32(p[40:]) != 2 || le.Uint32(p[44:]) != 1 || le.Uint32(p[48:]) != 1 ||
		le.Uint32(p[52:]) != 2 || le.Uint32(p[56:]) != 1 || le.Uint32(p[60:]) != 2 {
		t.Fatalf("block header % x", p[:64])
	}
	if math.Float32frombits(le.Uint32(p[64:])) != 1.5 || le.Uint64(p[72:]) != 101 || p[82] != 3 || math.Float64frombits(le.Uint64(p[92:])) != 0.5 {
		t.Fatalf("block arrays % x", p[64:])
	}
	typ, p, off = chunk(off)
	if typ != 2 || le.Uint64(p[24:]) != 2500 { // arrived relative to the first block's 5000
		t.Fatalf("second block: type %d arrived %d", typ, le.Uint64(p[24:]))
	}
	typ, p, off = chunk(off)
	if typ != 5 || le.Uint64(p) != 3 || off != len(d) {
		t.Fatalf("end chunk type %d counts %d, ends at %d of %d", typ, le.Uint64(p), off, len(d))
	}
}

// TestRecordingTornTail cuts a recording at every length and checks that
// the reader returns exactly the chunks wholly before the cut, then a
// TornError at the end of the last one.
func TestRecordingTornTail(t *testing.T) {
	path := filepath.Join(t.TempDir(), "t.bcr")
	writeTestRecording(t, path, 2, 25)
	data, _ := os.ReadFile(path)
	full, err := readAll(t, data)
	if err != io.EOF {
		t.Fatal(err)
	}
	for cut := 0; cut < len(data); cut++ {
		got, err := readAll(t, data[:cut])
		var te *TornError
		if !errors.As(err, &te) || !errors.Is(err, ErrTornTail) {
			t.Fatalf("cut %d: error %v, want a *TornError", cut, err)
		}
		wantN := 0
		end := int64(recHeaderSize)
		for _, c := range full {
			if e := c.Offset + recChunkHeader + int64(c.Len); e <= int64(cut) {
				wantN++
				end = e
			}
		}
		if cut < recHeaderSize {
			end = 0
		}
		if len(got) != wantN || te.Offset != end {
			t.Fatalf("cut %d: %d chunks, torn at %d (%s); want %d chunks, torn at %d", cut, len(got), te.Offset, te.Reason, wantN, end)
		}
		for i := range got {
			if got[i].Offset != full[i].Offset || !bytes.Equal(got[i].Payload, full[i].Payload) {
				t.Fatalf("cut %d: chunk %d differs", cut, i)
			}
		}
	}
}

// TestRecordingCorruption flips every bit of a recording in turn: the
// reader never returns a chunk that differs from the original and stops
// with a TornError (or, in the file header, ErrNotRecording).
func TestRecordingCorruption(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.bcr")
	writeTestRecording(t, path, 3, 6)
	data, _ := os.ReadFile(path)
	full, _ := readAll(t, data)
	buf := make([]byte, len(data))
	for bit := 0; bit < 8*len(data); bit++ {
		copy(buf, data)
		buf[bit/8] ^= 1 << (bit % 8)
		got, err := readAll(t, buf)
		if bit/8 < recHeaderSize {
			if !errors.Is(err, ErrNotRecording) {
				t.Fatalf("bit %d in the file header: %v", bit, err)
			}
			continue
		}
		if !errors.Is(err, ErrTornTail) {
			t.Fatalf("bit %d: error %v, want ErrTornTail", bit, err)
		}
		for i := range got {
			if got[i].Type != full[i].Type || !bytes.Equal(got[i].Payload, full[i].Payload) {
				t.Fatalf("bit %d: chunk %d returned damaged", bit, i)
			}
		}
		if n := len(got); n > 0 && got[n-1].Offset+recChunkHeader+int64(got[n-1].Len) > int64(bit/8) {
			t.Fatalf("bit %d (byte %d): chunk at %d covering it was returned", bit, bit/8, got[n-1].Offset)
		}
	}
}

func TestRecordingReaderRejects(t *testing.T) {
	path := filepath.Join(t.TempDir(), "r.bcr")
	writeTestRecording(t, path, 4, 3)
	good, _ := os.ReadFile(path)
	// A chunk with a valid CRC but an inconsistent payload.
	forged := appendRecordingHeader(nil)
	forged = appendRawChunk(forged, ChunkMeta, nil)
	p := make([]byte, recBlockHeader)
	binary.LittleEndian.PutUint32(p[52:], 5) // five data values, none present
	forged = appendRawChunk(forged, ChunkBlock, p)
	wrongEnd := appendRawChunk(appendRawChunk(appendRecordingHeader(nil), ChunkMeta, nil), ChunkEnd, binary.LittleEndian.AppendUint64(nil, 9))
	cases := []struct {
		name string
		data []byte
		is   error
		want string
	}{
		{"empty", nil, ErrTornTail, "empty file"},
		{"not a recording", []byte("0       hello, world"), ErrNotRecording, "magic"},
		{"version", func() []byte {
			b := appendRecordingHeader(nil)
			b[8] = 2
			binary.LittleEndian.PutUint32(b[12:], crc32.Checksum(b[:12], crcCastag))
			return b
		}(), ErrNotRecording, "version 2"},
		{"type", append(slices.Clone(good[:len(good)-20]), 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), ErrTornTail, "invalid chunk type 9"},
		{"length", append(slices.Clone(good[:len(good)-20]), 2, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0), ErrTornTail, "exceeds"},
		{"malformed block", forged, ErrTornTail, "malformed block chunk: 5 data values"},
		{"end count", wrongEnd, ErrTornTail, "counts 9 chunks"},
		{"after end", append(slices.Clone(good), 1), ErrTornTail, "after the end chunk"},
		{"no end", good[:len(good)-20], ErrTornTail, "without an end chunk"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := readAll(t, c.data)
			if !errors.Is(err, c.is) || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "t.bcr") {
				t.Fatalf("error %v, want %v with %q and the file name", err, c.is, c.want)
			}
		})
	}
}

func TestRecorderConfigValidate(t *testing.T) {
	def := DefaultRecorderConfig()
	if err := def.Validate(); err != nil {
		t.Fatal(err)
	}
	bad := RecorderConfig{SyncInterval: -1, BufferBytes: 10, MaxBufferBytes: 5}
	err := bad.Validate()
	for _, w := range []string{"sync_interval: ", "buffer_bytes: ", "max_buffer_bytes: "} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("error %v lacks %q", err, w)
		}
	}
	if _, err := CreateRecording(filepath.Join(t.TempDir(), "x"), nil, bad); err == nil {
		t.Fatal("CreateRecording accepted a bad config")
	}
}

func TestRecorderLifecycle(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "l.bcr")
	cfg := testRecorderConfig()
	cfg.BufferBytes, cfg.MaxBufferBytes = 4096, 8192
	r, err := CreateRecording(path, nil, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := CreateRecording(path, nil, cfg); !errors.Is(err, os.ErrExist) {
		t.Fatalf("second CreateRecording: %v, want os.ErrExist (never overwrite a recording)", err)
	}
	small := recTestBlock(1, 1, 0)
	for range 3 {
		if err := r.AppendBlock(&small); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Sync(); err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(path)
	if s := r.Stats(); r.Synced() != st.Size() || s.Bytes != st.Size() || s.Synced != st.Size() || s.Chunks != 4 || s.Syncs != 1 {
		t.Fatalf("after Sync: synced %d, file %d, stats %+v", r.Synced(), st.Size(), s)
	}
	huge := Block{Frames: 2000, Channels: 2, Rate: 1, Data: make([]float32, 4000)} // 16 kB > max_buffer_bytes
	if err := r.AppendBlock(&huge); err == nil || !strings.Contains(err.Error(), "exceeds max_buffer_bytes") {
		t.Fatalf("oversized append: %v", err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := r.AppendBlock(&small); !errors.Is(err, ErrRecorderClosed) {
		t.Fatalf("append after Close: %v", err)
	}
	if err := r.Sync(); !errors.Is(err, ErrRecorderClosed) {
		t.Fatalf("Sync after Close: %v", err)
	}
	data, _ := os.ReadFile(path)
	got, err := readAll(t, data)
	if err != io.EOF || len(got) != 5 {
		t.Fatalf("%d chunks, %v; want meta, 3 blocks, end", len(got), err)
	}
}

// TestRecorderBehind fills the buffer past max_buffer_bytes while the
// writing goroutine is not running (a disk that does not keep up): the
// append fails with ErrRecorderBehind, is counted, and everything appended
// before it is written once the writer runs.
func TestRecorderBehind(t *testing.T) {
	path := filepath.Join(t.TempDir(), "b.bcr")
	cfg := testRecorderConfig()
	cfg.BufferBytes, cfg.MaxBufferBytes = 4096, 8192
	r, err := createRecorder(path, nil, cfg)
	if err != nil {
		t.Fatal(err)
	}
	big := Block{Frames: 500, Channels: 2, Rate: 1, Data: make([]float32, 1000)} // 4000 bytes of data + 76 of headers
	for i := range 2 {
		if err := r.AppendBlock(&big); err != nil {
			t.Fatalf("append %d: %v", i, err)
		}
	}
	if err := r.AppendBlock(&big); !errors.Is(err, ErrRecorderBehind) {
		t.Fatalf("third append (12 kB > 8 kB): %v, want ErrRecorderBehind", err)
	}
	if s := r.Stats(); s.Rejected != 1 || s.Chunks != 3 || s.Grows != 1 {
		t.Fatalf("stats %+v; want 1 rejected, 3 chunks (meta, 2 blocks), 1 grow past 4 kB", s)
	}
	go r.run()
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	if got, err := readAll(t, data); err != io.EOF || len(got) != 4 {
		t.Fatalf("%d chunks, %v; want meta, 2 blocks, end", len(got), err)
	}
}

// TestRecorderIntervalSync checks that appended chunks become durable
// within the sync interval without any call.
func TestRecorderIntervalSync(t *testing.T) {
	cfg := DefaultRecorderConfig()
	cfg.SyncInterval = 5 * time.Millisecond
	r, err := CreateRecording(filepath.Join(t.TempDir(), "i.bcr"), nil, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	b := recTestBlock(1, 2, 0)
	r.AppendBlock(&b)
	want := r.Stats().Bytes
	deadline := time.Now().Add(5 * time.Second) // generous: the machine is shared
	for r.Synced() < want {
		if time.Now().After(deadline) {
			t.Fatalf("synced %d of %d after 5 s with a 5 ms interval", r.Synced(), want)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestRecorderAppendAllocs(t *testing.T) {
	r, err := CreateRecording(filepath.Join(t.TempDir(), "a.bcr"), nil, testRecorderConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	b := recTestBlock(1, 0, 0)
	cmd := []byte(`{"v":1}`)
	stim := StimEvent{Seq: 1, Pulses: []StimPulse{{Electrode: 1, Count: 1, AmplitudeUA: 10}}}
	allocs := testing.AllocsPerRun(200, func() {
		if err := r.AppendBlock(&b); err != nil {
			t.Fatal(err)
		}
		if err := r.AppendCommand(cmd); err != nil {
			t.Fatal(err)
		}
		if err := r.AppendStim(&stim); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("appends allocate %v times per iteration", allocs)
	}
	if g := r.Stats().Grows; g != 0 {
		t.Fatalf("%d buffer grows", g)
	}
}

func TestRecordingReaderAllocs(t *testing.T) {
	path := filepath.Join(t.TempDir(), "n.bcr")
	r, err := CreateRecording(path, nil, testRecorderConfig())
	if err != nil {
		t.Fatal(err)
	}
	b := recTestBlock(1, 0, 0)
	for range 400 {
		r.AppendBlock(&b)
	}
	r.Close()
	rr, err := OpenRecording(path)
	if err != nil {
		t.Fatal(err)
	}
	defer rr.Close()
	var c Chunk
	for range 10 {
		rr.Next(&c)
	}
	allocs := testing.AllocsPerRun(300, func() {
		if err := rr.Next(&c); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("Next allocates %v times per chunk", allocs)
	}
}

type chunkSummary struct {
	Type    ChunkType
	Offset  int64
	Payload string
	Block   string
}

func summarise(rr *RecordingReader) ([]chunkSummary, string) {
	var out []chunkSummary
	var c Chunk
	for {
		if err := rr.Next(&c); err != nil {
			return out, err.Error()
		}
		out = append(out, chunkSummary{c.Type, c.Offset, string(c.Payload), fmt.Sprint(c.Block, c.Stim)})
	}
}

func FuzzRecordingReader(f *testing.F) {
	path := filepath.Join(f.TempDir(), "f.bcr")
	writeTestRecording(f, path, 5, 8)
	seed, _ := os.ReadFile(path)
	f.Add(seed, len(seed)/2)
	f.Add(seed[:len(seed)-7], 30)
	f.Add(appendRecordingHeader(nil), 3)
	f.Fuzz(func(t *testing.T, b []byte, cut int) {
		var sums [2][]chunkSummary
		var errs [2]string
		for i, r := range []io.Reader{bytes.NewReader(b), halves(b, cut)} {
			rr, err := NewRecordingReader(r, "fuzz.bcr")
			if err != nil {
				errs[i] = err.Error()
				continue
			}
			sums[i], errs[i] = summarise(rr)
		}
		if errs[0] != errs[1] || !reflect.DeepEqual(sums[0], sums[1]) {
			t.Fatalf("whole and split at %d differ: %q vs %q", cut, errs[0], errs[1])
		}
		if errs[0] != io.EOF.Error() && !strings.Contains(errs[0], "torn tail") && !strings.Contains(errs[0], ErrNotRecording.Error()) {
			t.Fatalf("unexpected error %q", errs[0])
		}
	})
}

// BenchmarkRecorderAppendBlock measures what the loop's hot path pays per
// AppendBlock (encoding, CRC, copy, lock) with the writer goroutine
// keeping up: every 512 KiB (half the default buffer) the timer stops
// while Sync writes and fsyncs. The sustained case keeps the timer running through the syncs,
// giving the rate the disk sustains. max-write+fsync-µs is the longest
// write and fsync the writer goroutine saw, the latency kept off the loop.
func BenchmarkRecorderAppendBlock(b *testing.B) {
	blocks := []struct {
		name string
		blk  Block
	}{
		{"spikes=96ch_1ms_truth", Block{Frames: 1, Channels: 96, Rate: 1000, Spikes: make([]Spike, 3), Truth: make([]float64, 4), TruthDims: 4}},
		{"eeg=64ch_16frames", Block{Frames: 16, Channels: 64, Rate: 160, Data: make([]float32, 64*16)}},
	}
	for _, c := range blocks {
		for _, sustained := range []bool{false, true} {
			b.Run(fmt.Sprintf("%s/sustained=%v", c.name, sustained), func(b *testing.B) {
				r, err := CreateRecording(filepath.Join(b.TempDir(), "b.bcr"), nil, DefaultRecorderConfig())
				if err != nil {
					b.Fatal(err)
				}
				b.ReportAllocs()
				blk := c.blk
				size := recChunkHeader + recBlockHeader + 4*len(blk.Data) + 12*len(blk.Spikes) + 8*len(blk.Truth)
				b.SetBytes(int64(size))
				every := (512 << 10) / size
				i := 0
				for b.Loop() {
					if err := r.AppendBlock(&blk); err != nil {
						b.Fatal(err)
					}
					if i++; i%every == 0 {
						if !sustained {
							b.StopTimer()
						}
						if err := r.Sync(); err != nil {
							b.Fatal(err)
						}
						if !sustained {
							b.StartTimer()
						}
					}
				}
				b.StopTimer()
				if err := r.Close(); err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(float64(r.Stats().MaxSync.Microseconds()), "max-write+fsync-µs")
			})
		}
	}
}
