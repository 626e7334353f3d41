package acquire

// Spike is one spike event or threshold crossing. It is pointer-free so that
// large slices of spikes cost the garbage collector nothing to scan.
type Spike struct {
	Sample  int64  // frame index on the stream's sample clock
	Channel uint16 // electrode or channel index, 0-based
	Unit    uint8  // sorted unit on that channel; 0 when unsorted
}

// Block is a run of consecutive frames from one stream, with the spike events
// that fall inside it.
//
// Ownership: a Block and its slices belong to whoever holds it. A Source fills
// a caller-owned Block, reusing (and growing only when needed) its slices, and
// must not keep a reference to it after Read returns. Consumers must not keep
// references to Data, Spikes or Truth beyond the next Read into the same Block.
type Block struct {
	Seq      uint64    // +1 per block from the source; a gap means a drop upstream
	Start    int64     // sample index of the first frame since stream start
	Frames   int       // frames in this block (Data may be empty for spike-only streams)
	Rate     float64   // frames per second
	Channels int       // channels per frame, and the channel count of Spikes
	Data     []float32 // frame-major samples in µV: Data[f*Channels+c]; len Frames*Channels, or 0
	Spikes   []Spike   // events inside [Start, Start+Frames), sorted by Sample
	Dropped  uint64    // frames the source knows it lost just before this block (device counter gaps)

	// Truth is optional ground truth for evaluation and calibration (the
	// synthetic brain fills it; recordings may): frame-major, TruthDims values
	// per frame, len Frames*TruthDims, or 0.
	Truth     []float64
	TruthDims int

	// Arrived is the monotonic time (Now) at which the newest sample of the
	// block reached the process. It is carried through every later stage for
	// latency measurement.
	Arrived int64
}

// End returns the sample index one past the last frame of b.
func (b *Block) End() int64 { return b.Start + int64(b.Frames) }

// Reset empties b, keeping the capacity of its slices.
func (b *Block) Reset() {
	*b = Block{Data: b.Data[:0], Spikes: b.Spikes[:0], Truth: b.Truth[:0]}
}

// CopyTo copies b into dst, reusing dst's slices where they are large enough.
func (b *Block) CopyTo(dst *Block) {
	data, spikes, truth := dst.Data, dst.Spikes, dst.Truth
	*dst = *b
	dst.Data = append(data[:0], b.Data...)
	dst.Spikes = append(spikes[:0], b.Spikes...)
	dst.Truth = append(truth[:0], b.Truth...)
}
