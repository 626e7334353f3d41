package decode

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bciloop/bciloop/acquire"
)

// stream is a synthetic spike stream: every frame's spikes and truth.
type stream struct {
	channels, dims int
	frames         int
	spikes         []acquire.Spike // sorted by sample
	truth          []float64       // frames × dims
}

func newStream(channels, dims, frames int, seed uint64) *stream {
	rng := rand.New(rand.NewPCG(seed, 0x7370))
	s := &stream{channels: channels, dims: dims, frames: frames, truth: make([]float64, frames*dims)}
	for f := 0; f < frames; f++ {
		for c := 0; c < channels; c++ {
			if rng.Float64() < 0.1 {
				s.spikes = append(s.spikes, acquire.Spike{Sample: int64(f), Channel: uint16(c), Unit: uint8(rng.IntN(3))})
			}
		}
		for d := 0; d < dims; d++ {
			s.truth[f*dims+d] = rng.NormFloat64()
		}
	}
	return s
}

// block fills b with frames [start, start+n) of the stream.
func (s *stream) block(b *acquire.Block, seq uint64, start int64, n int) {
	b.Reset()
	b.Seq, b.Start, b.Frames, b.Rate, b.Channels = seq, start, n, 1000, s.channels
	b.TruthDims = s.dims
	b.Truth = append(b.Truth, s.truth[int(start)*s.dims:(int(start)+n)*s.dims]...)
	for _, sp := range s.spikes {
		if sp.Sample >= start && sp.Sample < start+int64(n) {
			b.Spikes = append(b.Spikes, sp)
		}
	}
	b.Arrived = 1_000_000 + int64(seq)
}

// expected computes the bins directly: bin k (from the first bin boundary at
// or after first) is emitted when at least one of its frames was delivered
// and a frame after it was delivered too (the stream passed it), with Lost
// the frames not delivered and Missed the bins before it with none
// delivered; arrived[f] is the stamp of the block that delivered frame f (0:
// not delivered).
func (s *stream) expected(width int, first int64, arrived []int64) []Bin {
	var out []Bin
	missed := 0
	k0 := (int(first) + width - 1) / width
	for k := k0; (k+1)*width <= s.frames; k++ {
		lo, hi := k*width, (k+1)*width
		seen := 0
		for f := lo; f < hi; f++ {
			if arrived[f] != 0 {
				seen++
			}
		}
		after := int64(0) // stamp of the block that passed the bin's end
		for f := hi - 1; f < s.frames && after == 0; f++ {
			after = arrived[f]
		}
		if seen == 0 {
			missed++
			continue
		}
		if after == 0 {
			break // the stream ends inside the bin or in the gap after it
		}
		b := Bin{Seq: uint64(len(out)), Start: int64(lo), Width: width, Rate: 1000, Lost: width - seen, Missed: missed,
			Counts: make([]float64, s.channels), Truth: make([]float64, s.dims), Arrived: after}
		missed = 0
		for _, sp := range s.spikes {
			if sp.Sample >= int64(lo) && sp.Sample < int64(hi) && arrived[sp.Sample] != 0 {
				b.Counts[sp.Channel]++
			}
		}
		for d := 0; d < s.dims; d++ {
			sum := 0.0
			for f := lo; f < hi; f++ {
				if arrived[f] != 0 {
					sum += s.truth[f*s.dims+d]
				}
			}
			b.Truth[d] = sum / float64(seen)
		}
		out = append(out, b)
	}
	return out
}

func equalBins(t *testing.T, got, want []Bin) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d bins, want %d", len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Seq != w.Seq || g.Start != w.Start || g.Width != w.Width || g.Rate != w.Rate || g.Arrived != w.Arrived ||
			g.Lost != w.Lost || g.Missed != w.Missed ||
			!slices.Equal(g.Counts, w.Counts) || !slices.Equal(g.Truth, w.Truth) {
			t.Fatalf("bin %d:\n got %+v\nwant %+v", i, g, w)
		}
	}
}

