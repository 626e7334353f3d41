package acquire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Recording file format, version 1: everything the loop sees, append-only.
// All integers and floats are little-endian.
//
// File header, 16 bytes:
//
//	offset size field
//	0      8    magic 0x89 'B' 'C' 'L' '\r' '\n' 0x1A '\n'
//	8      2    version (1)
//	10     2    reserved, 0
//	12     4    CRC-32C (Castagnoli) of bytes 0–11
//
// Then chunks, back to back, each a 12-byte header and a payload:
//
//	0      1    type: 1 meta, 2 block, 3 command, 4 stim, 5 end
//	1      3    reserved, 0
//	4      4    payload length L (at most MaxChunkPayload)
//	8      4    CRC-32C of header bytes 0–7 followed by the L payload bytes
//	12     L    payload
//
// Payloads. Times are int64 ns on the recording's clock: the monotonic
// clock (Now) minus the epoch, which is the Arrived stamp of the first
// block recorded (or Now() at the first command or stim, if one comes
// first). Absolute monotonic stamps mean nothing on another boot; relative
// ones make a recording of a replay identical to the original (see Replay).
//
//	meta (1):    opaque bytes, by convention a JSON object describing the
//	             recording (source, config, wall-clock start); the first
//	             chunk of every file.
//	block (2):   64-byte header, then the arrays:
//	             0 seq u64, 8 start i64, 16 rate f64, 24 arrived (recording
//	             clock) i64, 32 dropped u64, 40 frames u32, 44 channels u32,
//	             48 truth dims u32, 52 data values D u32 (0 or frames·
//	             channels), 56 spikes S u32, 60 truth values T u32 (0 or
//	             frames·truth dims); D float32 µV frame-major; S spikes of 12
//	             bytes (sample i64, channel u16, unit u8, 0); T float64.
//	command (3): time (recording clock, at append) i64, then the command
//	             bytes as published (JSON).
//	stim (4):    40-byte header: 0 time i64 (at append), 8 seq u64, 16
//	             sample i64, 24 arrived (recording clock) i64, 32 outcome u8,
//	             33 three zero bytes, 36 pulses N u32; then N pulses of 40
//	             bytes: electrode i32, count i32, amplitude µA f64, phase µs
//	             f64, gap µs f64, frequency Hz f64.
//	end (5):     chunks before it, u64: written by Close; a file without it
//	             was not closed (a crash).
//
// A reader stops at the first chunk that is incomplete, fails its CRC or is
// malformed, reports that offset and why (TornError), and never returns a
// damaged chunk; everything before it is intact.

// RecordingVersion is the version of the recording format written.
const RecordingVersion = 1

// MaxChunkPayload bounds one chunk's payload (a block of 256 MiB is 64 Mi
// float32 samples).
const MaxChunkPayload = 256 << 20

const (
	recHeaderSize   = 16
	recChunkHeader  = 12
	recBlockHeader  = 64
	recStimHeader   = 40
	recPulseSize    = 40
	recSpikeSize    = 12
	recWritePiece   = 64 << 10 // bytes per write system call
	recMaxSyncEvery = time.Hour
)

var (
	errSyncUnsupported = syscall.EINVAL
	recMagic           = [8]byte{0x89, 'B', 'C', 'L', '\r', '\n', 0x1A, '\n'}
	crcCastag          = crc32.MakeTable(crc32.Castagnoli)
)

// ChunkType is the type of a recording chunk.
type ChunkType uint8

// Chunk types.
const (
	ChunkMeta    ChunkType = 1
	ChunkBlock   ChunkType = 2
	ChunkCommand ChunkType = 3
	ChunkStim    ChunkType = 4
	ChunkEnd     ChunkType = 5
)

func (t ChunkType) String() string {
	switch t {
	case ChunkMeta:
		return "meta"
	case ChunkBlock:
		return "block"
	case ChunkCommand:
		return "command"
	case ChunkStim:
		return "stim"
	case ChunkEnd:
		return "end"
	}
	return fmt.Sprintf("ChunkType(%d)", uint8(t))
}

// StimPulse is one biphasic pulse train of a recorded stimulation event.
// It mirrors stimulate.Pulse, which acquire cannot import.
type StimPulse struct {
	Electrode   int32   // 0-based
	Count       int32   // pulses in the train
	AmplitudeUA float64 // phase amplitude, µA
	PhaseUS     float64 // phase width, µs
	GapUS       float64 // interphase gap, µs
	FreqHz      float64 // train frequency
}

// StimOutcome is what became of a stimulation pattern.
type StimOutcome uint8

