package acquire

import (
	"errors"
	"math"
	"slices"
	"testing"
)

func rawBlock() *Block {
	return &Block{Seq: 7, Start: 1000, Frames: 3, Rate: 250, Channels: 2, Arrived: 123456789,
		Data: []float32{1.5, -2.25, 0, 1e6, -0.02235, 3}}
}

func TestRawMessageRoundTrip(t *testing.T) {
	b := rawBlock()
	msg := AppendRawMessage(nil, b)
	if len(msg) != WireHeaderSize+4*6 || msg[3] != WireRaw {
		t.Fatalf("message of %d bytes, type %d", len(msg), msg[3])
	}
	// Layout check by hand: the first sample, 1.5, is float32 0x3FC00000
	// little-endian at offset 48 (IEEE 754).
	if !slices.Equal(msg[48:52], []byte{0x00, 0x00, 0xC0, 0x3F}) {
		t.Fatalf("first sample bytes % x", msg[48:52])
	}
	var got Block
	if err := DecodeRawMessage(&got, msg); err != nil {
		t.Fatal(err)
	}
	if got.Seq != b.Seq || got.Start != b.Start || got.Frames != b.Frames || got.Channels != b.Channels ||
		got.Rate != b.Rate || got.Arrived != b.Arrived || !slices.Equal(got.Data, b.Data) {
		t.Fatalf("decoded %+v, want %+v", got, *b)
	}
	dst := make([]byte, 0, 256)
	if a := testing.AllocsPerRun(100, func() { dst = AppendRawMessage(dst[:0], b) }); a != 0 {
		t.Fatalf("AppendRawMessage allocates %v times", a)
	}
	if a := testing.AllocsPerRun(100, func() { _ = DecodeRawMessage(&got, msg) }); a != 0 {
		t.Fatalf("DecodeRawMessage allocates %v times into a warm block", a)
	}
}

func TestRawMessageErrors(t *testing.T) {
	good := AppendRawMessage(nil, rawBlock())
	mod := func(f func(m []byte) []byte) []byte { return f(slices.Clone(good)) }
	nan := mod(func(m []byte) []byte { copy(m[52:], []byte{0, 0, 0xC0, 0x7F}); return m })
	for _, c := range []struct {
		name string
		msg  []byte
	}{
		{"short", good[:20]},
		{"spikes type", mod(func(m []byte) []byte { m[3] = WireSpikes; return m })},
		{"count not frames×channels", mod(func(m []byte) []byte { m[4] = 5; return m })},
		{"truncated payload", good[:len(good)-1]},
		{"zero rate", mod(func(m []byte) []byte { clear(m[32:40]); return m })},
		{"NaN sample", nan},
		{"no channels", AppendRawMessage(nil, &Block{Frames: 1, Rate: 1})},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := rawBlock()
			if err := DecodeRawMessage(b, c.msg); !errors.Is(err, ErrWire) {
				t.Fatalf("err = %v, want ErrWire", err)
			}
			if b.Frames != 0 || len(b.Data) != 0 {
				t.Fatalf("block not left empty: %+v", b)
			}
		})
	}
}

func FuzzDecodeRawMessage(f *testing.F) {
	f.Add(AppendRawMessage(nil, rawBlock()))
	f.Add(AppendRawMessage(nil, &Block{Frames: 1, Channels: 1, Rate: 1, Data: []float32{float32(math.Inf(1))}}))
	f.Fuzz(func(t *testing.T, msg []byte) {
		var b Block
		if err := DecodeRawMessage(&b, msg); err != nil {
			return
		}
		if len(b.Data) != b.Frames*b.Channels {
			t.Fatalf("decoded %d samples for %d×%d", len(b.Data), b.Frames, b.Channels)
		}
		var again Block
		if err := DecodeRawMessage(&again, AppendRawMessage(nil, &b)); err != nil || !slices.Equal(again.Data, b.Data) ||
			again.Start != b.Start || again.Seq != b.Seq || again.Rate != b.Rate {
			t.Fatalf("re-encoded message decodes to %+v, %v; want %+v", again, err, b)
		}
	})
}
