package acquire

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"sync"
	"sync/atomic"
)

// ReplayConfig configures a Replay.
type ReplayConfig struct {
	// BlockFrames is the number of frames per block read from EDF/BDF and
	// OpenBCI CSV files; a recording keeps its own blocks.
	BlockFrames int `yaml:"block_frames"`
	// Realtime paces blocks to the monotonic clock by their sample clock;
	// false replays as fast as the reader reads.
	Realtime bool `yaml:"realtime"`
	// Restamp sets Arrived to Now() when a block is returned, so that
	// latency downstream is the replay's own; by default Arrived keeps the
	// recorded intervals (see Replay), which a recording of the replay
	// reproduces byte for byte.
	Restamp bool `yaml:"restamp"`
	// Signals selects EDF/BDF signals by label, in this order; empty: every
	// ordinary signal.
	Signals []string `yaml:"signals"`
}

// DefaultReplayConfig returns 1-frame blocks, as fast as possible.
func DefaultReplayConfig() ReplayConfig {
	return ReplayConfig{BlockFrames: 1}
}

// Validate reports every problem of c at once, each as "key: message".
func (c *ReplayConfig) Validate() error {
	var errs []error
	if c.BlockFrames < 1 || c.BlockFrames > maxSimBlockFrames {
		errs = append(errs, fmt.Errorf("block_frames: must be in [1, %d], got %d", maxSimBlockFrames, c.BlockFrames))
	}
	seen := map[string]bool{}
	for i, s := range c.Signals {
		s = strings.TrimSpace(s)
		switch {
		case s == "":
			errs = append(errs, fmt.Errorf("signals[%d]: empty label", i))
		case seen[s]:
			errs = append(errs, fmt.Errorf("signals[%d]: %q listed twice", i, s))
		}
		seen[s] = true
	}
	return errors.Join(errs...)
}

// ReplayFormat is the kind of file a Replay reads.
type ReplayFormat uint8

// Replayable file formats.
const (
	ReplayEDF       ReplayFormat = iota + 1 // EDF, EDF+, BDF or BDF+
	ReplayOpenBCI                           // OpenBCI GUI raw CSV
	ReplayRecording                         // bciloop recording
)

func (f ReplayFormat) String() string {
	switch f {
	case ReplayEDF:
		return "EDF/BDF"
	case ReplayOpenBCI:
		return "OpenBCI CSV"
	case ReplayRecording:
		return "bciloop recording"
	}
	return fmt.Sprintf("ReplayFormat(%d)", uint8(f))
}

// DetectReplayFormat tells the format of the file at path from its first
// bytes: a recording's magic, EDF's "0       ", BDF's 0xFF "BIOSEMI", or
// the "%" header of an OpenBCI GUI CSV.
func DetectReplayFormat(path string) (ReplayFormat, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	var h [8]byte
	n, err := io.ReadFull(f, h[:])
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return 0, fmt.Errorf("%s: %w", path, err)
	}
	switch {
	case n == 8 && h == recMagic:
		return ReplayRecording, nil
	case n == 8 && (string(h[:]) == "0       " || (h[0] == 0xFF && string(h[1:]) == "BIOSEMI")):
		return ReplayEDF, nil
	case n >= 1 && h[0] == '%':
		return ReplayOpenBCI, nil
	}
	return 0, fmt.Errorf("%s: unknown format (first bytes %q): want EDF/BDF, an OpenBCI GUI CSV or a bciloop recording", path, h[:n])
}

// Replay is a Source reading a file: an EDF/BDF file, an OpenBCI GUI CSV
// or a bciloop recording. Blocks carry the file's sample clock: EDF and CSV
// blocks start at sample 0 with Seq from 0 (EDF+D gaps between records and
// lost CSV packets become Dropped frames, the block before a gap ending at
// it); a recording's blocks come back exactly as recorded (Seq, Start,
// Dropped, spikes, truth), command, stim and meta chunks skipped.
//
// Arrived. A recording stores arrival stamps relative to its first block;
// for EDF and CSV files, the newest sample of a block arrives
// (End − first Start)/rate after the stream's start. On replay Arrived is
// that relative stamp plus one constant chosen at the first Read, the
// largest that keeps every stamp at or before the moment its block is
// returned: in real time, the first Read's Now plus the smallest lead of
// the sample clock over the stamps (for EDF and CSV exactly the block's
// deadline); as fast as possible, the first Read's Now minus the last
// stamp. Intervals between arrivals are therefore the recorded ones, and a
// recording of a replay is byte-identical to the original. Latency measured
// downstream of a fast replay includes how far the replay ran ahead; set
// Restamp for Now() stamps. (Should the constant put a stamp at or below 0,
// on a machine up for less than the file's duration, the stamp is 1.)
// Finding the constant for a recording takes one pass over the file at
// open.
//
// Real time: block k is due at t0 + (End_k − first Start)/rate, t0 the
// first Read, from absolute deadlines on the monotonic clock as SimSource;
// a late reader gets the due blocks at once, none is skipped.
//
// A recording that ends in a torn tail (a crash) replays every intact block
// and then io.EOF; Torn reports the tail.
//
// Concurrency: Read from one goroutine at a time; Close from any.
type Replay struct {
	cfg    ReplayConfig
	name   string
	format ReplayFormat
	src    replayReader
	meta   []byte
	torn   error

	s0       int64 // sample clock origin: the first block's Start
	minSlack int64 // min over blocks of (sample-clock time − stamp), ns
	maxRel   int64 // largest stamp, ns

	started bool
	t0      int64
	shift   int64
	pending bool
	next    Block
	due     int64

	mu     sync.Mutex // guards src against Close during a read
	closed atomic.Bool
}

