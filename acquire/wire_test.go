package acquire

import (
	"bytes"
	"errors"
	"testing"
)

func wireTestBlock() *Block {
	return &Block{
		Seq: 7, Start: 1000, Frames: 20, Rate: 1000, Channels: 96, Arrived: 123456789,
		Spikes: []Spike{{Sample: 1000, Channel: 3}, {Sample: 1005, Channel: 95, Unit: 2}, {Sample: 1019, Channel: 0, Unit: 1}},
	}
}

func TestSpikesMessageRoundTrip(t *testing.T) {
	b := wireTestBlock()
	msg := AppendSpikesMessage(nil, b)
	if got, want := len(msg), WireHeaderSize+3*wireSpikeSize; got != want {
		t.Fatalf("message length %d, want %d", got, want)
	}
	var out Block
	if err := DecodeSpikesMessage(&out, msg); err != nil {
		t.Fatal(err)
	}
	if out.Seq != b.Seq || out.Start != b.Start || out.Frames != b.Frames || out.Rate != b.Rate ||
		out.Channels != b.Channels || out.Arrived != b.Arrived || len(out.Spikes) != len(b.Spikes) {
		t.Fatalf("decoded %+v, want %+v", out, *b)
	}
	for i := range b.Spikes {
		if out.Spikes[i] != b.Spikes[i] {
			t.Errorf("spike %d: %+v, want %+v", i, out.Spikes[i], b.Spikes[i])
		}
	}
}

// TestSpikesMessageLayout pins the documented byte layout (README) so that a
// change to the encoder cannot silently break clients in other languages.
func TestSpikesMessageLayout(t *testing.T) {
	b := &Block{Seq: 1, Start: 2, Frames: 3, Rate: 1000, Channels: 4, Arrived: 5, Spikes: []Spike{{Sample: 3, Channel: 1, Unit: 2}}}
	want := []byte{
		'B', 'L', 1, 1, 1, 0, 0, 0, // magic, version, type, count
		1, 0, 0, 0, 0, 0, 0, 0, // seq
		2, 0, 0, 0, 0, 0, 0, 0, // start
		3, 0, 0, 0, 4, 0, 0, 0, // frames, channels, reserved
		0, 0, 0, 0, 0, 0x40, 0x8f, 0x40, // 1000.0
		5, 0, 0, 0, 0, 0, 0, 0, // arrived
		3, 0, 0, 0, 0, 0, 0, 0, 1, 0, 2, 0, // spike
	}
	if got := AppendSpikesMessage(nil, b); !bytes.Equal(got, want) {
		t.Fatalf("layout\n got %v\nwant %v", got, want)
	}
}

func TestDecodeSpikesMessageRejects(t *testing.T) {
	good := AppendSpikesMessage(nil, wireTestBlock())
	mut := func(f func(m []byte) []byte) []byte { return f(append([]byte(nil), good...)) }
	cases := []struct {
		name string
		msg  []byte
	}{
		{"short", good[:10]},
		{"magic", mut(func(m []byte) []byte { m[0] = 'X'; return m })},
		{"version", mut(func(m []byte) []byte { m[2] = 9; return m })},
		{"type", mut(func(m []byte) []byte { m[3] = WireBins; return m })},
		{"truncated payload", good[:len(good)-1]},
		{"extra payload", append(append([]byte(nil), good...), 0)},
		{"zero rate", mut(func(m []byte) []byte { copy(m[32:40], make([]byte, 8)); return m })},
		{"sample outside block", mut(func(m []byte) []byte { m[WireHeaderSize] = 0; m[WireHeaderSize+1] = 0; return m })},
		{"channel out of range", mut(func(m []byte) []byte { m[WireHeaderSize+8] = 200; return m })},
		{"unsorted", mut(func(m []byte) []byte { m[WireHeaderSize] = 0xF2; return m })}, // first spike at 1010, after the second at 1005
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var b Block
			err := DecodeSpikesMessage(&b, c.msg)
			if !errors.Is(err, ErrWire) {
				t.Fatalf("err = %v, want ErrWire", err)
			}
			if len(b.Spikes) != 0 || b.Frames != 0 {
				t.Fatalf("block not left empty after error: %+v", b)
			}
		})
	}
}

func TestAppendSpikesMessageAllocs(t *testing.T) {
	b := wireTestBlock()
	buf := make([]byte, 0, 1024)
	if n := testing.AllocsPerRun(100, func() { buf = AppendSpikesMessage(buf[:0], b) }); n != 0 {
		t.Fatalf("AppendSpikesMessage allocates %v per call", n)
	}
	var out Block
	_ = DecodeSpikesMessage(&out, buf)
	if n := testing.AllocsPerRun(100, func() { _ = DecodeSpikesMessage(&out, buf) }); n != 0 {
		t.Fatalf("DecodeSpikesMessage allocates %v per call", n)
	}
}

// FuzzDecodeSpikesMessage feeds arbitrary bytes to the decoder: it must not
// panic, and whatever it accepts must re-encode to the same values.
func FuzzDecodeSpikesMessage(f *testing.F) {
	f.Add(AppendSpikesMessage(nil, wireTestBlock()))
	f.Add(AppendSpikesMessage(nil, &Block{Rate: 250, Channels: 1, Frames: 1}))
	f.Add([]byte("BL\x01\x01"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, msg []byte) {
		var b Block
		if err := DecodeSpikesMessage(&b, msg); err != nil {
			return
		}
		// Reserved bytes are ignored by readers, so compare decoded values.
		var again Block
		if err := DecodeSpikesMessage(&again, AppendSpikesMessage(nil, &b)); err != nil {
			t.Fatalf("re-encoded message rejected: %v", err)
		}
		if again.Seq != b.Seq || again.Start != b.Start || again.Frames != b.Frames || again.Channels != b.Channels ||
			again.Rate != b.Rate || again.Arrived != b.Arrived || len(again.Spikes) != len(b.Spikes) {
			t.Fatalf("accepted message does not round-trip: %+v vs %+v", again, b)
		}
		for i := range b.Spikes {
			if again.Spikes[i] != b.Spikes[i] {
				t.Fatalf("spike %d: %+v vs %+v", i, again.Spikes[i], b.Spikes[i])
			}
		}
	})
}