// drain moves every completed bin out of sb.
func drain(sb *SpikeBinner, out []Bin) []Bin {
	var b Bin
	for sb.Next(&b) {
		out = append(out, Bin{Seq: b.Seq, Start: b.Start, Width: b.Width, Rate: b.Rate,
			Counts: slices.Clone(b.Counts), Truth: slices.Clone(b.Truth), Arrived: b.Arrived, Lost: b.Lost, Missed: b.Missed})
	}
	return out
}

func TestSpikeBinnerMatchesDirectCount(t *testing.T) {
	const channels, dims, frames, width = 6, 2, 1000, 20
	s := newStream(channels, dims, frames, 1)
	tests := []struct {
		name  string
		sizes []int // block sizes, cycled
		first int64 // Start of the first block
		skip  [][2]int64
		lazy  bool // take bins only at the end: the ring grows with a bin open
	}{
		{name: "1 frame", sizes: []int{1}},
		{name: "7 frames", sizes: []int{7}},
		{name: "one bin", sizes: []int{20}},
		{name: "45 frames", sizes: []int{45}},
		{name: "many bins", sizes: []int{333}},
		{name: "whole stream", sizes: []int{1000}},
		{name: "mixed with empty", sizes: []int{3, 0, 17, 1, 0, 59, 20, 2}},
		{name: "starts mid-bin", sizes: []int{9}, first: 13},
		{name: "gaps", sizes: []int{11}, skip: [][2]int64{{105, 131}, {400, 420}, {700, 701}}},
		{name: "gaps across bins", sizes: []int{1}, skip: [][2]int64{{200, 265}, {300, 320}, {339, 341}, {980, 1000}}},
		{name: "gap in the first bin", sizes: []int{5}, first: 3, skip: [][2]int64{{10, 15}, {18, 47}}},
		{name: "lazy 7 frames", sizes: []int{7}, lazy: true},
		{name: "lazy mixed with gaps", sizes: []int{3, 45, 1, 26}, skip: [][2]int64{{300, 333}}, lazy: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sb, err := NewSpikeBinner(channels, width)
			if err != nil {
				t.Fatal(err)
			}
			arrived := make([]int64, frames)
			var got []Bin
			var b acquire.Block
			var seq uint64
			gaps := 0
			for pos, i := tc.first, 0; pos < frames; i++ {
				n := min(tc.sizes[i%len(tc.sizes)], frames-int(pos))
				// Cut the block at a skipped range and jump over it.
				for _, sk := range tc.skip {
					if pos < sk[0] && pos+int64(n) > sk[0] {
						n = int(sk[0] - pos)
					}
					if pos == sk[0] {
						pos, n = sk[1], min(n, frames-int(sk[1]))
						gaps++
					}
				}
				s.block(&b, seq, pos, n)
				if err := sb.Add(&b); err != nil {
					t.Fatalf("block %d: %v", seq, err)
				}
				for f := pos; f < pos+int64(n); f++ {
					arrived[f] = b.Arrived
				}
				if !tc.lazy {
					got = drain(sb, got)
				}
				seq++
				pos += int64(n)
			}
			got = drain(sb, got)
			equalBins(t, got, s.expected(width, tc.first, arrived))
			if sb.Gaps() != uint64(gaps) {
				t.Errorf("Gaps() = %d, want %d", sb.Gaps(), gaps)
			}
		})
	}
}

