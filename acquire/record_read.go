package acquire

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"os"
	"slices"
)

// ErrNotRecording is wrapped by the error of a file that is not a bciloop
// recording (bad magic, version or header CRC).
var ErrNotRecording = errors.New("not a bciloop recording")

// ErrTornTail is wrapped by TornError.
var ErrTornTail = errors.New("recording ends in a torn or damaged tail")

// TornError reports where a recording stops being readable: a chunk cut
// short by a crash, one whose CRC fails, a malformed one, or the plain end
// of a file that was never closed (no end chunk). Every chunk before Offset
// is intact and was returned; nothing at or after it is.
type TornError struct {
	File   string
	Offset int64 // offset of the first byte not recovered (a chunk header)
	Size   int64 // bytes from Offset to the end of what was read (-1: unknown)
	Reason string
}

func (e *TornError) Error() string {
	return fmt.Sprintf("%s: torn tail at offset %d: %s (every chunk before it is intact)", e.File, e.Offset, e.Reason)
}

// Unwrap returns ErrTornTail.
func (e *TornError) Unwrap() error { return ErrTornTail }

// Chunk is one chunk read from a recording. The reader fills a caller-owned
// Chunk, reusing its slices; Payload is only valid until the next Next.
type Chunk struct {
	Type   ChunkType
	Offset int64 // file offset of the chunk header
	Len    int   // payload length

	// Time is, for command and stim chunks, when the chunk was appended, in
	// ns on the recording clock (see the format).
	Time int64
	// Block holds a block chunk; Block.Arrived is on the recording clock.
	Block Block
	// Stim holds a stim chunk; Stim.Arrived is on the recording clock.
	Stim StimEvent
	// Payload is the raw payload: for meta chunks the metadata, for
	// command chunks the command bytes (after the time).
	Payload []byte
	// Chunks is, for the end chunk, the number of chunks before it.
	Chunks uint64
}

// RecordingReader reads the chunks of a recording in order.
type RecordingReader struct {
	name    string
	r       *bufio.Reader
	closer  io.Closer
	off     int64 // offset of the next chunk
	hdr     [recChunkHeader]byte
	buf     []byte
	chunks  uint64
	ended   bool
	err     error // terminal
	version uint16
}

// OpenRecording opens the recording at path and checks its file header.
func OpenRecording(path string) (*RecordingReader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	rr, err := NewRecordingReader(f, path)
	if err != nil {
		f.Close()
		return nil, err
	}
	rr.closer = f
	return rr, nil
}

