package acquire

import (
	"bytes"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// cytonPkt builds one Cyton packet by the layout of "Cyton Data Format"
// (docs.openbci.com): header 0xA0, counter, 8 × 24-bit big-endian channels,
// 6 aux bytes, footer.
func cytonPkt(cnt byte, ch [8]int32, aux [6]byte, footer byte) []byte {
	p := []byte{0xA0, cnt}
	for _, v := range ch {
		p = append(p, byte(v>>16), byte(v>>8), byte(v))
	}
	p = append(p, aux[:]...)
	return append(p, footer)
}

func cytonParseAll(p *CytonParser, in []byte) []CytonFrame {
	var out []CytonFrame
	for len(in) > 0 {
		var n int
		out, n = p.Parse(slices.Grow(out, 8), in)
		in = in[n:]
	}
	return out
}

func TestCytonDecode(t *testing.T) {
	// Full scale and edge counts; µV per count at gain 24 is
	// 4.5 V / 24 / (2²³ − 1) = 0.02235 µV (SCIENCE.md §7).
	ch := [8]int32{0x7FFFFF, -0x800000, -1, 1, 0, 1000, -1000, 0x123456}
	aux := [6]byte{0x00, 0x10, 0xFF, 0xF0, 0x10, 0x00} // accel 16, −16, 4096 counts
	in := slices.Concat(cytonPkt(5, ch, aux, 0xC0), cytonPkt(6, ch, [6]byte{}, 0xC0))
	p := NewCytonParser(false, nil)
	fr := cytonParseAll(p, in)
	// The first packet is confirmed by the second's header; the second is
	// then in lock and needs no confirmation.
	if len(fr) != 2 {
		t.Fatalf("got %d frames from 2 packets, want 2", len(fr))
	}
	f := fr[0]
	if f.Counter != 5 || f.Dropped != 0 || f.Footer != 0xC0 {
		t.Fatalf("counter %d dropped %d footer %#x", f.Counter, f.Dropped, f.Footer)
	}
	for i, want := range ch {
		if f.Counts[i] != want {
			t.Errorf("channel %d: count %d, want %d", i, f.Counts[i], want)
		}
		uv := float64(want) * 4.5e6 / 24 / (1<<23 - 1)
		if math.Abs(float64(f.Microvolts[i])-uv) > 1e-6*math.Max(1, math.Abs(uv)) {
			t.Errorf("channel %d: %v µV, want %v", i, f.Microvolts[i], uv)
		}
	}
	if got := float64(NewCytonParser(false, nil).scale[0]); math.Abs(got-0.02235) > 0.00001 {
		t.Errorf("scale at gain 24 is %v µV/count, want 0.02235", got)
	}
	// Accelerometer: 0.002/16 g per count (OpenBCI, BrainFlow).
	if !f.HasAccel || f.Accel != [3]float32{16 * 0.002 / 16, -16 * 0.002 / 16, 4096 * 0.002 / 16} {
		t.Errorf("accel %v (has %v)", f.Accel, f.HasAccel)
	}
}

func TestCytonGains(t *testing.T) {
	gains := []int{1, 2, 4, 6, 8, 12, 24, 24}
	p := NewCytonParser(false, gains)
	ch := [8]int32{1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000}
	in := slices.Concat(cytonPkt(0, ch, [6]byte{}, 0xC1), cytonPkt(1, ch, [6]byte{}, 0xC1), []byte{0xA0})
	fr := cytonParseAll(p, in)
	if len(fr) != 2 {
		t.Fatalf("got %d frames, want 2", len(fr))
	}
	for i, g := range gains {
		want := 1000 * 4.5e6 / float64(g) / (1<<23 - 1)
		if math.Abs(float64(fr[0].Microvolts[i])-want) > 1e-3 {
			t.Errorf("channel %d at gain %d: %v µV, want %v", i, g, fr[0].Microvolts[i], want)
		}
	}
	if fr[0].HasAccel {
		t.Error("footer 0xC1 (raw aux) reported an accelerometer reading")
	}
}

func TestCytonChannelCommand(t *testing.T) {
	for _, c := range []struct {
		ch, gain int
		want     string
	}{{0, 24, "x1060110X"}, {7, 1, "x8000110X"}, {8, 12, "xQ050110X"}, {15, 2, "xI010110X"}} {
		got, err := CytonChannelCommand(c.ch, c.gain)
		if err != nil || string(got) != c.want {
			t.Errorf("CytonChannelCommand(%d, %d) = %q, %v; want %q", c.ch, c.gain, got, err, c.want)
		}
	}
	for _, c := range [][2]int{{16, 24}, {-1, 24}, {0, 3}} {
		if _, err := CytonChannelCommand(c[0], c[1]); err == nil {
			t.Errorf("CytonChannelCommand(%d, %d) accepted", c[0], c[1])
		}
	}
}

// cytonStream returns packets with counters from start, values seeded.
func cytonStream(seed uint64, start byte, n int, skip func(k int) bool) ([]byte, [][8]int32) {
	r := rand.New(rand.NewPCG(seed, 1))
	var in []byte
	var sent [][8]int32
	for k := range n {
		var ch [8]int32
		for i := range ch {
			ch[i] = int32(r.Uint32()>>8) - 1<<23
		}
		if skip != nil && skip(k) {
			continue
		}
		in = append(in, cytonPkt(start+byte(k), ch, [6]byte{}, 0xC0)...)
		sent = append(sent, ch)
	}
	return in, sent
}

func TestCytonResync(t *testing.T) {
	good, sent := cytonStream(1, 0, 6, nil)
	pk := func(i int) []byte { return good[33*i : 33*i+33] }
	for _, c := range []struct {
		name    string
		in      []byte
		frames  []int // indices into sent
		dropped []uint32
		bad     bool
	}{
		{"clean", good, []int{0, 1, 2, 3, 4, 5}, []uint32{0, 0, 0, 0, 0, 0}, false},
		{"garbage first", slices.Concat([]byte{0x00, 0xA0, 0x13, 0xC0, 0xA0}, good), []int{0, 1, 2, 3, 4, 5}, []uint32{0, 0, 0, 0, 0, 0}, true},
		{"dropped packet", slices.Concat(pk(0), pk(1), pk(3), pk(4), pk(5)), []int{0, 1, 3, 4, 5}, []uint32{0, 0, 1, 0, 0}, false},
		{"corrupt footer", slices.Concat(pk(0), pk(1), pk(2)[:32], []byte{0x00}, pk(3), pk(4), pk(5)), []int{0, 1, 3, 4, 5}, []uint32{0, 0, 1, 0, 0}, true},
		{"byte lost", slices.Concat(pk(0), pk(1), pk(2)[:20], pk(2)[21:], pk(3), pk(4), pk(5)), []int{0, 1, 3, 4, 5}, []uint32{0, 0, 1, 0, 0}, true},
		{"byte added", slices.Concat(pk(0), pk(1)[:5], []byte{0xA0}, pk(1)[5:], pk(2), pk(3), pk(4), pk(5)), []int{0, 2, 3, 4, 5}, []uint32{0, 1, 0, 0, 0}, true},
		{"bytes inserted", slices.Concat(pk(0), pk(1), []byte{0xA0, 0x09}, pk(2), pk(3), pk(4), pk(5)), []int{0, 1, 2, 3, 4, 5}, []uint32{0, 0, 0, 0, 0, 0}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := NewCytonParser(false, nil)
			fr := cytonParseAll(p, c.in)
			// The last packet needs no confirmation once in lock.
			if len(fr) != len(c.frames) {
				t.Fatalf("got %d frames, want %d: %+v", len(fr), len(c.frames), p.Stats())
			}
			for i, f := range fr {
				want := sent[c.frames[i]]
				if !slices.Equal(f.Counts[:8], want[:]) {
					t.Errorf("frame %d: counts %v, want packet %d's %v (an invented sample)", i, f.Counts[:8], c.frames[i], want)
				}
				if f.Dropped != c.dropped[i] {
					t.Errorf("frame %d: dropped %d, want %d", i, f.Dropped, c.dropped[i])
				}
			}
			if st := p.Stats(); (st.Bad+st.Skipped > 0) != c.bad || st.Bytes != uint64(len(c.in)) {
				t.Errorf("stats %+v: bad or skipped bytes expected %v, bytes %d", st, c.bad, len(c.in))
			}
		})
	}
}

