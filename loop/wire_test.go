package loop

import (
	"encoding/json"
	"errors"
	"math"
	"testing"

	"github.com/bciloop/bciloop/acquire"
	"github.com/bciloop/bciloop/decode"
)

func TestCommandEncoding(t *testing.T) {
	e := newCommandEncoder(`rig"x`, "kalman", []string{"px", "vx"})
	est := &decode.Estimate{Seq: 12, Sample: 260, Arrived: 1000, State: []float64{1.5, math.NaN()}}
	msg := e.encode(3, est, 1234)
	var m struct {
		Command
		State map[string]*float64 `json:"state"`
	}
	if err := json.Unmarshal(msg, &m); err != nil {
		t.Fatalf("%s: %v", msg, err)
	}
	if m.V != 1 || m.Rig != `rig"x` || m.Seq != 3 || m.BinSeq != 12 || m.Sample != 260 || m.ArrivedNS != 1000 || m.SentNS != 1234 || m.Decoder != "kalman" {
		t.Fatalf("decoded %+v from %s", m.Command, msg)
	}
	if *m.State["px"] != 1.5 || m.State["vx"] != nil {
		t.Fatalf("state %s: want px 1.5 and vx null (NaN has no JSON form)", msg)
	}
	if n := testing.AllocsPerRun(100, func() { e.encode(4, est, 1) }); n != 0 {
		t.Fatalf("encode allocates %v", n)
	}
}

func TestProbeSize(t *testing.T) {
	var p probeEncoder
	for _, size := range []int{0, 10, 60, 200, 1000} {
		b := p.encode(42, 123456789, size)
		if !json.Valid(b) {
			t.Fatalf("probe %q is not JSON", b)
		}
		if size > 60 && len(b) != size {
			t.Fatalf("probe of %d bytes, want %d", len(b), size)
		}
	}
}

func TestBinsMessage(t *testing.T) {
	in := &decode.Bin{Seq: 9, Start: 180, Width: 20, Rate: 1000, Counts: []float64{0, 2, 5}, Arrived: 55}
	msg := AppendBinsMessage(nil, in)
	if len(msg) != acquire.WireHeaderSize+12 {
		t.Fatalf("length %d", len(msg))
	}
	var out decode.Bin
	if err := DecodeBinsMessage(&out, msg); err != nil {
		t.Fatal(err)
	}
	if out.Seq != 9 || out.Start != 180 || out.Width != 20 || out.Rate != 1000 || out.Arrived != 55 || len(out.Counts) != 3 || out.Counts[2] != 5 {
		t.Fatalf("decoded %+v", out)
	}
	bad := append([]byte(nil), msg...)
	bad[3] = acquire.WireSpikes
	if err := DecodeBinsMessage(&out, bad); !errors.Is(err, acquire.ErrWire) {
		t.Fatalf("spikes type accepted as bins: %v", err)
	}
	if err := DecodeBinsMessage(&out, msg[:len(msg)-2]); !errors.Is(err, acquire.ErrWire) {
		t.Fatalf("truncated bins accepted: %v", err)
	}
	nan := append([]byte(nil), msg...)
	copy(nan[acquire.WireHeaderSize:], []byte{0, 0, 0xc0, 0x7f}) // float32 NaN
	if err := DecodeBinsMessage(&out, nan); !errors.Is(err, acquire.ErrWire) {
		t.Fatalf("NaN count accepted: %v", err)
	}
}

// FuzzDecodeBinsMessage: arbitrary bytes never panic, and an accepted
// message re-encodes to the same values.
func FuzzDecodeBinsMessage(f *testing.F) {
	f.Add(AppendBinsMessage(nil, &decode.Bin{Seq: 1, Width: 20, Rate: 1000, Counts: []float64{1, 2, 3}}))
	f.Add(AppendBinsMessage(nil, &decode.Bin{Rate: 250}))
	f.Add([]byte("BL\x01\x02"))
	f.Fuzz(func(t *testing.T, msg []byte) {
		var b decode.Bin
		if err := DecodeBinsMessage(&b, msg); err != nil {
			return
		}
		var again decode.Bin
		if err := DecodeBinsMessage(&again, AppendBinsMessage(nil, &b)); err != nil {
			t.Fatalf("re-encoded message rejected: %v", err)
		}
		if again.Seq != b.Seq || again.Start != b.Start || again.Width != b.Width || again.Rate != b.Rate || len(again.Counts) != len(b.Counts) {
			t.Fatalf("round trip: %+v vs %+v", again, b)
		}
		for i := range b.Counts {
			if again.Counts[i] != b.Counts[i] {
				t.Fatalf("count %d: %v vs %v", i, again.Counts[i], b.Counts[i])
			}
		}
	})
}