// Stimulation outcomes.
const (
	StimDelivered StimOutcome = 0 // passed to the stimulator
	StimRefused   StimOutcome = 1 // refused by the safety limit
	StimClipped   StimOutcome = 2 // delivered with amplitudes clipped by the safety limit
	StimFailed    StimOutcome = 3 // the stimulator returned an error
)

// StimEvent is a recorded stimulation pattern.
type StimEvent struct {
	Seq     uint64 // pattern sequence number
	Sample  int64  // sample-clock index at which delivery was due (0: at once)
	Arrived int64  // Now() stamp of the block that caused it (on reading: recording clock)
	Outcome StimOutcome
	Pulses  []StimPulse
}

// RecorderConfig configures a Recorder.
type RecorderConfig struct {
	// SyncInterval is the longest time between fsyncs: a crash of the
	// machine loses at most about this much (plus one fsync's duration).
	SyncInterval time.Duration `yaml:"sync_interval"`
	// BufferBytes is the initial size of each of the two in-memory
	// buffers; when one passes half of it, it is written out early.
	BufferBytes int `yaml:"buffer_bytes"`
	// MaxBufferBytes bounds the bytes waiting to be written: when the disk
	// falls this far behind, appends fail with ErrRecorderBehind (counted)
	// rather than grow memory without bound or block the loop.
	MaxBufferBytes int `yaml:"max_buffer_bytes"`
}

// DefaultRecorderConfig returns a 100 ms sync interval and 1 MiB buffers
// that may grow to 64 MiB.
func DefaultRecorderConfig() RecorderConfig {
	return RecorderConfig{SyncInterval: 100 * time.Millisecond, BufferBytes: 1 << 20, MaxBufferBytes: 64 << 20}
}

// Validate reports every problem of c at once, each as "key: message".
func (c *RecorderConfig) Validate() error {
	var errs []error
	if c.SyncInterval <= 0 || c.SyncInterval > recMaxSyncEvery {
		errs = append(errs, fmt.Errorf("sync_interval: must be in (0, %v], got %v", recMaxSyncEvery, c.SyncInterval))
	}
	if c.BufferBytes < 4096 || c.BufferBytes > 1<<30 {
		errs = append(errs, fmt.Errorf("buffer_bytes: must be in [4096, %d], got %d", 1<<30, c.BufferBytes))
	}
	if c.MaxBufferBytes < c.BufferBytes || c.MaxBufferBytes > 1<<31 {
		errs = append(errs, fmt.Errorf("max_buffer_bytes: must be in [buffer_bytes %d, %d], got %d", c.BufferBytes, 1<<31, c.MaxBufferBytes))
	}
	return errors.Join(errs...)
}

// Recorder errors.
var (
	ErrRecorderClosed = errors.New("acquire: recorder closed")
	ErrRecorderBehind = errors.New("acquire: recorder behind: the disk does not keep up, chunk not recorded")
)

// RecorderStats are a Recorder's counters.
type RecorderStats struct {
	Chunks   uint64        // chunks appended (the end chunk included once closed)
	Bytes    int64         // file size once everything appended is written
	Synced   int64         // bytes known durable (fsynced)
	Syncs    uint64        // fsyncs done
	MaxSync  time.Duration // longest write + fsync
	Grows    uint64        // appends that had to grow a buffer (an allocation)
	Rejected uint64        // appends refused with ErrRecorderBehind
}

// Recorder appends chunks to a recording file (the format above).
//
// Appends encode into an in-memory buffer under a mutex and return: no
// system call, no allocation once the buffer has the room (a Grows count
// says when it had not). A goroutine of the Recorder swaps the buffer for a
// second one and writes it out, in writes of 64 KiB, every SyncInterval (and
// early when the buffer passes half its size), then fsyncs. The loop's hot
// path therefore never waits for the disk: its cost is the encoding and the
// copy (see BenchmarkRecorderAppendBlock), and the fsync latency (ms on
// ordinary disks) falls on the Recorder's goroutine. The price is
// durability: a crash of the process or the machine loses at most what was
// appended in the last SyncInterval plus one write and fsync (Synced tells
// what is durable, and a reader recovers everything before it). Sync
// forces a write and fsync now and waits.
//
// Concurrency: all methods may be called from any goroutine.
type Recorder struct {
	f    *os.File
	path string
	cfg  RecorderConfig

	mu       sync.Mutex
	active   []byte
	kickAt   int
	epoch    int64
	epochSet bool
	chunks   uint64
	size     int64 // file size once active is written
	err      error // sticky write error
	closed   bool
	grows    uint64
	rejected uint64

	kick    chan struct{}
	syncReq chan chan error
	stop    chan struct{}
	done    chan struct{}

	written   int64 // flusher only
	synced    atomic.Int64
	syncs     atomic.Uint64
	maxSync   atomic.Int64
	closeOnce sync.Once
	closeErr  error
}

