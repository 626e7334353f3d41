package decode

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/bciloop/bciloop/acquire"
)

// SpikeBinnerConfig configures a SpikeBinner.
type SpikeBinnerConfig struct {
	// Width is the bin duration; at the stream's rate it must be a whole
	// number of frames (see Frames).
	Width time.Duration `yaml:"width"`
}

// DefaultSpikeBinnerConfig returns 20 ms bins: shorter than the 50–70 ms
// bins of offline motor decoding studies (Wu et al. 2006 used 70 ms, Gilja et
// al. 2012 50 ms), trading noisier counts for lower closed-loop latency.
func DefaultSpikeBinnerConfig() SpikeBinnerConfig {
	return SpikeBinnerConfig{Width: 20 * time.Millisecond}
}

// Validate reports every problem of c at once, each as "key: message".
func (c *SpikeBinnerConfig) Validate() error {
	if c.Width <= 0 {
		return fmt.Errorf("width: must be > 0, got %v", c.Width)
	}
	return nil
}

// Frames returns the bin width in frames at rate frames per second. It is an
// error unless Width is a whole number of frames (to within 1e-6 frame) and
// at least one frame: binning never silently rounds the requested width.
func (c *SpikeBinnerConfig) Frames(rate float64) (int, error) {
	if err := c.Validate(); err != nil {
		return 0, err
	}
	if !(rate > 0) || math.IsInf(rate, 0) {
		return 0, fmt.Errorf("width: cannot convert to frames at rate %g Hz", rate)
	}
	f := c.Width.Seconds() * rate
	n := math.Round(f)
	if n < 1 || math.Abs(f-n) > 1e-6 || n > math.MaxInt32 {
		return 0, fmt.Errorf("width: %v is %.6g frames at %g Hz, not a whole number ≥ 1; use a multiple of %v",
			c.Width, f, rate, time.Duration(math.Round(1e9/rate)))
	}
	return int(n), nil
}

// SpikeBinner is the Binner of spike streams: it counts spike events per
// channel (all sorted units of a channel summed) over consecutive bins of a
// fixed number of frames. The binned rate estimate of Dayan & Abbott (2001,
// eq. 1.4), r_i = n_i/Δt, is Counts[i]·Rate/Width.
//
// Bins are aligned to sample 0 of the stream: bin k covers the frames
// [k·width, (k+1)·width). A bin is emitted once the stream has passed its
// last frame; its Truth is the mean of the blocks' ground truth over its
// observed frames, its Arrived the stamp of the block that completed it (or
// revealed the gap that ended it), and Seq counts emitted bins from 0.
//
// Blocks may have any size: a block of one frame completes at most one bin, a
// long block may complete many, which wait in a small internal ring until
// Next takes them (the ring grows only while warming up to the largest burst
// seen, so Add and Next do not allocate in steady state).
//
// Add rejects, with an error and without accounting anything, a block whose
// channel count differs from the binner's, whose rate, or number of truth
// dimensions, differs from the first block's, whose Truth has the wrong
// length, that carries a spike on a channel out of range or outside the
// block's frames, or that starts before the end of the previous block. A block
// that starts after the end of the previous one (a gap: frames were lost
// upstream, as Block.Dropped reports, or blocks were dropped by a real-time
// queue) is accepted and the gap counted (Gaps). Nothing is silently lost or
// shifted: the bins on either side of the gap keep their place on the sample
// clock and are emitted with Bin.Lost set to the frames of theirs that were
// not seen (their counts cover only the observed frames), and bins lying
// wholly inside the gap are not emitted but reported in Bin.Missed of the next
// bin emitted, so that a decoder can advance its state across them (see
// Predictor and Bin.Observed for how the loop uses partial bins). The first
// block of a stream that starts mid-bin skips to the next boundary, without
// counting a gap.
//
// Concurrency: a SpikeBinner is used by one goroutine at a time.
type SpikeBinner struct {
	channels int
	width    int

	started   bool
	truthDims int
	rate      float64
	next      int64 // Start expected of the next block
	from      int64 // frames before this sample are not binned (stream start)
	nextBin   int64 // index of the next bin to complete (the open one, if any)
	missed    int   // bins wholly inside the last gap, for the next bin opened

	// Ring of bins. Slot s holds counts[s*channels:], truth[s*truthDims:],
	// start[s], arrived[s], observed[s] and missedBefore[s]. The done completed bins occupy the slots
	// head, head+1, …; the open (partly filled) bin, if openFrames > 0, is in
	// the slot after them.
	counts     []float64
	truth      []float64
	start      []int64
	arrived    []int64
	observed   []int
	missedB    []int
	head, done int
	openFrames int
	seq        uint64
	gaps       uint64
}

var _ Binner = (*SpikeBinner)(nil)

// initialBinSlots is the ring size allocated by NewSpikeBinner: enough for
// blocks up to three bins long without growing.
const initialBinSlots = 4

