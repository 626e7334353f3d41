package decode

// Bin is the feature vector of one time bin: spike counts per channel.
//
// Ownership: the holder owns the Bin and its slices; producers fill a
// caller-owned Bin and reuse its slices.
type Bin struct {
	Seq    uint64    // +1 per bin from one Binner
	Start  int64     // sample index of the first frame of the bin
	Width  int       // frames in the bin
	Rate   float64   // frames per second of the underlying stream
	Counts []float64 // events per channel in the bin

	// Truth is the mean ground truth over the bin when the stream carries it
	// (acquire.Block.Truth), else empty.
	Truth []float64

	// Arrived is the arrival stamp (acquire.Now) of the newest block that
	// completed the bin.
	Arrived int64

	// Lost is how many of the bin's Width frames were not observed (lost
	// upstream or dropped by the real-time queue); Counts and Truth cover
	// only the Width−Lost observed frames. Zero for a complete bin.
	Lost int
	// Missed is how many bins, wholly lost, lie between the previous bin
	// emitted and this one (not emitted themselves). See PartialRule.
	Missed int
}

// End returns the sample index one past the last frame of the bin.
func (b *Bin) End() int64 { return b.Start + int64(b.Width) }

// Estimate is a decoder's output for one bin: the posterior mean of its state
// and, where the decoder has one, the posterior covariance.
type Estimate struct {
	Seq     uint64    // Seq of the bin decoded
	Sample  int64     // sample index one past the end of the bin decoded
	Arrived int64     // the bin's arrival stamp, carried on for latency
	State   []float64 // posterior mean
	Cov     []float64 // posterior covariance, row-major len(State)², or empty
}

// Decoder decodes one bin at a time.
//
// Decode writes the estimate for obs into the caller-owned dst, growing
// dst's slices only when they are too small, and must not retain obs or dst.
// After the first call with a given dst it must not allocate. It returns an
// error for a bin of the wrong shape (for example the wrong channel count),
// leaving the decoder's state unchanged.
//
// Reset returns the decoder to its initial state (prior), as at a new trial.
//
// Concurrency: a Decoder is used by one goroutine at a time.
type Decoder interface {
	Decode(dst *Estimate, obs *Bin) error
	Reset()
}

// StateNamer is implemented by decoders that can name the components of
// their state vector (for example "px", "py", "vx", "vy").
type StateNamer interface {
	StateNames() []string
}