// CreateRecording creates the recording file path (it must not exist: an
// existing recording is never overwritten), writes the file header and a
// meta chunk holding meta, fsyncs the file and its directory, and starts
// the writing goroutine.
func CreateRecording(path string, meta []byte, cfg RecorderConfig) (*Recorder, error) {
	r, err := createRecorder(path, meta, cfg)
	if err != nil {
		return nil, err
	}
	go r.run()
	return r, nil
}

// createRecorder creates the file and the Recorder without starting its
// writing goroutine.
func createRecorder(path string, meta []byte, cfg RecorderConfig) (*Recorder, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("acquire: recorder: %w", err)
	}
	if len(meta) > MaxChunkPayload {
		return nil, fmt.Errorf("acquire: recorder: meta of %d bytes exceeds %d", len(meta), MaxChunkPayload)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, fmt.Errorf("acquire: recorder: %w", err)
	}
	head := appendRecordingHeader(make([]byte, 0, recHeaderSize+recChunkHeader+len(meta)))
	head = appendRawChunk(head, ChunkMeta, meta)
	if _, err := f.Write(head); err == nil {
		err = f.Sync()
	}
	if err == nil {
		err = syncDir(filepath.Dir(path))
	}
	if err != nil {
		f.Close()
		os.Remove(path)
		return nil, fmt.Errorf("acquire: recorder: creating %s: %w", path, err)
	}
	r := &Recorder{
		f: f, path: path, cfg: cfg,
		active:  make([]byte, 0, cfg.BufferBytes),
		kickAt:  cfg.BufferBytes / 2,
		chunks:  1,
		size:    int64(len(head)),
		written: int64(len(head)),
		kick:    make(chan struct{}, 1),
		syncReq: make(chan chan error),
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
	}
	r.synced.Store(int64(len(head)))
	return r, nil
}

// syncDir fsyncs a directory so that a new file's entry is durable. File
// systems that cannot (EINVAL) are tolerated.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, errSyncUnsupported) {
		return err
	}
	return nil
}

// Path returns the file's path.
func (r *Recorder) Path() string { return r.path }

// Synced returns the file offset up to which everything is fsynced: a
// reader of the file after any crash recovers every chunk before it.
func (r *Recorder) Synced() int64 { return r.synced.Load() }

// Stats returns the recorder's counters.
func (r *Recorder) Stats() RecorderStats {
	r.mu.Lock()
	defer r.mu.Unlock()
	return RecorderStats{
		Chunks: r.chunks, Bytes: r.size, Synced: r.synced.Load(), Syncs: r.syncs.Load(),
		MaxSync: time.Duration(r.maxSync.Load()), Grows: r.grows, Rejected: r.rejected,
	}
}

// reserve checks the recorder's state and makes room for a chunk of n
// payload bytes at the end of active, returning the chunk's start. It is
// called with r.mu held.
func (r *Recorder) reserve(n int) (int, error) {
	if r.closed {
		return 0, ErrRecorderClosed
	}
	if r.err != nil {
		return 0, r.err
	}
	if n > MaxChunkPayload {
		return 0, fmt.Errorf("acquire: recorder: chunk of %d bytes exceeds %d", n, MaxChunkPayload)
	}
	need := recChunkHeader + n
	if need > r.cfg.MaxBufferBytes {
		return 0, fmt.Errorf("acquire: recorder: chunk of %d bytes exceeds max_buffer_bytes %d", need, r.cfg.MaxBufferBytes)
	}
	if len(r.active)+need > r.cfg.MaxBufferBytes {
		r.rejected++
		return 0, ErrRecorderBehind
	}
	if cap(r.active)-len(r.active) < need {
		r.grows++
		r.active = slices.Grow(r.active, need)
	}
	start := len(r.active)
	r.active = r.active[:start+need]
	return start, nil
}

// commit finishes the chunk at start (header and CRC) and wakes the writer
// when the buffer passes its mark. Called with r.mu held.
func (r *Recorder) commit(start int, t ChunkType) {
	finishChunk(r.active[start:], t)
	r.chunks++
	r.size += int64(len(r.active) - start)
	if len(r.active) >= r.kickAt {
		select {
		case r.kick <- struct{}{}:
		default:
		}
	}
}

func (r *Recorder) setEpoch(t int64) {
	if !r.epochSet {
		r.epoch, r.epochSet = t, true
	}
}

