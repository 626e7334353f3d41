package acquire

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// spikerFrame encodes samples as the SpikerBox does (BYB USB guide): 7 high
// bits then 7 low bits per channel, the top bit set on the frame's first
// byte only.
func spikerFrame(v ...int) []byte {
	var b []byte
	for i, x := range v {
		hi := byte(x >> 7)
		if i == 0 {
			hi |= 0x80
		}
		b = append(b, hi, byte(x&0x7F))
	}
	return b
}

func spikerMsg(m string) []byte {
	return slices.Concat([]byte{0xFF, 0xFF, 0x01, 0x01, 0x80, 0xFF}, []byte(m), []byte{0xFF, 0xFF, 0x01, 0x01, 0x81, 0xFF})
}

func spikerParseAll(p *SpikerBoxParser, in []byte) []SpikerBoxFrame {
	var out []SpikerBoxFrame
	for len(in) > 0 {
		var n int
		out, n = p.Parse(slices.Grow(out, 4), in)
		in = in[n:]
	}
	return out
}

func spikerCfg(ch, bits int) SpikerBoxConfig {
	return SpikerBoxConfig{Channels: ch, Bits: bits, ScaleUV: 1}
}

func counts(fr []SpikerBoxFrame, ch int) [][]int16 {
	var out [][]int16
	for _, f := range fr {
		out = append(out, slices.Clone(f.Counts[:ch]))
	}
	return out
}

func TestSpikerBoxDecode(t *testing.T) {
	c := SpikerBoxConfig{Channels: 2, Bits: 10, ScaleUV: 2}
	in := slices.Concat(spikerFrame(0, 1023), spikerMsg("EVNT:4;"), spikerFrame(512, 600), spikerMsg("FWV:1.0;HWT:MUSCLEUSBPRO;HWV:1.0;"), spikerFrame(513, 511))
	p := NewSpikerBoxParser(c)
	fr := spikerParseAll(p, in)
	want := [][]int16{{-512, 511}, {0, 88}, {1, -1}}
	if got := counts(fr, 2); !slices.EqualFunc(got, want, slices.Equal) {
		t.Fatalf("counts %v, want %v", got, want)
	}
	if fr[1].Event != 4 || fr[0].Event != 0 || fr[2].Event != 0 {
		t.Fatalf("events %d %d %d, want 0 4 0", fr[0].Event, fr[1].Event, fr[2].Event)
	}
	if fr[0].Microvolts[1] != 1022 {
		t.Fatalf("µV %v, want 511 × 2", fr[0].Microvolts[1])
	}
	if string(p.LastMessage()) != "FWV:1.0;HWT:MUSCLEUSBPRO;HWV:1.0;" || p.Messages() != 2 {
		t.Fatalf("last message %q of %d", p.LastMessage(), p.Messages())
	}
	// 14-bit boards are centred on 8192.
	fr = spikerParseAll(NewSpikerBoxParser(spikerCfg(1, 14)), slices.Concat(spikerFrame(16383), spikerFrame(0)))
	if got := counts(fr, 1); !slices.EqualFunc(got, [][]int16{{8191}, {-8192}}, slices.Equal) {
		t.Fatalf("14-bit counts %v", got)
	}
}

func TestSpikerBoxResync(t *testing.T) {
	f := func(v ...int) []byte { return spikerFrame(v...) }
	broken := f(100, 200)
	broken[1] |= 0x80
	for _, c := range []struct {
		name string
		ch   int
		in   []byte
		want [][]int16
		bad  uint64
	}{
		{"start mid-frame", 2, slices.Concat(f(1, 2)[1:], f(3, 4), f(5, 6)), [][]int16{{3 - 512, 4 - 512}, {5 - 512, 6 - 512}}, 0},
		{"broken frame", 2, slices.Concat(f(1, 2), broken, f(5, 6)), [][]int16{{1 - 512, 2 - 512}, {5 - 512, 6 - 512}}, 2},
		{"byte lost", 2, slices.Concat(f(1, 2), f(3, 4)[:3], f(5, 6)), [][]int16{{1 - 512, 2 - 512}, {5 - 512, 6 - 512}}, 1},
		{"one channel, byte lost", 1, slices.Concat(f(1), f(2)[:1], f(3)), [][]int16{{1 - 512}, {3 - 512}}, 1},
		{"message with frame-start bytes", 1, slices.Concat(f(1), spikerMsg("\x80\xff\x81A"), f(2)), [][]int16{{1 - 512}, {2 - 512}}, 0},
		{"partial escape then data", 1, slices.Concat(f(1), []byte{0xFF, 0xFF, 0x01}, f(2)), [][]int16{{1 - 512}, {2 - 512}}, 2},
		{"overlong message", 1, slices.Concat(f(1), []byte{0xFF, 0xFF, 0x01, 0x01, 0x80, 0xFF}, make([]byte, 70), f(2)), [][]int16{{1 - 512}, {2 - 512}}, 1},
		{"14-bit value with 0xFF first byte", 1, nil, nil, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			bits := 10
			if c.in == nil { // 0xFF 0x7F is the sample 16383 of a 14-bit board
				bits, c.in, c.want = 14, slices.Concat(f(16383), f(16383), f(5)), [][]int16{{8191}, {8191}, {5 - 8192}}
			}
			p := NewSpikerBoxParser(spikerCfg(c.ch, bits))
			got := counts(spikerParseAll(p, c.in), c.ch)
			if !slices.EqualFunc(got, c.want, slices.Equal) {
				t.Fatalf("counts %v, want %v (%+v)", got, c.want, p.Stats())
			}
			if st := p.Stats(); st.Bad != c.bad {
				t.Fatalf("bad %d, want %d (%+v)", st.Bad, c.bad, st)
			}
		})
	}
}