// NewRecordingReader reads a recording from r; name labels errors. It reads
// and checks the file header.
func NewRecordingReader(r io.Reader, name string) (*RecordingReader, error) {
	rr := &RecordingReader{name: name, r: bufio.NewReaderSize(r, 256<<10)}
	var h [recHeaderSize]byte
	n, err := io.ReadFull(rr.r, h[:])
	if err != nil {
		if n == 0 && errors.Is(err, io.EOF) {
			return nil, &TornError{File: name, Offset: 0, Size: 0, Reason: "empty file: no file header"}
		}
		if errors.Is(err, io.ErrUnexpectedEOF) {
			if m := min(n, len(recMagic)); string(h[:m]) == string(recMagic[:m]) {
				return nil, &TornError{File: name, Offset: 0, Size: int64(n), Reason: fmt.Sprintf("truncated file header: %d of %d bytes", n, recHeaderSize)}
			}
			return nil, fmt.Errorf("%s: %w: %d bytes, shorter than the %d-byte header, without its magic", name, ErrNotRecording, n, recHeaderSize)
		}
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if [8]byte(h[:8]) != recMagic {
		return nil, fmt.Errorf("%s: offset 0: %w: magic % x, want % x", name, ErrNotRecording, h[:8], recMagic)
	}
	if got, want := binary.LittleEndian.Uint32(h[12:]), crc32.Checksum(h[:12], crcCastag); got != want {
		return nil, fmt.Errorf("%s: offset 12: %w: header CRC %08x, computed %08x", name, ErrNotRecording, got, want)
	}
	rr.version = binary.LittleEndian.Uint16(h[8:])
	if rr.version != RecordingVersion {
		return nil, fmt.Errorf("%s: offset 8: %w: version %d (this build reads %d)", name, ErrNotRecording, rr.version, RecordingVersion)
	}
	rr.off = recHeaderSize
	return rr, nil
}

// Close closes the file opened by OpenRecording.
func (rr *RecordingReader) Close() error {
	if rr.closer == nil {
		return nil
	}
	c := rr.closer
	rr.closer = nil
	return c.Close()
}

// Name returns the name the reader was opened with.
func (rr *RecordingReader) Name() string { return rr.name }

// Offset returns the offset of the next chunk, the end of everything
// returned so far.
func (rr *RecordingReader) Offset() int64 { return rr.off }

// Next reads the next chunk into c. After the end chunk it returns io.EOF.
// A file that stops earlier, or a chunk that is cut short, fails its CRC or
// is malformed, gives a *TornError (wrapping ErrTornTail) naming the offset
// and the reason; the damaged chunk is never returned, and every later call
// returns the same error. Next does not allocate once c's slices and the
// reader's buffer have grown to the largest chunk.
func (rr *RecordingReader) Next(c *Chunk) error {
	if rr.err != nil {
		return rr.err
	}
	n, err := io.ReadFull(rr.r, rr.hdr[:])
	switch {
	case rr.ended && n == 0 && errors.Is(err, io.EOF):
		rr.err = io.EOF
	case rr.ended && n > 0:
		rr.err = rr.torn(-1, "data after the end chunk")
	case n == 0 && errors.Is(err, io.EOF):
		rr.err = rr.torn(0, "the file ends without an end chunk: the writer did not close it")
	case errors.Is(err, io.ErrUnexpectedEOF):
		rr.err = rr.torn(int64(n), fmt.Sprintf("truncated chunk header: %d of %d bytes", n, recChunkHeader))
	case err != nil:
		rr.err = fmt.Errorf("%s: reading at offset %d: %w", rr.name, rr.off, err)
	}
	if rr.err != nil {
		return rr.err
	}
	t := ChunkType(rr.hdr[0])
	length := int64(binary.LittleEndian.Uint32(rr.hdr[4:]))
	switch {
	case t < ChunkMeta || t > ChunkEnd:
		rr.err = rr.torn(-1, fmt.Sprintf("invalid chunk type %d", rr.hdr[0]))
	case rr.hdr[1]|rr.hdr[2]|rr.hdr[3] != 0:
		rr.err = rr.torn(-1, fmt.Sprintf("reserved header bytes % x are not zero", rr.hdr[1:4]))
	case length > MaxChunkPayload:
		rr.err = rr.torn(-1, fmt.Sprintf("payload length %d exceeds the %d-byte maximum", length, MaxChunkPayload))
	}
	if rr.err != nil {
		return rr.err
	}
	got, err := rr.readPayload(int(length))
	if err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			rr.err = rr.torn(int64(recChunkHeader+got), fmt.Sprintf("truncated %v chunk: %d of %d payload bytes", t, got, length))
		} else {
			rr.err = fmt.Errorf("%s: reading at offset %d: %w", rr.name, rr.off+recChunkHeader+int64(got), err)
		}
		return rr.err
	}
	crc := crc32.Update(0, crcCastag, rr.hdr[:8])
	crc = crc32.Update(crc, crcCastag, rr.buf)
	if stored := binary.LittleEndian.Uint32(rr.hdr[8:]); stored != crc {
		rr.err = rr.torn(int64(recChunkHeader)+length, fmt.Sprintf("%v chunk CRC-32C mismatch: stored %08x, computed %08x", t, stored, crc))
		return rr.err
	}
	c.Type, c.Offset, c.Len, c.Time, c.Chunks = t, rr.off, int(length), 0, 0
	c.Payload = rr.buf
	if msg := rr.decode(c); msg != "" {
		rr.err = rr.torn(int64(recChunkHeader)+length, fmt.Sprintf("malformed %v chunk: %s", t, msg))
		return rr.err
	}
	if t == ChunkEnd {
		rr.ended = true
	} else {
		rr.chunks++
	}
	rr.off += recChunkHeader + length
	return nil
}

// torn builds the terminal error at the current chunk; size is how many
// bytes of it were read (-1: unknown).
func (rr *RecordingReader) torn(size int64, reason string) error {
	return &TornError{File: rr.name, Offset: rr.off, Size: size, Reason: reason}
}

// readPayload reads n bytes into rr.buf. It grows the buffer as the bytes
// come, so a damaged length field cannot make it allocate more than about
// twice what the file holds. It returns the bytes read.
func (rr *RecordingReader) readPayload(n int) (int, error) {
	if cap(rr.buf) >= n {
		rr.buf = rr.buf[:n]
		return io.ReadFull(rr.r, rr.buf)
	}
	rr.buf = rr.buf[:0]
	for len(rr.buf) < n {
		step := min(n-len(rr.buf), max(64<<10, len(rr.buf)))
		rr.buf = slices.Grow(rr.buf, step)
		m, err := io.ReadFull(rr.r, rr.buf[len(rr.buf):len(rr.buf)+step])
		rr.buf = rr.buf[:len(rr.buf)+m]
		if err != nil {
			return len(rr.buf), err
		}
	}
	return n, nil
}