// replayReader produces a file's blocks with Arrived as the file-relative
// stamp in ns.
type replayReader interface {
	next(b *Block) error // io.EOF at the end
	close() error
}

// streamNs returns the duration of frames at rate in ns.
func streamNs(frames int64, rate float64) int64 {
	d := math.Round(float64(frames) / rate * 1e9)
	if !(d > math.MinInt64/2 && d < math.MaxInt64/2) { // NaN, or absurd rates from damaged files
		return 0
	}
	return int64(d)
}

// OpenReplay opens the file at path as a Source, detecting its format.
func OpenReplay(path string, cfg ReplayConfig) (*Replay, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("acquire: replay %s: %w", path, err)
	}
	format, err := DetectReplayFormat(path)
	if err != nil {
		return nil, fmt.Errorf("acquire: replay: %w", err)
	}
	switch format {
	case ReplayEDF:
		e, err := OpenEDF(path)
		if err != nil {
			return nil, fmt.Errorf("acquire: replay: %w", err)
		}
		r, err := NewEDFSource(e, cfg)
		if err != nil {
			e.Close()
			return nil, err
		}
		return r, nil
	case ReplayOpenBCI:
		c, err := ReadOpenBCICSV(path)
		if err != nil {
			return nil, fmt.Errorf("acquire: replay: %w", err)
		}
		r, err := NewOpenBCISource(c, cfg)
		if err != nil {
			return nil, err
		}
		r.name = path
		return r, nil
	default:
		return openRecordingReplay(path, cfg)
	}
}

// Name returns the file replayed.
func (p *Replay) Name() string { return p.name }

// Format returns the kind of file replayed.
func (p *Replay) Format() ReplayFormat { return p.format }

// Meta returns a recording's first meta chunk (nil for other files); pass
// it to CreateRecording to record the replay as a copy of the original.
func (p *Replay) Meta() []byte { return p.meta }

// Torn returns the *TornError of a recording that ends in a torn tail, or
// nil.
func (p *Replay) Torn() error { return p.torn }

// Due returns the monotonic time at which the block last read was due in
// real time, 0 otherwise.
func (p *Replay) Due() int64 { return p.due }

