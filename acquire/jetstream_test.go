package acquire

import (
	"errors"
	"io"
	"path/filepath"
	"testing"
)

func sessionTestBlock() *Block {
	return &Block{Seq: 7, Start: 140, Frames: 2, Rate: 1000, Channels: 3, Arrived: 5000,
		Data:   []float32{1, 2, 3, 4, 5, 6},
		Spikes: []Spike{{Sample: 140, Channel: 2, Unit: 1}},
		Truth:  []float64{0.5, -0.5, 0.25, -0.25}, TruthDims: 2, Dropped: 3}
}

// TestChunkRoundTrip encodes each session chunk type and parses it back;
// any flipped bit, a cut, or a foreign type is reported as ErrBadChunk.
func TestChunkRoundTrip(t *testing.T) {
	var e ChunkEncoder
	blk := sessionTestBlock()
	stim := &StimEvent{Seq: 2, Sample: 150, Arrived: 5100, Outcome: StimClipped, Pulses: []StimPulse{{Electrode: 4, Count: 1, AmplitudeUA: 20, PhaseUS: 200, GapUS: 50, FreqHz: 100}}}
	cases := []struct {
		name  string
		msg   []byte
		check func(*Chunk) bool
	}{
		{"block", e.AppendBlock(nil, blk), func(c *Chunk) bool {
			return c.Type == ChunkBlock && c.Block.Seq == 7 && c.Block.Arrived == 0 && len(c.Block.Data) == 6 && c.Block.Spikes[0].Channel == 2 && c.Block.Truth[3] == -0.25 && c.Block.Dropped == 3
		}},
		{"command", e.AppendCommand(nil, 6000, []byte(`{"seq":1}`)), func(c *Chunk) bool {
			return c.Type == ChunkCommand && c.Time == 1000 && string(c.Payload) == `{"seq":1}`
		}},
		{"stim", e.AppendStim(nil, 6500, stim), func(c *Chunk) bool {
			return c.Type == ChunkStim && c.Time == 1500 && c.Stim.Arrived == 100 && c.Stim.Outcome == StimClipped && c.Stim.Pulses[0].AmplitudeUA == 20
		}},
		{"bins", AppendChunk(nil, ChunkBins, []byte("BL..")), func(c *Chunk) bool { return c.Type == ChunkBins && string(c.Payload) == "BL.." }},
		{"params", AppendChunk(nil, ChunkParams, []byte{1, 0, 0, 0, 0, 0, 0, 0, '{', '}'}), func(c *Chunk) bool { return c.Type == ChunkParams }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var c Chunk
			if err := ParseChunk(tc.msg, &c); err != nil || !tc.check(&c) {
				t.Fatalf("parse: %v, %+v", err, c)
			}
			for i := range tc.msg {
				bad := append([]byte(nil), tc.msg...)
				bad[i] ^= 0x10
				if err := ParseChunk(bad, &c); !errors.Is(err, ErrBadChunk) {
					t.Fatalf("byte %d flipped: %v", i, err)
				}
			}
			if err := ParseChunk(tc.msg[:len(tc.msg)-1], &c); !errors.Is(err, ErrBadChunk) {
				t.Fatalf("cut: %v", err)
			}
		})
	}
	var c Chunk
	if err := ParseChunk(AppendChunk(nil, ChunkEnd, make([]byte, 8)), &c); !errors.Is(err, ErrBadChunk) {
		t.Fatalf("end chunk accepted in a session: %v", err)
	}
	if err := ParseChunk(AppendChunk(nil, ChunkParams, []byte{1, 2}), &c); !errors.Is(err, ErrBadChunk) {
		t.Fatalf("short params accepted: %v", err)
	}
}

// TestChunkEncoderAllocs: encoding into a buffer with room does not allocate.
func TestChunkEncoderAllocs(t *testing.T) {
	var e ChunkEncoder
	blk := sessionTestBlock()
	buf := make([]byte, 0, 4096)
	allocs := testing.AllocsPerRun(100, func() {
		b := e.AppendBlock(buf[:0], blk)
		b = e.AppendCommand(b, 7000, []byte(`{"seq":2}`))
		_ = AppendChunk(b, ChunkBins, []byte("bins"))
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per encode", allocs)
	}
}

// TestRecordingWriter writes session chunks to a recording file that the
// recording reader reads back whole; session-only chunks are refused.
func TestRecordingWriter(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.bcl")
	w, err := CreateRecordingWriter(path, []byte(`{"truth":["x","y"]}`))
	if err != nil {
		t.Fatal(err)
	}
	var e ChunkEncoder
	for _, m := range [][]byte{e.AppendBlock(nil, sessionTestBlock()), e.AppendCommand(nil, 6000, []byte(`{}`))} {
		if err := w.WriteChunk(m); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.WriteChunk(AppendChunk(nil, ChunkCursor, []byte(`{}`))); err == nil {
		t.Fatal("cursor chunk written to a recording file")
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := CreateRecordingWriter(path, nil); err == nil {
		t.Fatal("existing file overwritten")
	}
	rr, err := OpenRecording(path)
	if err != nil {
		t.Fatal(err)
	}
	defer rr.Close()
	var types []ChunkType
	var c Chunk
	for {
		err := rr.Next(&c)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		types = append(types, c.Type)
	}
	if len(types) != 4 || types[0] != ChunkMeta || types[1] != ChunkBlock || types[2] != ChunkCommand || types[3] != ChunkEnd {
		t.Fatalf("chunks %v", types)
	}
}