// TestCytonFalseHeader starts a stream inside a packet whose data holds
// 0xA0 with a footer-like byte (the next counter, 0xC0) 32 bytes later: a
// parser without confirmation would lock onto it and invent a frame.
func TestCytonFalseHeader(t *testing.T) {
	hdr := [8]int32{0xA01234 - 1<<24, 5, 6, 7, 8, 9, 10, 11}
	p0 := cytonPkt(0xBF, hdr, [6]byte{}, 0xC0)
	p1 := cytonPkt(0xC0, [8]int32{1, 2, 3, 4, 5, 6, 7, 8}, [6]byte{}, 0xC0)
	p2 := cytonPkt(0xC1, [8]int32{9, 9, 9, 9, 9, 9, 9, 9}, [6]byte{}, 0xC0)
	p := NewCytonParser(false, nil)
	fr := cytonParseAll(p, slices.Concat(p0[1:], p1, p2))
	if len(fr) != 2 || fr[0].Counter != 0xC0 || fr[1].Counter != 0xC1 || fr[0].Counts[0] != 1 {
		t.Fatalf("frames %+v, want the packets with counters 0xC0 and 0xC1", fr)
	}
	if st := p.Stats(); st.Bad != 1 {
		t.Fatalf("stats %+v: want the false header rejected once", st)
	}
}