// AppendBlock records b. The first block recorded sets the recording's
// epoch to its Arrived stamp; every stamp is stored relative to it. It does
// not allocate once the buffer has room, and does not retain b.
func (r *Recorder) AppendBlock(b *Block) error {
	n := recBlockHeader + 4*len(b.Data) + recSpikeSize*len(b.Spikes) + 8*len(b.Truth)
	r.mu.Lock()
	defer r.mu.Unlock()
	start, err := r.reserve(n)
	if err != nil {
		return err
	}
	r.setEpoch(b.Arrived)
	putBlockPayload(r.active[start+recChunkHeader:], b, b.Arrived-r.epoch)
	r.commit(start, ChunkBlock)
	return nil
}

// AppendCommand records a command as published (data is copied), stamped
// with Now() on the recording clock.
func (r *Recorder) AppendCommand(data []byte) error {
	now := Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	start, err := r.reserve(8 + len(data))
	if err != nil {
		return err
	}
	r.setEpoch(now)
	p := r.active[start+recChunkHeader:]
	binary.LittleEndian.PutUint64(p, uint64(now-r.epoch))
	copy(p[8:], data)
	r.commit(start, ChunkCommand)
	return nil
}

// AppendStim records a stimulation event, stamped with Now() on the
// recording clock; e.Arrived is stored relative to the epoch.
func (r *Recorder) AppendStim(e *StimEvent) error {
	now := Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	start, err := r.reserve(recStimHeader + recPulseSize*len(e.Pulses))
	if err != nil {
		return err
	}
	r.setEpoch(now)
	putStimPayload(r.active[start+recChunkHeader:], e, now-r.epoch, e.Arrived-r.epoch)
	r.commit(start, ChunkStim)
	return nil
}

// AppendMeta records further metadata (data is copied).
func (r *Recorder) AppendMeta(data []byte) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	start, err := r.reserve(len(data))
	if err != nil {
		return err
	}
	copy(r.active[start+recChunkHeader:], data)
	r.commit(start, ChunkMeta)
	return nil
}

// Sync writes out everything appended so far and fsyncs it, waiting for
// both. It is for checkpoints, not for the hot path.
func (r *Recorder) Sync() error {
	reply := make(chan error, 1)
	select {
	case r.syncReq <- reply:
		return <-reply
	case <-r.done:
		return ErrRecorderClosed
	}
}

// Close appends the end chunk, writes out and fsyncs everything, and closes
// the file. It returns the first error the recorder met, if any. It is
// idempotent; appends after it fail with ErrRecorderClosed.
func (r *Recorder) Close() error {
	r.closeOnce.Do(func() {
		r.mu.Lock()
		if start, err := r.reserveEnd(); err == nil {
			binary.LittleEndian.PutUint64(r.active[start+recChunkHeader:], r.chunks)
			r.commit(start, ChunkEnd)
		}
		r.closed = true
		r.mu.Unlock()
		close(r.stop)
		<-r.done
		r.mu.Lock()
		err := r.err
		r.mu.Unlock()
		if cerr := r.f.Close(); err == nil && cerr != nil {
			err = cerr
		}
		r.closeErr = err
	})
	return r.closeErr
}

// reserveEnd makes room for the end chunk regardless of MaxBufferBytes.
func (r *Recorder) reserveEnd() (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	r.active = slices.Grow(r.active, recChunkHeader+8)
	start := len(r.active)
	r.active = r.active[:start+recChunkHeader+8]
	return start, nil
}

// run is the writing goroutine.
func (r *Recorder) run() {
	defer close(r.done)
	tick := time.NewTicker(r.cfg.SyncInterval)
	defer tick.Stop()
	spare := make([]byte, 0, r.cfg.BufferBytes)
	for {
		select {
		case <-tick.C:
			r.flush(&spare, true)
		case <-r.kick:
			r.flush(&spare, false)
		case reply := <-r.syncReq:
			reply <- r.flush(&spare, true)
		case <-r.stop:
			r.flush(&spare, true)
			return
		}
	}
}