func TestSpikeBinnerRejects(t *testing.T) {
	const channels, dims, width = 4, 2, 10
	s := newStream(channels, dims, 200, 2)
	tests := []struct {
		name   string
		mutate func(b *acquire.Block)
		want   string
	}{
		{"channels", func(b *acquire.Block) { b.Channels = 5 }, "channels = 5, want 4"},
		{"spike channel", func(b *acquire.Block) {
			b.Spikes = append(b.Spikes, acquire.Spike{Sample: b.Start, Channel: 4})
		}, "channel 4 out of range [0, 4)"},
		{"spike sample", func(b *acquire.Block) {
			b.Spikes = append(b.Spikes, acquire.Spike{Sample: b.End(), Channel: 1})
		}, "outside the block's frames"},
		{"truth dims", func(b *acquire.Block) { b.TruthDims = 1; b.Truth = b.Truth[:b.Frames] }, "truth dims changed from 2 to 1"},
		{"truth length", func(b *acquire.Block) { b.Truth = b.Truth[:len(b.Truth)-1] }, "len(truth) = 13, want frames × truth dims = 7 × 2"},
		{"rate", func(b *acquire.Block) { b.Rate = 2000 }, "rate changed from 1000 to 2000"},
		{"overlap", func(b *acquire.Block) { b.Start -= 3 }, "overlaps the previous block, which ended at"},
		{"negative frames", func(b *acquire.Block) { b.Frames = -1 }, "frames = -1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sb, _ := NewSpikeBinner(channels, width)
			ref, _ := NewSpikeBinner(channels, width)
			var got, want []Bin
			var b acquire.Block
			for i := 0; i < 28; i++ {
				start := int64(i * 7)
				if i == 9 {
					s.block(&b, 999, start, 7)
					tc.mutate(&b)
					err := sb.Add(&b)
					if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "block seq 999") {
						t.Fatalf("err = %v, want it to name block seq 999 and contain %q", err, tc.want)
					}
				}
				s.block(&b, uint64(i), start, 7)
				if err := sb.Add(&b); err != nil {
					t.Fatal(err)
				}
				if err := ref.Add(&b); err != nil {
					t.Fatal(err)
				}
				got, want = drain(sb, got), drain(ref, want)
			}
			// The rejected block was not accounted: the output equals the
			// run without it.
			equalBins(t, got, want)
			if sb.Gaps() != 0 {
				t.Errorf("Gaps() = %d after a rejected block", sb.Gaps())
			}
		})
	}
}

func TestSpikeBinnerNoTruthAndReset(t *testing.T) {
	sb, _ := NewSpikeBinner(2, 5)
	b := acquire.Block{Seq: 1, Start: 0, Frames: 12, Rate: 500, Channels: 2,
		Spikes: []acquire.Spike{{Sample: 1, Channel: 0}, {Sample: 4, Channel: 0, Unit: 2}, {Sample: 7, Channel: 1}}}
	if err := sb.Add(&b); err != nil {
		t.Fatal(err)
	}
	if sb.Pending() != 2 {
		t.Fatalf("Pending() = %d, want 2", sb.Pending())
	}
	bin := Bin{Truth: []float64{9}}
	if !sb.Next(&bin) || bin.Counts[0] != 2 || bin.Counts[1] != 0 || len(bin.Truth) != 0 || bin.Rate != 500 || bin.Width != 5 {
		t.Fatalf("first bin %+v", bin)
	}
	if !sb.Next(&bin) || bin.Seq != 1 || bin.Start != 5 || bin.Counts[1] != 1 {
		t.Fatalf("second bin %+v", bin)
	}
	if sb.Next(&bin) {
		t.Fatal("a third bin")
	}
	// After Reset a new stream may start anywhere with another rate and
	// truth.
	sb.Reset()
	b2 := acquire.Block{Seq: 1, Start: 3, Frames: 7, Rate: 1000, Channels: 2, TruthDims: 1,
		Truth: []float64{1, 2, 3, 4, 5, 6, 7}}
	if err := sb.Add(&b2); err != nil {
		t.Fatal(err)
	}
	// Frames 5..9 carry truth 3..7: mean 5.
	if !sb.Next(&bin) || bin.Seq != 0 || bin.Start != 5 || bin.Truth[0] != 5 || bin.Rate != 1000 {
		t.Fatalf("bin after reset %+v", bin)
	}
	if sb.Channels() != 2 || sb.Width() != 5 {
		t.Fatal("accessors")
	}
}