// Read returns the next block into b (see Replay): io.EOF at the end of the
// file, ErrClosed after Close. It does not allocate once b's slices and the
// replay's buffers have grown to the largest block.
func (p *Replay) Read(ctx context.Context, b *Block) error {
	if p.closed.Load() {
		return ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if !p.started {
		p.t0, p.started = Now(), true
		if p.cfg.Realtime {
			p.shift = p.t0 + p.minSlack
		} else {
			p.shift = p.t0 - p.maxRel
		}
	}
	if !p.pending {
		p.mu.Lock()
		if p.closed.Load() {
			p.mu.Unlock()
			return ErrClosed
		}
		err := p.src.next(&p.next)
		p.mu.Unlock()
		if err != nil {
			return err
		}
		p.pending = true
	}
	if p.cfg.Realtime {
		due := p.t0 + streamNs(p.next.End()-p.s0, p.next.Rate)
		if err := p.waitUntil(ctx, due); err != nil {
			return err
		}
		p.due = due
	}
	rel := p.next.Arrived
	p.next.CopyTo(b)
	p.pending = false
	if p.cfg.Restamp {
		b.Arrived = Now()
	} else {
		b.Arrived = max(1, p.shift+rel)
	}
	return nil
}

// waitUntil sleeps until the monotonic clock reaches due, in sleeps of at
// most maxSimSleep, returning early with ctx's error or ErrClosed.
func (p *Replay) waitUntil(ctx context.Context, due int64) error {
	for {
		now := Now()
		if now >= due {
			return nil
		}
		if p.closed.Load() {
			return ErrClosed
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		sleepUntil(min(due, now+int64(maxSimSleep)))
	}
}

// Close stops the replay and closes its file; a Read waiting for its
// deadline returns ErrClosed within 10 ms. It is idempotent.
func (p *Replay) Close() error {
	if p.closed.Swap(true) {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.src.close()
}

var _ Source = (*Replay)(nil)

// microvolts returns the factor from a physical dimension to µV.
func microvolts(dim string) (float64, bool) {
	switch strings.TrimSpace(dim) {
	case "uV", "µV", "μV", "microV":
		return 1, true
	case "mV":
		return 1e3, true
	case "V":
		return 1e6, true
	case "nV":
		return 1e-3, true
	}
	return 0, false
}

// NewEDFSource returns a Source replaying the ordinary signals of e (those
// labelled in cfg.Signals, or all), which must share one sample rate and
// have a voltage as physical dimension; blocks hold µV frame-major. The
// source owns e: Close closes it.
func NewEDFSource(e *EDF, cfg ReplayConfig) (*Replay, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("acquire: replay %s: %w", e.name, err)
	}
	var sigs []int
	var errs []error
	for _, label := range cfg.Signals {
		i := e.SignalIndex(label)
		if i < 0 {
			errs = append(errs, fmt.Errorf("signals: %q is not an ordinary signal of the file", label))
		}
		sigs = append(sigs, i)
	}
	if len(errs) > 0 {
		labels := make([]string, len(e.Signals))
		for i := range e.Signals {
			labels[i] = e.Signals[i].Label
		}
		return nil, fmt.Errorf("acquire: replay %s: %w (signals: %q)", e.name, errors.Join(errs...), labels)
	}
	if cfg.Signals == nil {
		sigs = nil
	}
	sigs, rate, err := e.FrameSignals(sigs)
	if err != nil {
		return nil, fmt.Errorf("acquire: replay: %w (choose signals of one rate with signals:)", err)
	}
	x := &edfReplay{e: e, sigs: sigs, rate: rate, spr: int64(e.Signals[sigs[0]].SamplesPerRecord), blockFrames: cfg.BlockFrames}
	for _, s := range sigs {
		f, ok := microvolts(e.Signals[s].PhysicalDimension)
		if !ok {
			errs = append(errs, fmt.Errorf("signal %d %q: physical dimension %q is not a voltage (choose signals with signals:)", s, e.Signals[s].Label, e.Signals[s].PhysicalDimension))
		}
		x.scale = append(x.scale, f)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("acquire: replay %s: %w", e.name, err)
	}
	x.total = int64(e.Records) * x.spr
	x.recStart = make([]int64, e.Records)
	end := int64(0)
	for r := range x.recStart {
		s := int64(r) * x.spr
		if e.Discontinuous {
			s = max(end, int64(math.Round((e.RecordStarts[r]-e.RecordStarts[0])*rate)))
		}
		x.recStart[r] = s
		end = s + x.spr
	}
	p := &Replay{cfg: cfg, name: e.name, format: ReplayEDF, src: x, maxRel: streamNs(end, rate)}
	return p, nil
}

// edfReplay reads frames of an EDF file.
type edfReplay struct {
	e           *EDF
	sigs        []int
	scale       []float64 // to µV, per signal
	rate        float64
	spr         int64
	total       int64
	recStart    []int64 // sample-clock start of each record
	frame       int64   // next frame of the file
	blockFrames int
	seq         uint64
}

func (x *edfReplay) next(b *Block) error {
	if x.frame >= x.total {
		return io.EOF
	}
	rec := x.frame / x.spr
	k := x.frame % x.spr
	n := min(int64(x.blockFrames), x.total-x.frame)
	// Never cross a gap between records.
	for r := rec; r+1 < int64(len(x.recStart)) && (r+1)*x.spr < x.frame+n; r++ {
		if x.recStart[r+1] != x.recStart[r]+x.spr {
			n = (r+1)*x.spr - x.frame
			break
		}
	}
	var dropped uint64
	if k == 0 && rec > 0 {
		dropped = uint64(x.recStart[rec] - x.recStart[rec-1] - x.spr)
	}
	nc := len(x.sigs)
	if cap(b.Data) < int(n)*nc {
		b.Data = make([]float32, int(n)*nc)
	}
	b.Data = b.Data[:int(n)*nc]
	got, err := x.e.readFrames(b.Data, x.sigs, x.frame, x.scale)
	if err != nil {
		return err
	}
	b.Seq = x.seq
	b.Start = x.recStart[rec] + k
	b.Frames = got
	b.Rate = x.rate
	b.Channels = nc
	b.Dropped = dropped
	b.Spikes = b.Spikes[:0]
	b.Truth = b.Truth[:0]
	b.TruthDims = 0
	b.Arrived = streamNs(b.End(), x.rate)
	x.seq++
	x.frame += int64(got)
	return nil
}

func (x *edfReplay) close() error { return x.e.Close() }

// NewOpenBCISource returns a Source replaying the EXG channels of an
// OpenBCI GUI CSV (µV, frame-major), with lost packets (sample counter
// gaps) as Dropped frames.
func NewOpenBCISource(c *OpenBCICSV, cfg ReplayConfig) (*Replay, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("acquire: replay OpenBCI CSV: %w", err)
	}
	if len(cfg.Signals) > 0 {
		return nil, errors.New("acquire: replay OpenBCI CSV: signals: selects EDF signals only")
	}
	if c.Rows == 0 || c.Channels == 0 || !(c.Rate > 0) || len(c.EXG) != c.Rows*c.Channels || len(c.Lost) != c.Rows {
		return nil, fmt.Errorf("acquire: replay OpenBCI CSV: inconsistent data (%d rows, %d channels, %d values, rate %v)", c.Rows, c.Channels, len(c.EXG), c.Rate)
	}
	x := &csvReplay{c: c, blockFrames: cfg.BlockFrames}
	total := int64(c.Rows)
	for _, l := range c.Lost {
		total += l
	}
	return &Replay{cfg: cfg, format: ReplayOpenBCI, src: x, maxRel: streamNs(total, c.Rate)}, nil
}

// csvReplay reads rows of an OpenBCI CSV.
type csvReplay struct {
	c           *OpenBCICSV
	row         int
	start       int64 // sample clock of the next row, before its gap
	blockFrames int
	seq         uint64
}

func (x *csvReplay) next(b *Block) error {
	c := x.c
	if x.row >= c.Rows {
		return io.EOF
	}
	dropped := c.Lost[x.row]
	x.start += dropped
	n := 1
	for n < x.blockFrames && x.row+n < c.Rows && c.Lost[x.row+n] == 0 {
		n++
	}
	b.Data = append(b.Data[:0], c.EXG[x.row*c.Channels:(x.row+n)*c.Channels]...)
	b.Seq = x.seq
	b.Start = x.start
	b.Frames = n
	b.Rate = c.Rate
	b.Channels = c.Channels
	b.Dropped = uint64(dropped)
	b.Spikes = b.Spikes[:0]
	b.Truth = b.Truth[:0]
	b.TruthDims = 0
	b.Arrived = streamNs(b.End(), c.Rate)
	x.seq++
	x.row += n
	x.start += int64(n)
	return nil
}

func (x *csvReplay) close() error { return nil }

// openRecordingReplay scans the recording at path once (meta, torn tail,
// the stamp constant; see Replay) and opens it again for reading.
func openRecordingReplay(path string, cfg ReplayConfig) (*Replay, error) {
	if len(cfg.Signals) > 0 {
		return nil, fmt.Errorf("acquire: replay %s: signals: selects EDF signals only", path)
	}
	rr, err := OpenRecording(path)
	if err != nil {
		return nil, fmt.Errorf("acquire: replay: %w", err)
	}
	p := &Replay{cfg: cfg, name: path, format: ReplayRecording}
	var c Chunk
	first := true
	for {
		err := rr.Next(&c)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var te *TornError
			if !errors.As(err, &te) {
				rr.Close()
				return nil, fmt.Errorf("acquire: replay: %w", err)
			}
			p.torn = err
			break
		}
		switch c.Type {
		case ChunkMeta:
			if p.meta == nil {
				p.meta = append([]byte{}, c.Payload...)
			}
		case ChunkBlock:
			b := &c.Block
			if first {
				p.s0, first = b.Start, false
				p.minSlack, p.maxRel = math.MaxInt64, math.MinInt64
			}
			p.minSlack = min(p.minSlack, streamNs(b.End()-p.s0, b.Rate)-b.Arrived)
			p.maxRel = max(p.maxRel, b.Arrived)
		}
	}
	rr.Close()
	if first {
		p.minSlack, p.maxRel = 0, 0
	}
	rr, err = OpenRecording(path)
	if err != nil {
		return nil, fmt.Errorf("acquire: replay: %w", err)
	}
	p.src = &recReplay{rr: rr}
	return p, nil
}

// recReplay reads the block chunks of a recording.
type recReplay struct {
	rr *RecordingReader
	c  Chunk
}

func (x *recReplay) next(b *Block) error {
	for {
		// Decode straight into b's slices (b is the replay's own block).
		x.c.Block = Block{Data: b.Data, Spikes: b.Spikes, Truth: b.Truth}
		err := x.rr.Next(&x.c)
		b.Data, b.Spikes, b.Truth = x.c.Block.Data, x.c.Block.Spikes, x.c.Block.Truth
		if err != nil {
			if errors.Is(err, ErrTornTail) {
				return io.EOF
			}
			return err
		}
		if x.c.Type == ChunkBlock {
			*b = x.c.Block
			x.c.Block = Block{}
			return nil
		}
	}
}

func (x *recReplay) close() error { return x.rr.Close() }
