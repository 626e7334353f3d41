package acquire

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// tgPkt frames a payload as the ThinkGear Communications Protocol does:
// AA AA, length, payload, inverted low byte of the payload sum.
func tgPkt(payload ...byte) []byte {
	var sum byte
	for _, c := range payload {
		sum += c
	}
	return slices.Concat([]byte{0xAA, 0xAA, byte(len(payload))}, payload, []byte{^sum})
}

func tgRawPkt(v int16) []byte { return tgPkt(0x80, 0x02, byte(uint16(v)>>8), byte(v)) }

func tgParseAll(p *ThinkGearParser, in []byte) []ThinkGearPacket {
	var out []ThinkGearPacket
	for len(in) > 0 || p.Held() {
		var n int
		out, n = p.Parse(slices.Grow(out, 4), in)
		in = in[n:]
	}
	return out
}

func raws(ps []ThinkGearPacket) []int16 {
	var r []int16
	for _, p := range ps {
		if p.HasRaw {
			r = append(r, p.Raw)
		}
	}
	return r
}

func TestThinkGearDecode(t *testing.T) {
	// An eSense payload as the ThinkGear Communications Protocol lays rows
	// out: POOR_SIGNAL, ATTENTION, MEDITATION, an EXCODE-prefixed 0x86 row
	// to be skipped by its length, ASIC_EEG_POWER and a raw row.
	power := []byte{0x83, 24}
	for i := range 8 {
		power = append(power, 0, byte(i), byte(10*i))
	}
	esense := tgPkt(slices.Concat([]byte{0x02, 0x20, 0x04, 0x1B, 0x05, 0x30, 0x55, 0x86, 0x02, 0x01, 0x02}, power, []byte{0x80, 0x02, 0x80, 0x00})...)
	in := slices.Concat(tgRawPkt(100), tgRawPkt(-2048), esense, tgRawPkt(7), []byte{0xAA, 0xAA}) // the next sync confirms the last
	p := NewThinkGearParser()
	ps := tgParseAll(p, in)
	if got := raws(ps); !slices.Equal(got, []int16{100, -2048, -32768, 7}) {
		t.Fatalf("raw values %v", got)
	}
	e := ps[2]
	if e.Has != ThinkGearPoorSignal|ThinkGearAttention|ThinkGearMeditation|ThinkGearPower || e.PoorSignal != 0x20 || e.Attention != 0x1B || e.Meditation != 0x30 {
		t.Fatalf("eSense %+v", e)
	}
	for i, v := range e.Power {
		if v != uint32(i)<<8|uint32(10*i) {
			t.Fatalf("power %v", e.Power)
		}
	}
	// raw × 1.8/4096/2000 V (TGAM1 spec sheet)
	if want := 100 * 1.8 / 4096 / 2000 * 1e6; math.Abs(float64(ps[0].Microvolts)-want) > 1e-4 {
		t.Fatalf("µV %v, want %v", ps[0].Microvolts, want)
	}
}

func tgStream(seed uint64, n int) ([]byte, []int16) {
	r := rand.New(rand.NewPCG(seed, 3))
	var in []byte
	var sent []int16
	for k := range n {
		v := int16(r.IntN(4096) - 2048)
		if k%3 == 1 {
			v = -0x5556 // 0xAAAA: two sync bytes inside the data
		}
		in = append(in, tgRawPkt(v)...)
		sent = append(sent, v)
	}
	return in, sent
}