func TestNewSpikeBinnerErrors(t *testing.T) {
	_, err := NewSpikeBinner(0, -1)
	if err == nil || !strings.Contains(err.Error(), "channels: must be > 0") || !strings.Contains(err.Error(), "width: must be > 0") {
		t.Fatalf("err = %v", err)
	}
	if _, err := NewSpikeBinner(70000, 1); err == nil {
		t.Fatal("70000 channels accepted")
	}
}

// msBlocks returns 1 ms blocks (30 frames at 30 kHz) of a 96-channel
// stream with 4 truth dimensions and about 3 spikes each (30 Hz per channel).
func msBlocks(n int) []acquire.Block {
	rng := rand.New(rand.NewPCG(5, 6))
	blocks := make([]acquire.Block, n)
	for i := range blocks {
		b := &blocks[i]
		b.Seq, b.Start, b.Frames, b.Rate, b.Channels, b.TruthDims = uint64(i), int64(i*30), 30, 30000, 96, 4
		b.Truth = make([]float64, 30*4)
		for k := range b.Truth {
			b.Truth[k] = rng.NormFloat64()
		}
		for f := 0; f < 30; f++ {
			for c := 0; c < 96; c++ {
				if rng.Float64() < 30.0/30000 {
					b.Spikes = append(b.Spikes, acquire.Spike{Sample: b.Start + int64(f), Channel: uint16(c)})
				}
			}
		}
	}
	return blocks
}

func TestSpikeBinnerAllocs(t *testing.T) {
	for _, size := range []int{1, 30, 600, 2400} {
		t.Run(fmt.Sprintf("frames=%d", size), func(t *testing.T) {
			sb, _ := NewSpikeBinner(96, 600)
			b := acquire.Block{Frames: size, Rate: 30000, Channels: 96, TruthDims: 4, Truth: make([]float64, size*4),
				Spikes: []acquire.Spike{{Channel: 3}}}
			var bin Bin
			step := func() {
				b.Spikes[0].Sample = b.Start
				if err := sb.Add(&b); err != nil {
					t.Fatal(err)
				}
				for sb.Next(&bin) {
				}
				b.Start += int64(size)
				b.Seq++
			}
			for i := 0; i < 10; i++ {
				step()
			}
			if a := testing.AllocsPerRun(200, step); a != 0 {
				t.Fatalf("Add+Next allocates %v per block", a)
			}
		})
	}
}

func BenchmarkSpikeBinner(b *testing.B) {
	blocks := msBlocks(1000)
	sb, _ := NewSpikeBinner(96, 600) // 20 ms bins at 30 kHz
	var bin Bin
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		blk := &blocks[i%len(blocks)]
		if i%len(blocks) == 0 && i > 0 {
			sb.Reset()
		}
		if err := sb.Add(blk); err != nil {
			b.Fatal(err)
		}
		for sb.Next(&bin) {
		}
	}
}

func TestSpikeBinnerConfig(t *testing.T) {
	tests := []struct {
		width time.Duration
		rate  float64
		want  int
		err   string
	}{
		{20 * time.Millisecond, 30000, 600, ""},
		{20 * time.Millisecond, 250, 5, ""},
		{20 * time.Millisecond, 256, 0, "width: 20ms is 5.12 frames at 256 Hz, not a whole number ≥ 1; use a multiple of 3.90625ms"},
		{time.Microsecond, 1000, 0, "not a whole number ≥ 1"},
		{0, 1000, 0, "width: must be > 0"},
		{20 * time.Millisecond, 0, 0, "cannot convert to frames at rate 0 Hz"},
	}
	for _, tc := range tests {
		c := SpikeBinnerConfig{Width: tc.width}
		got, err := c.Frames(tc.rate)
		if tc.err == "" {
			if err != nil || got != tc.want {
				t.Errorf("%v at %g Hz: %d, %v; want %d", tc.width, tc.rate, got, err, tc.want)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%v at %g Hz: err = %v, want %q", tc.width, tc.rate, err, tc.err)
		}
	}
	d := DefaultSpikeBinnerConfig()
	if err := d.Validate(); err != nil {
		t.Error(err)
	}
}
