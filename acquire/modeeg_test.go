package acquire

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// modeegPkt builds a P2 packet by the layout in modeeg-p2.c: A5 5A 02,
// counter, 6 × (high, low), switches.
func modeegPkt(cnt byte, ch [6]uint16, sw byte) []byte {
	p := []byte{0xA5, 0x5A, 0x02, cnt}
	for _, v := range ch {
		p = append(p, byte(v>>8), byte(v))
	}
	return append(p, sw)
}

func modeegParseAll(p *ModEEGParser, in []byte) []ModEEGFrame {
	var out []ModEEGFrame
	for len(in) > 0 {
		var n int
		out, n = p.Parse(slices.Grow(out, 4), in)
		in = in[n:]
	}
	return out
}

func modeegStream(seed uint64, start byte, n int) ([]byte, [][6]uint16) {
	r := rand.New(rand.NewPCG(seed, 2))
	var in []byte
	var sent [][6]uint16
	for k := range n {
		var ch [6]uint16
		for i := range ch {
			ch[i] = uint16(r.IntN(1024))
		}
		if k == 2 {
			ch[1] = 0x0A5 // a sync byte inside the data
		}
		in = append(in, modeegPkt(start+byte(k), ch, byte(k&0xF))...)
		sent = append(sent, ch)
	}
	return in, sent
}

func TestModEEGDecode(t *testing.T) {
	p := NewModEEGParser(0.5)
	fr := modeegParseAll(p, modeegPkt(7, [6]uint16{0, 512, 1023, 513, 511, 0x2A5}, 0x0B))
	if len(fr) != 1 {
		t.Fatalf("got %d frames", len(fr))
	}
	f := fr[0]
	if f.Counter != 7 || f.Switches != 0x0B || f.Counts != [6]uint16{0, 512, 1023, 513, 511, 0x2A5} {
		t.Fatalf("frame %+v", f)
	}
	// (count − 512) × 0.5 µV
	if want := [6]float32{-256, 0, 255.5, 0.5, -0.5, 82.5}; f.Microvolts != want {
		t.Fatalf("µV %v, want %v", f.Microvolts, want)
	}
}

func TestModEEGResync(t *testing.T) {
	good, sent := modeegStream(1, 254, 6) // counters 254, 255, 0, … : wraps
	pk := func(i int) []byte { return good[17*i : 17*i+17] }
	bad := slices.Clone(pk(2))
	bad[6] = 0x07 // a high byte above 3
	for _, c := range []struct {
		name    string
		in      []byte
		frames  []int
		dropped []uint32
	}{
		{"clean with wrap", good, []int{0, 1, 2, 3, 4, 5}, []uint32{0, 0, 0, 0, 0, 0}},
		{"garbage and false sync first", slices.Concat([]byte{0x00, 0xA5, 0x5A, 0x02, 0xA5, 0x11}, good), []int{0, 1, 2, 3, 4, 5}, []uint32{0, 0, 0, 0, 0, 0}},
		{"dropped", slices.Concat(pk(0), pk(1), pk(4), pk(5)), []int{0, 1, 4, 5}, []uint32{0, 0, 2, 0}},
		{"corrupt", slices.Concat(pk(0), pk(1), bad, pk(3), pk(4), pk(5)), []int{0, 1, 3, 4, 5}, []uint32{0, 0, 1, 0, 0}},
		{"byte lost", slices.Concat(pk(0), pk(1)[:9], pk(1)[10:], pk(2), pk(3), pk(4), pk(5)), []int{0, 2, 3, 4, 5}, []uint32{0, 1, 0, 0, 0}},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := NewModEEGParser(1)
			fr := modeegParseAll(p, c.in)
			if len(fr) != len(c.frames) {
				t.Fatalf("got %d frames, want %d (%+v)", len(fr), len(c.frames), p.Stats())
			}
			for i, f := range fr {
				if f.Counts != sent[c.frames[i]] || f.Dropped != c.dropped[i] {
					t.Errorf("frame %d: %v dropped %d; want packet %d %v dropped %d", i, f.Counts, f.Dropped, c.frames[i], sent[c.frames[i]], c.dropped[i])
				}
			}
		})
	}
}

func TestModEEGParseAllocs(t *testing.T) {
	in, _ := modeegStream(2, 0, 64)
	p := NewModEEGParser(1)
	dst := make([]ModEEGFrame, 0, 64)
	if a := testing.AllocsPerRun(100, func() { dst, _ = p.Parse(dst[:0], in) }); a != 0 {
		t.Fatalf("Parse allocates %v times per call", a)
	}
}

func FuzzModEEGParse(f *testing.F) {
	in, _ := modeegStream(3, 250, 8)
	f.Add(in, uint16(40))
	f.Add(slices.Concat([]byte{0xA5, 0x5A, 0x02, 0xA5}, in[3:]), uint16(3))
	f.Fuzz(func(t *testing.T, in []byte, cut uint16) {
		whole := modeegParseAll(NewModEEGParser(1), in)
		c := int(cut) % (len(in) + 1)
		p := NewModEEGParser(1)
		halves := slices.Concat(modeegParseAll(p, in[:c]), modeegParseAll(p, in[c:]))
		if !slices.Equal(whole, halves) {
			t.Fatalf("whole gives %d frames, halves at %d give %d", len(whole), c, len(halves))
		}
		if len(whole) > len(in)/ModEEGPacketSize {
			t.Fatalf("%d frames from %d bytes", len(whole), len(in))
		}
	})
}