func TestThinkGearResync(t *testing.T) {
	good, sent := tgStream(1, 6)
	pk := func(i int) []byte { return good[8*i : 8*i+8] }
	badSum := slices.Clone(pk(2))
	badSum[7] ^= 0x01
	for _, c := range []struct {
		name string
		in   []byte
		want []int
		bad  uint64
	}{
		{"clean", good, []int{0, 1, 2, 3, 4, 5}, 0},
		{"bad checksum", slices.Concat(pk(0), pk(1), badSum, pk(3), pk(4), pk(5)), []int{0, 1, 3, 4, 5}, 1},
		{"start inside a packet", slices.Concat(pk(0)[3:], pk(1), pk(2), pk(3)), []int{1, 2, 3}, 0},
		{"byte lost", slices.Concat(pk(0), pk(1)[:5], pk(1)[6:], pk(2), pk(3), pk(4)), []int{0, 2, 3, 4}, 1},
		{"length too long", slices.Concat(pk(0), []byte{0xAA, 0xAA, 0xF0}, pk(1), pk(2)), []int{0, 1, 2}, 1},
		{"extra sync bytes", slices.Concat(pk(0), []byte{0xAA}, pk(1), pk(2)), []int{0, 1, 2}, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := NewThinkGearParser()
			got := raws(tgParseAll(p, c.in))
			var want []int16
			for _, i := range c.want {
				want = append(want, sent[i])
			}
			// The last packet of an unlocked stream waits for the next sync.
			if !slices.Equal(got, want) && !slices.Equal(got, want[:len(want)-1]) {
				t.Fatalf("raw %v, want %v", got, want)
			}
			if st := p.Stats(); st.Bad < c.bad {
				t.Fatalf("stats %+v: want at least %d rejected", st, c.bad)
			}
		})
	}
}

// TestThinkGearHiddenPacket puts a real packet inside a false candidate
// (a sync inside a raw value with a large length): the replay finds it.
func TestThinkGearHiddenPacket(t *testing.T) {
	in := slices.Concat([]byte{0xAA, 0xAA, 0x20}, tgRawPkt(11), tgRawPkt(22), tgRawPkt(33), tgRawPkt(44), tgRawPkt(55), tgRawPkt(66), []byte{0xAA, 0xAA})
	got := raws(tgParseAll(NewThinkGearParser(), in))
	if !slices.Equal(got, []int16{11, 22, 33, 44, 55, 66}) {
		t.Fatalf("raw %v", got)
	}
}

func TestThinkGearChunking(t *testing.T) {
	in, _ := tgStream(2, 12)
	in = slices.Concat([]byte{0xAA, 0xAA, 0x10, 0x80}, in[:30], []byte{0x13}, in[30:])
	whole := tgParseAll(NewThinkGearParser(), in)
	for cut := range len(in) + 1 {
		p := NewThinkGearParser()
		got := slices.Concat(tgParseAll(p, in[:cut]), tgParseAll(p, in[cut:]))
		if !slices.Equal(got, whole) {
			t.Fatalf("split at %d: %d packets, whole gives %d", cut, len(got), len(whole))
		}
	}
	p := NewThinkGearParser()
	var got []ThinkGearPacket
	for rest := in; len(rest) > 0 || p.Held(); {
		one, n := p.Parse(make([]ThinkGearPacket, 0, 1), rest)
		got = append(got, one...)
		rest = rest[n:]
	}
	if !slices.Equal(got, whole) {
		t.Fatalf("room 1: %d packets, whole gives %d", len(got), len(whole))
	}
}

func TestThinkGearParseAllocs(t *testing.T) {
	in, _ := tgStream(3, 64)
	p := NewThinkGearParser()
	dst := make([]ThinkGearPacket, 0, 64)
	if a := testing.AllocsPerRun(100, func() { dst, _ = p.Parse(dst[:0], in) }); a != 0 {
		t.Fatalf("Parse allocates %v times per call", a)
	}
}

func FuzzThinkGearParse(f *testing.F) {
	in, _ := tgStream(4, 8)
	f.Add(in, uint16(13))
	f.Add(slices.Concat([]byte{0xAA, 0xAA, 0xA9}, in), uint16(70))
	f.Add(slices.Concat([]byte{0xAA, 0xAA, 0x04, 0x80, 0x02, 0xAA, 0xAA}, in), uint16(5))
	f.Fuzz(func(t *testing.T, in []byte, cut uint16) {
		whole := tgParseAll(NewThinkGearParser(), in)
		c := int(cut) % (len(in) + 1)
		p := NewThinkGearParser()
		halves := slices.Concat(tgParseAll(p, in[:c]), tgParseAll(p, in[c:]))
		if !slices.Equal(whole, halves) {
			t.Fatalf("whole gives %d packets, halves at %d give %d", len(whole), c, len(halves))
		}
		if n := len(raws(whole)); n > len(in)/8 {
			t.Fatalf("%d raw samples from %d bytes", n, len(in))
		}
	})
}