func TestCytonCounterWrap(t *testing.T) {
	in, _ := cytonStream(2, 250, 12, func(k int) bool { return k == 9 }) // counters 250 … 255, 0 … 5, 3 (k=9) lost
	fr := cytonParseAll(NewCytonParser(false, nil), in)
	var gaps []uint32
	for _, f := range fr {
		gaps = append(gaps, f.Dropped)
	}
	want := []uint32{0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0}
	if !slices.Equal(gaps, want) {
		t.Fatalf("gaps across the wrap %v, want %v", gaps, want)
	}
	if fr[6].Counter != 0 {
		t.Fatalf("counter after 255 is %d", fr[6].Counter)
	}
}

func TestCytonDaisy(t *testing.T) {
	var in []byte
	var frames [][16]int32
	r := rand.New(rand.NewPCG(3, 1))
	for f := range 8 {
		var ch [16]int32
		for i := range ch {
			ch[i] = int32(r.Uint32()>>8) - 1<<23
		}
		frames = append(frames, ch)
		even := cytonPkt(byte(2*f+252), [8]int32(ch[8:]), [6]byte{}, 0xC0) // counters 252, 254, 0, 2, …: wraps
		odd := cytonPkt(byte(2*f+253), [8]int32(ch[:8]), [6]byte{}, 0xC0)
		switch f {
		case 3: // the even (Daisy) half is lost: frame 3 must not appear
			in = append(in, odd...)
		case 5: // the odd (board) half is lost
			in = append(in, even...)
		default:
			in = append(in, slices.Concat(even, odd)...)
		}
	}
	p := NewCytonParser(true, nil)
	fr := cytonParseAll(p, in)
	wantIdx := []int{0, 1, 2, 4, 6, 7}
	wantDrop := []uint32{0, 0, 0, 1, 1, 0}
	if len(fr) != len(wantIdx) {
		t.Fatalf("got %d frames, want %d", len(fr), len(wantIdx))
	}
	for i, f := range fr {
		if f.Counts != frames[wantIdx[i]] || f.Dropped != wantDrop[i] {
			t.Errorf("frame %d: counts %v dropped %d; want frame %d %v dropped %d", i, f.Counts, f.Dropped, wantIdx[i], frames[wantIdx[i]], wantDrop[i])
		}
	}
	if p.Rate() != 125 || p.Channels() != 16 || p.CounterModulus() != 128 {
		t.Fatalf("rate %v channels %d modulus %d", p.Rate(), p.Channels(), p.CounterModulus())
	}
	if st := p.Stats(); st.Bad != 2 || st.Dropped != 2 {
		t.Fatalf("stats %+v: want 2 unpaired halves and 2 dropped frames", st)
	}
}