// decode fills c's typed fields from its payload and returns "" or what is
// malformed.
func (rr *RecordingReader) decode(c *Chunk) string {
	p := c.Payload
	le := binary.LittleEndian
	switch c.Type {
	case ChunkBlock:
		return decodeBlockPayload(&c.Block, p)
	case ChunkCommand:
		if len(p) < 8 {
			return fmt.Sprintf("%d bytes, shorter than its 8-byte time", len(p))
		}
		c.Time = int64(le.Uint64(p))
		c.Payload = p[8:]
	case ChunkStim:
		if len(p) < recStimHeader {
			return fmt.Sprintf("%d bytes, shorter than its %d-byte header", len(p), recStimHeader)
		}
		n := uint64(le.Uint32(p[36:]))
		if want := recStimHeader + n*recPulseSize; uint64(len(p)) != want {
			return fmt.Sprintf("%d pulses need %d bytes, the payload has %d", n, want, len(p))
		}
		if p[33]|p[34]|p[35] != 0 {
			return "reserved bytes are not zero"
		}
		c.Time = int64(le.Uint64(p))
		e := &c.Stim
		e.Seq, e.Sample, e.Arrived, e.Outcome = le.Uint64(p[8:]), int64(le.Uint64(p[16:])), int64(le.Uint64(p[24:])), StimOutcome(p[32])
		e.Pulses = e.Pulses[:0]
		for o := recStimHeader; o < len(p); o += recPulseSize {
			e.Pulses = append(e.Pulses, StimPulse{
				Electrode: int32(le.Uint32(p[o:])), Count: int32(le.Uint32(p[o+4:])),
				AmplitudeUA: math.Float64frombits(le.Uint64(p[o+8:])), PhaseUS: math.Float64frombits(le.Uint64(p[o+16:])),
				GapUS: math.Float64frombits(le.Uint64(p[o+24:])), FreqHz: math.Float64frombits(le.Uint64(p[o+32:])),
			})
		}
	case ChunkEnd:
		if len(p) != 8 {
			return fmt.Sprintf("%d bytes, want 8", len(p))
		}
		c.Chunks = le.Uint64(p)
		if c.Chunks != rr.chunks {
			return fmt.Sprintf("counts %d chunks before it, the file has %d", c.Chunks, rr.chunks)
		}
	}
	return ""
}

// decodeBlockPayload decodes a block chunk's payload into b, reusing its
// slices, and returns "" or what is malformed.
func decodeBlockPayload(b *Block, p []byte) string {
	if len(p) < recBlockHeader {
		return fmt.Sprintf("%d bytes, shorter than the %d-byte block header", len(p), recBlockHeader)
	}
	le := binary.LittleEndian
	frames, channels, dims := uint64(le.Uint32(p[40:])), uint64(le.Uint32(p[44:])), uint64(le.Uint32(p[48:]))
	nd, ns, nt := uint64(le.Uint32(p[52:])), uint64(le.Uint32(p[56:])), uint64(le.Uint32(p[60:]))
	switch {
	case frames > math.MaxInt32 || channels > math.MaxInt32 || dims > math.MaxInt32:
		return fmt.Sprintf("frames %d, channels %d or truth dims %d out of range", frames, channels, dims)
	case recBlockHeader+4*nd+recSpikeSize*ns+8*nt != uint64(len(p)):
		return fmt.Sprintf("%d data values, %d spikes and %d truth values need %d bytes, the payload has %d",
			nd, ns, nt, recBlockHeader+4*nd+recSpikeSize*ns+8*nt, len(p))
	case nd != 0 && nd != frames*channels:
		return fmt.Sprintf("%d data values are neither 0 nor frames·channels = %d", nd, frames*channels)
	case nt != 0 && nt != frames*dims:
		return fmt.Sprintf("%d truth values are neither 0 nor frames·truth dims = %d", nt, frames*dims)
	}
	b.Seq = le.Uint64(p[0:])
	b.Start = int64(le.Uint64(p[8:]))
	b.Rate = math.Float64frombits(le.Uint64(p[16:]))
	b.Arrived = int64(le.Uint64(p[24:]))
	b.Dropped = le.Uint64(p[32:])
	b.Frames, b.Channels, b.TruthDims = int(frames), int(channels), int(dims)
	o := recBlockHeader
	b.Data = slices.Grow(b.Data[:0], int(nd))[:nd]
	for i := range b.Data {
		b.Data[i] = math.Float32frombits(le.Uint32(p[o:]))
		o += 4
	}
	b.Spikes = slices.Grow(b.Spikes[:0], int(ns))[:ns]
	for i := range b.Spikes {
		b.Spikes[i] = Spike{Sample: int64(le.Uint64(p[o:])), Channel: le.Uint16(p[o+8:]), Unit: p[o+10]}
		o += recSpikeSize
	}
	b.Truth = slices.Grow(b.Truth[:0], int(nt))[:nt]
	for i := range b.Truth {
		b.Truth[i] = math.Float64frombits(le.Uint64(p[o:]))
		o += 8
	}
	return ""
}