// flush swaps the buffers, writes what was appended and, with sync, fsyncs.
// It returns the recorder's sticky error.
func (r *Recorder) flush(spare *[]byte, sync bool) error {
	r.mu.Lock()
	buf := r.active
	r.active = (*spare)[:0]
	err := r.err
	r.mu.Unlock()
	*spare = buf[:0]
	if err != nil {
		return err
	}
	t0 := time.Now()
	for p := buf; len(p) > 0; {
		n := min(len(p), recWritePiece)
		m, werr := r.f.Write(p[:n])
		r.written += int64(m)
		if werr != nil {
			return r.fail(fmt.Errorf("acquire: recorder: writing %s at offset %d: %w", r.path, r.written, werr))
		}
		p = p[n:]
	}
	if !sync || r.written == r.synced.Load() {
		return nil
	}
	if serr := r.f.Sync(); serr != nil {
		return r.fail(fmt.Errorf("acquire: recorder: fsync %s: %w", r.path, serr))
	}
	r.synced.Store(r.written)
	r.syncs.Add(1)
	if d := int64(time.Since(t0)); d > r.maxSync.Load() {
		r.maxSync.Store(d)
	}
	return nil
}

func (r *Recorder) fail(err error) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err == nil {
		r.err = err
	}
	return r.err
}

// appendRecordingHeader appends the 16-byte file header.
func appendRecordingHeader(dst []byte) []byte {
	start := len(dst)
	dst = append(dst, recMagic[:]...)
	dst = binary.LittleEndian.AppendUint16(dst, RecordingVersion)
	dst = append(dst, 0, 0)
	return binary.LittleEndian.AppendUint32(dst, crc32.Checksum(dst[start:], crcCastag))
}

// appendRawChunk appends a chunk of type t with the given payload.
func appendRawChunk(dst []byte, t ChunkType, payload []byte) []byte {
	start := len(dst)
	dst = append(dst, make([]byte, recChunkHeader)...)
	dst = append(dst, payload...)
	finishChunk(dst[start:], t)
	return dst
}

// finishChunk writes the header of the chunk c (header and payload, the
// payload already in place): type, length and CRC-32C.
func finishChunk(c []byte, t ChunkType) {
	c[0], c[1], c[2], c[3] = byte(t), 0, 0, 0
	binary.LittleEndian.PutUint32(c[4:], uint32(len(c)-recChunkHeader))
	crc := crc32.Update(0, crcCastag, c[:8])
	crc = crc32.Update(crc, crcCastag, c[recChunkHeader:])
	binary.LittleEndian.PutUint32(c[8:], crc)
}

// putBlockPayload encodes b into p (sized by the caller) with arrived as
// its stored arrival stamp.
func putBlockPayload(p []byte, b *Block, arrived int64) {
	le := binary.LittleEndian
	le.PutUint64(p[0:], b.Seq)
	le.PutUint64(p[8:], uint64(b.Start))
	le.PutUint64(p[16:], math.Float64bits(b.Rate))
	le.PutUint64(p[24:], uint64(arrived))
	le.PutUint64(p[32:], b.Dropped)
	le.PutUint32(p[40:], uint32(b.Frames))
	le.PutUint32(p[44:], uint32(b.Channels))
	le.PutUint32(p[48:], uint32(b.TruthDims))
	le.PutUint32(p[52:], uint32(len(b.Data)))
	le.PutUint32(p[56:], uint32(len(b.Spikes)))
	le.PutUint32(p[60:], uint32(len(b.Truth)))
	o := recBlockHeader
	for _, v := range b.Data {
		le.PutUint32(p[o:], math.Float32bits(v))
		o += 4
	}
	for _, s := range b.Spikes {
		le.PutUint64(p[o:], uint64(s.Sample))
		le.PutUint16(p[o+8:], s.Channel)
		p[o+10], p[o+11] = s.Unit, 0
		o += recSpikeSize
	}
	for _, v := range b.Truth {
		le.PutUint64(p[o:], math.Float64bits(v))
		o += 8
	}
}

// putStimPayload encodes e into p with the given stored stamps.
func putStimPayload(p []byte, e *StimEvent, t, arrived int64) {
	le := binary.LittleEndian
	le.PutUint64(p[0:], uint64(t))
	le.PutUint64(p[8:], e.Seq)
	le.PutUint64(p[16:], uint64(e.Sample))
	le.PutUint64(p[24:], uint64(arrived))
	p[32], p[33], p[34], p[35] = byte(e.Outcome), 0, 0, 0
	le.PutUint32(p[36:], uint32(len(e.Pulses)))
	o := recStimHeader
	for _, q := range e.Pulses {
		le.PutUint32(p[o:], uint32(q.Electrode))
		le.PutUint32(p[o+4:], uint32(q.Count))
		le.PutUint64(p[o+8:], math.Float64bits(q.AmplitudeUA))
		le.PutUint64(p[o+16:], math.Float64bits(q.PhaseUS))
		le.PutUint64(p[o+24:], math.Float64bits(q.GapUS))
		le.PutUint64(p[o+32:], math.Float64bits(q.FreqHz))
		o += recPulseSize
	}
}