// TestCytonChunking feeds a faulty stream split at every offset and with a
// destination of room 1, and wants the frames of the whole.
func TestCytonChunking(t *testing.T) {
	in, _ := cytonStream(4, 0, 6, func(k int) bool { return k == 2 })
	in = slices.Concat([]byte{0xA0, 0x01, 0xC0}, in[:40], []byte{0x55}, in[40:])
	whole := cytonParseAll(NewCytonParser(false, nil), in)
	for cut := range len(in) + 1 {
		p := NewCytonParser(false, nil)
		got := slices.Concat(cytonParseAll(p, in[:cut]), cytonParseAll(p, in[cut:]))
		if !slices.Equal(got, whole) {
			t.Fatalf("split at %d: %d frames, whole gives %d", cut, len(got), len(whole))
		}
	}
	p := NewCytonParser(false, nil)
	var got []CytonFrame
	for rest := in; len(rest) > 0; {
		var one []CytonFrame
		one, n := p.Parse(make([]CytonFrame, 0, 1), rest)
		got = append(got, one...)
		rest = rest[n:]
	}
	if !slices.Equal(got, whole) {
		t.Fatalf("room 1: %d frames, whole gives %d", len(got), len(whole))
	}
	if _, n := p.Parse(nil, in); n != 0 {
		t.Fatalf("Parse with no room consumed %d bytes", n)
	}
}

func TestCytonParseAllocs(t *testing.T) {
	in, _ := cytonStream(5, 0, 64, nil)
	p := NewCytonParser(false, nil)
	dst := make([]CytonFrame, 0, 64)
	allocs := testing.AllocsPerRun(100, func() { dst, _ = p.Parse(dst[:0], in) })
	if allocs != 0 {
		t.Fatalf("Parse allocates %v times per call", allocs)
	}
}

func FuzzCytonParse(f *testing.F) {
	in, _ := cytonStream(6, 250, 8, func(k int) bool { return k == 4 })
	f.Add(in, uint16(100), false)
	f.Add(slices.Concat([]byte{0xA0, 0xA0, 0xC0}, in[5:], []byte{0xA0}), uint16(7), true)
	f.Add(bytes.Repeat([]byte{0xA0}, 70), uint16(33), true)
	f.Fuzz(func(t *testing.T, in []byte, cut uint16, daisy bool) {
		whole := cytonParseAll(NewCytonParser(daisy, nil), in)
		c := int(cut) % (len(in) + 1)
		p := NewCytonParser(daisy, nil)
		halves := slices.Concat(cytonParseAll(p, in[:c]), cytonParseAll(p, in[c:]))
		if !slices.Equal(whole, halves) {
			t.Fatalf("whole gives %d frames, halves at %d give %d", len(whole), c, len(halves))
		}
		if max := len(in) / CytonPacketSize; len(whole) > max {
			t.Fatalf("%d frames from %d bytes", len(whole), len(in))
		}
		for _, fr := range whole {
			for _, v := range fr.Microvolts {
				if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
					t.Fatalf("non-finite sample %v", v)
				}
			}
		}
	})
}

func BenchmarkCytonParse(b *testing.B) {
	in, _ := cytonStream(7, 0, 1024, nil)
	p := NewCytonParser(false, nil)
	dst := make([]CytonFrame, 0, 1024)
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		dst, _ = p.Parse(dst[:0], in)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*1024), "ns/packet")
}