func spikerStream(seed uint64, ch, n int) []byte {
	r := rand.New(rand.NewPCG(seed, 4))
	var in []byte
	for k := range n {
		v := make([]int, ch)
		for i := range v {
			v[i] = r.IntN(1024)
		}
		in = append(in, spikerFrame(v...)...)
		if k%17 == 5 {
			in = append(in, spikerMsg("EVNT:2;")...)
		}
	}
	return in
}

func TestSpikerBoxChunking(t *testing.T) {
	in := spikerStream(1, 2, 40)
	in = slices.Concat([]byte{0x05, 0xFF, 0xFF, 0x01}, in[:31], []byte{0x81}, in[31:])
	whole := spikerParseAll(NewSpikerBoxParser(spikerCfg(2, 10)), in)
	for cut := range len(in) + 1 {
		p := NewSpikerBoxParser(spikerCfg(2, 10))
		got := slices.Concat(spikerParseAll(p, in[:cut]), spikerParseAll(p, in[cut:]))
		if !slices.Equal(got, whole) {
			t.Fatalf("split at %d: %d frames, whole gives %d", cut, len(got), len(whole))
		}
	}
	p := NewSpikerBoxParser(spikerCfg(2, 10))
	var got []SpikerBoxFrame
	for rest := in; len(rest) > 0; {
		one, n := p.Parse(make([]SpikerBoxFrame, 0, 1), rest)
		got = append(got, one...)
		rest = rest[n:]
	}
	if !slices.Equal(got, whole) {
		t.Fatalf("room 1: %d frames, whole gives %d", len(got), len(whole))
	}
}

func TestSpikerBoxParseAllocs(t *testing.T) {
	in := spikerStream(2, 2, 64)
	p := NewSpikerBoxParser(spikerCfg(2, 10))
	dst := make([]SpikerBoxFrame, 0, 64)
	if a := testing.AllocsPerRun(100, func() { dst, _ = p.Parse(dst[:0], in) }); a != 0 {
		t.Fatalf("Parse allocates %v times per call", a)
	}
}

func FuzzSpikerBoxParse(f *testing.F) {
	f.Add(spikerStream(3, 2, 20), uint16(9), uint8(2))
	f.Add(slices.Concat(spikerMsg("EVNT:7;"), spikerStream(4, 1, 10), []byte{0xFF, 0xFF, 0x01, 0x01, 0x80}), uint16(50), uint8(1))
	f.Fuzz(func(t *testing.T, in []byte, cut uint16, ch uint8) {
		cfg := spikerCfg(1+int(ch)%SpikerBoxMaxCh, 10)
		whole := spikerParseAll(NewSpikerBoxParser(cfg), in)
		c := int(cut) % (len(in) + 1)
		p := NewSpikerBoxParser(cfg)
		halves := slices.Concat(spikerParseAll(p, in[:c]), spikerParseAll(p, in[c:]))
		if !slices.Equal(whole, halves) {
			t.Fatalf("whole gives %d frames, halves at %d give %d", len(whole), c, len(halves))
		}
		if len(whole) > len(in)/(2*cfg.Channels) {
			t.Fatalf("%d frames from %d bytes", len(whole), len(in))
		}
	})
}

func BenchmarkSpikerBoxParse(b *testing.B) {
	for _, ch := range []int{1, 2} {
		b.Run("channels="+string(rune('0'+ch)), func(b *testing.B) {
			in := spikerStream(5, ch, 16384/ch)
			p := NewSpikerBoxParser(spikerCfg(ch, 10))
			dst := make([]SpikerBoxFrame, 0, 16384)
			b.SetBytes(int64(len(in)))
			b.ReportAllocs()
			for b.Loop() {
				dst, _ = p.Parse(dst[:0], in)
			}
		})
	}
}