// NewSpikeBinner returns a binner over channels channels with bins of width
// frames.
func NewSpikeBinner(channels, width int) (*SpikeBinner, error) {
	var errs []error
	if channels <= 0 {
		errs = append(errs, fmt.Errorf("channels: must be > 0, got %d", channels))
	}
	if channels > math.MaxUint16+1 {
		errs = append(errs, fmt.Errorf("channels: must be ≤ %d (Spike.Channel is a uint16), got %d", math.MaxUint16+1, channels))
	}
	if width <= 0 {
		errs = append(errs, fmt.Errorf("width: must be > 0 frames, got %d", width))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("spike binner: %w", err)
	}
	s := &SpikeBinner{channels: channels, width: width}
	s.resize(initialBinSlots)
	return s, nil
}

// Channels returns the channel count of the stream.
func (s *SpikeBinner) Channels() int { return s.channels }

// Width returns the bin width in frames.
func (s *SpikeBinner) Width() int { return s.width }

// Gaps returns how many discontinuities (blocks starting after the end of the
// previous block) the binner has seen since it was created or Reset.
func (s *SpikeBinner) Gaps() uint64 { return s.gaps }

// Pending returns the number of completed bins waiting for Next.
func (s *SpikeBinner) Pending() int { return s.done }

// Reset forgets the stream, keeping the ring's capacity: the next block
// starts a new stream (its rate and truth dimensions are learnt afresh), Seq
// restarts at 0 and the gap count at 0.
func (s *SpikeBinner) Reset() {
	s.started = false
	s.truthDims = 0
	s.rate = 0
	s.next, s.from, s.nextBin, s.missed = 0, 0, 0, 0
	s.head, s.done, s.openFrames = 0, 0, 0
	s.seq, s.gaps = 0, 0
}

func (s *SpikeBinner) slots() int { return len(s.start) }

// resize reallocates the ring to n slots (n ≥ the slots in use), keeping the
// completed bins and the open bin in order from slot 0.
func (s *SpikeBinner) resize(n int) {
	used := s.done + 1 // the open slot is kept whether or not it is filled
	counts := make([]float64, n*s.channels)
	truth := make([]float64, n*s.truthDims)
	start := make([]int64, n)
	arrived := make([]int64, n)
	observed := make([]int, n)
	missedB := make([]int, n)
	if old := s.slots(); old > 0 {
		for i := 0; i < used && i < old; i++ {
			from := (s.head + i) % old
			copy(counts[i*s.channels:(i+1)*s.channels], s.counts[from*s.channels:(from+1)*s.channels])
			if s.truthDims > 0 {
				copy(truth[i*s.truthDims:(i+1)*s.truthDims], s.truth[from*s.truthDims:(from+1)*s.truthDims])
			}
			start[i], arrived[i] = s.start[from], s.arrived[from]
			observed[i], missedB[i] = s.observed[from], s.missedB[from]
		}
	}
	s.counts, s.truth, s.start, s.arrived = counts, truth, start, arrived
	s.observed, s.missedB = observed, missedB
	s.head = 0
}

// check validates b against the stream without changing anything.
func (s *SpikeBinner) check(b *acquire.Block) error {
	var errs []error
	if b.Channels != s.channels {
		errs = append(errs, fmt.Errorf("channels = %d, want %d", b.Channels, s.channels))
	}
	if b.Frames < 0 {
		errs = append(errs, fmt.Errorf("frames = %d, must be ≥ 0", b.Frames))
	}
	if b.Start < 0 {
		errs = append(errs, fmt.Errorf("start = %d, must be ≥ 0", b.Start))
	}
	if b.TruthDims < 0 {
		errs = append(errs, fmt.Errorf("truth dims = %d, must be ≥ 0", b.TruthDims))
	} else if b.Frames >= 0 && len(b.Truth) != b.Frames*b.TruthDims {
		errs = append(errs, fmt.Errorf("len(truth) = %d, want frames × truth dims = %d × %d", len(b.Truth), b.Frames, b.TruthDims))
	}
	if s.started {
		if b.TruthDims != s.truthDims {
			errs = append(errs, fmt.Errorf("truth dims changed from %d to %d", s.truthDims, b.TruthDims))
		}
		if b.Rate != s.rate {
			errs = append(errs, fmt.Errorf("rate changed from %g to %g", s.rate, b.Rate))
		}
		if b.Start < s.next {
			errs = append(errs, fmt.Errorf("start = %d overlaps the previous block, which ended at %d", b.Start, s.next))
		}
	}
	end := b.Start + int64(b.Frames)
	for i := range b.Spikes {
		sp := &b.Spikes[i]
		if int(sp.Channel) >= s.channels {
			errs = append(errs, fmt.Errorf("spikes[%d]: channel %d out of range [0, %d)", i, sp.Channel, s.channels))
			break
		}
		if sp.Sample < b.Start || sp.Sample >= end {
			errs = append(errs, fmt.Errorf("spikes[%d]: sample %d outside the block's frames [%d, %d)", i, sp.Sample, b.Start, end))
			break
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("spike binner: block seq %d: %w", b.Seq, errors.Join(errs...))
	}
	return nil
}

// Add accounts the spikes and ground truth of one block. See SpikeBinner for
// what it rejects.
func (s *SpikeBinner) Add(b *acquire.Block) error {
	if err := s.check(b); err != nil {
		return err
	}
	w := int64(s.width)
	end := b.Start + int64(b.Frames)
	if !s.started {
		s.started = true
		s.rate = b.Rate
		if b.TruthDims != s.truthDims {
			// A new stream: the ring is empty, so only the truth sums
			// change shape.
			s.truthDims = b.TruthDims
			s.truth = make([]float64, s.slots()*s.truthDims)
		}
		s.from = ceilMul(b.Start, w)
		s.nextBin = s.from / w
	} else if b.Start > s.next {
		s.gaps++
		if kb := b.Start / w; b.Start >= s.from && kb > s.nextBin {
			if s.openFrames > 0 {
				// The open bin ends inside the gap: emit it partial.
				s.arrived[s.slot(0)] = b.Arrived
				s.done++
				s.openFrames = 0
				s.nextBin++
			}
			s.missed += int(kb - s.nextBin)
			s.nextBin = kb
		}
		s.from = max(s.from, b.Start)
	}
	s.next = end

	lo := max(b.Start, s.from) // first frame to bin
	if lo >= end {
		return nil
	}
	k0 := lo / w
	k1 := (end - 1) / w
	touched := int(k1-k0) + 1
	if need := s.done + touched; need > s.slots() {
		n := 2 * s.slots()
		for n < need {
			n *= 2
		}
		s.resize(n)
	}
	// Clear the slots this block opens; the first is already open (and
	// partly filled) when openFrames > 0.
	first := 0
	if s.openFrames > 0 {
		first = 1
	}
	for j := first; j < touched; j++ {
		slot := s.slot(j)
		clear(s.counts[slot*s.channels : (slot+1)*s.channels])
		if s.truthDims > 0 {
			clear(s.truth[slot*s.truthDims : (slot+1)*s.truthDims])
		}
		s.start[slot] = (k0 + int64(j)) * w
		s.observed[slot], s.missedB[slot] = 0, 0
		if j == first {
			s.missedB[slot], s.missed = s.missed, 0
		}
	}
	for j := 0; j < touched; j++ {
		f0 := max(lo, (k0+int64(j))*w)
		f1 := min(end, (k0+int64(j)+1)*w)
		s.observed[s.slot(j)] += int(f1 - f0)
	}

	for i := range b.Spikes {
		sp := &b.Spikes[i]
		if sp.Sample < lo {
			continue
		}
		slot := s.slot(int(sp.Sample/w - k0))
		s.counts[slot*s.channels+int(sp.Channel)]++
	}

	if td := s.truthDims; td > 0 {
		for j := 0; j < touched; j++ {
			slot := s.slot(j)
			acc := s.truth[slot*td : (slot+1)*td]
			f0 := max(lo, (k0+int64(j))*w)
			f1 := min(end, (k0+int64(j)+1)*w)
			for f := f0; f < f1; f++ {
				row := b.Truth[int(f-b.Start)*td : int(f-b.Start+1)*td]
				for d, v := range row {
					acc[d] += v
				}
			}
		}
	}

	// Bins whose last frame is in this block are complete.
	for j := 0; j < touched; j++ {
		if (k0+int64(j)+1)*w > end {
			break
		}
		s.arrived[s.slot(0)] = b.Arrived
		s.done++
		s.nextBin++
		s.openFrames = 0
	}
	if end%w != 0 {
		s.openFrames = int(end - max(lo, k1*w))
	}
	return nil
}

// slot returns the ring slot of the j-th bin from the open one.
func (s *SpikeBinner) slot(j int) int { return (s.head + s.done + j) % s.slots() }

// Next moves the oldest completed bin into dst, reusing dst's slices, and
// reports whether there was one.
func (s *SpikeBinner) Next(dst *Bin) bool {
	if s.done == 0 {
		return false
	}
	slot := s.head
	dst.Seq = s.seq
	dst.Start = s.start[slot]
	dst.Width = s.width
	dst.Rate = s.rate
	dst.Arrived = s.arrived[slot]
	dst.Lost = s.width - s.observed[slot]
	dst.Missed = s.missedB[slot]
	dst.Counts = grow(dst.Counts, s.channels)
	copy(dst.Counts, s.counts[slot*s.channels:(slot+1)*s.channels])
	dst.Truth = grow(dst.Truth, s.truthDims)
	if td := s.truthDims; td > 0 {
		w := float64(s.observed[slot])
		for d, v := range s.truth[slot*td : (slot+1)*td] {
			dst.Truth[d] = v / w
		}
	}
	s.seq++
	s.head = (s.head + 1) % s.slots()
	s.done--
	return true
}

// ceilMul returns the smallest multiple of w that is ≥ x (x ≥ 0, w > 0).
func ceilMul(x, w int64) int64 { return (x + w - 1) / w * w }
