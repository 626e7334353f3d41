package acquire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
)

// Session messages. A session recorded on JetStream (package loop) carries
// one recording chunk per message (the format of record.go: the 12-byte
// chunk header with its CRC-32C, then the payload), so that a message
// damaged in the store or on the way is detected by its CRC, and a session
// exported to a recording file is its chunks written back to back. Besides
// the recording's own chunk types (meta, block, command, stim), a session
// carries three that a recording file never holds:
//
//	bins (16):   the binary bins message (README, wire type 2) as published.
//	cursor (17): the cursor JSON of a closed-loop task as published.
//	params (18): bin seq u64 (the decoder applies from the bin with this
//	             sequence on; bins count from 0), then the decoder's
//	             parameter file (versioned JSON).
const (
	ChunkBins   ChunkType = 16
	ChunkCursor ChunkType = 17
	ChunkParams ChunkType = 18
)

// ErrBadChunk is wrapped by every error about a session message that is not
// an intact chunk.
var ErrBadChunk = errors.New("damaged chunk")

// ChunkEncoder appends chunks to byte slices, stamping times on a recording
// clock whose epoch is the first stamp it sees (as a Recorder does). It does
// not allocate when the destination has room.
type ChunkEncoder struct {
	epoch    int64
	epochSet bool
}

func (e *ChunkEncoder) rel(t int64) int64 {
	if !e.epochSet {
		e.epoch, e.epochSet = t, true
	}
	return t - e.epoch
}

// BlockChunkSize is the size of b's block chunk, header included.
func BlockChunkSize(b *Block) int {
	return recChunkHeader + recBlockHeader + 4*len(b.Data) + recSpikeSize*len(b.Spikes) + 8*len(b.Truth)
}

// grow extends dst by n bytes and returns it and the new part's offset.
func grow(dst []byte, n int) ([]byte, int) {
	start := len(dst)
	if cap(dst)-start < n {
		dst = append(dst[:cap(dst)], make([]byte, start+n-cap(dst))...)
	}
	return dst[:start+n], start
}

// AppendBlock appends the block chunk of b; b.Arrived sets the epoch when
// it is the first stamp.
func (e *ChunkEncoder) AppendBlock(dst []byte, b *Block) []byte {
	dst, start := grow(dst, BlockChunkSize(b))
	putBlockPayload(dst[start+recChunkHeader:], b, e.rel(b.Arrived))
	finishChunk(dst[start:], ChunkBlock)
	return dst
}

// AppendCommand appends a command chunk: the time now (a Now stamp) and the
// command bytes.
func (e *ChunkEncoder) AppendCommand(dst []byte, now int64, data []byte) []byte {
	dst, start := grow(dst, recChunkHeader+8+len(data))
	p := dst[start+recChunkHeader:]
	binary.LittleEndian.PutUint64(p, uint64(e.rel(now)))
	copy(p[8:], data)
	finishChunk(dst[start:], ChunkCommand)
	return dst
}

// AppendStim appends a stim chunk of ev at time now (a Now stamp);
// ev.Arrived is a Now stamp too.
func (e *ChunkEncoder) AppendStim(dst []byte, now int64, ev *StimEvent) []byte {
	dst, start := grow(dst, recChunkHeader+recStimHeader+recPulseSize*len(ev.Pulses))
	t := e.rel(now)
	putStimPayload(dst[start+recChunkHeader:], ev, t, ev.Arrived-e.epoch)
	finishChunk(dst[start:], ChunkStim)
	return dst
}

// AppendChunk appends a chunk of type t holding payload as it is (meta,
// bins, cursor, params).
func AppendChunk(dst []byte, t ChunkType, payload []byte) []byte {
	dst, start := grow(dst, recChunkHeader+len(payload))
	copy(dst[start+recChunkHeader:], payload)
	finishChunk(dst[start:], t)
	return dst
}

// ParseChunk checks that msg is exactly one intact chunk (length, CRC-32C,
// known type, well-formed payload) and decodes it into c, reusing c's
// slices; c.Payload aliases msg. The error wraps ErrBadChunk and says what
// is wrong.
func ParseChunk(msg []byte, c *Chunk) error {
	if len(msg) < recChunkHeader {
		return fmt.Errorf("%w: %d bytes, shorter than the %d-byte chunk header", ErrBadChunk, len(msg), recChunkHeader)
	}
	t := ChunkType(msg[0])
	n := binary.LittleEndian.Uint32(msg[4:])
	if int64(n) != int64(len(msg)-recChunkHeader) {
		return fmt.Errorf("%w: header says %d payload bytes, the message has %d", ErrBadChunk, n, len(msg)-recChunkHeader)
	}
	crc := crc32.Update(0, crcCastag, msg[:8])
	crc = crc32.Update(crc, crcCastag, msg[recChunkHeader:])
	if stored := binary.LittleEndian.Uint32(msg[8:]); stored != crc {
		return fmt.Errorf("%w: CRC-32C mismatch: stored %08x, computed %08x", ErrBadChunk, stored, crc)
	}
	if msg[1]|msg[2]|msg[3] != 0 {
		return fmt.Errorf("%w: reserved header bytes % x are not zero", ErrBadChunk, msg[1:4])
	}
	c.Type, c.Offset, c.Len, c.Time, c.Chunks = t, 0, int(n), 0, 0
	c.Payload = msg[recChunkHeader:]
	switch t {
	case ChunkMeta, ChunkBlock, ChunkCommand, ChunkStim, ChunkBins, ChunkCursor, ChunkParams:
	default:
		return fmt.Errorf("%w: chunk type %d is not a session chunk", ErrBadChunk, t)
	}
	if t == ChunkParams && len(c.Payload) < 8 {
		return fmt.Errorf("%w: params chunk of %d bytes, shorter than its 8-byte bin seq", ErrBadChunk, len(c.Payload))
	}
	var rr RecordingReader // decode needs no reader state but for end chunks
	if s := rr.decode(c); s != "" {
		return fmt.Errorf("%w: malformed %v chunk: %s", ErrBadChunk, t, s)
	}
	return nil
}

// RecordingWriter writes a recording file from chunks already encoded
// (ChunkEncoder, or messages of a session), synchronously: for exports,
// not for a live loop (use Recorder).
type RecordingWriter struct {
	f      *os.File
	path   string
	chunks uint64
	err    error
}

// CreateRecordingWriter creates path (it must not exist) with the file
// header and a meta chunk holding meta.
func CreateRecordingWriter(path string, meta []byte) (*RecordingWriter, error) {
	if len(meta) > MaxChunkPayload {
		return nil, fmt.Errorf("acquire: recording writer: meta of %d bytes exceeds %d", len(meta), MaxChunkPayload)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, fmt.Errorf("acquire: recording writer: %w", err)
	}
	head := appendRecordingHeader(nil)
	head = appendRawChunk(head, ChunkMeta, meta)
	if _, err := f.Write(head); err != nil {
		f.Close()
		os.Remove(path)
		return nil, fmt.Errorf("acquire: recording writer: %s: %w", path, err)
	}
	return &RecordingWriter{f: f, path: path, chunks: 1}, nil
}

// WriteChunk writes one encoded chunk after checking it (ParseChunk); only
// the recording's own types (meta, block, command, stim) are accepted.
func (w *RecordingWriter) WriteChunk(chunk []byte) error {
	if w.err != nil {
		return w.err
	}
	var c Chunk
	if err := ParseChunk(chunk, &c); err != nil {
		return err
	}
	if c.Type > ChunkStim {
		return fmt.Errorf("acquire: recording writer: a %v chunk has no place in a recording file", c.Type)
	}
	if _, err := w.f.Write(chunk); err != nil {
		w.err = fmt.Errorf("acquire: recording writer: %s: %w", w.path, err)
		return w.err
	}
	w.chunks++
	return nil
}

// Close writes the end chunk, fsyncs the file and its folder, and closes it.
func (w *RecordingWriter) Close() error {
	if w.err == nil {
		var end [8]byte
		binary.LittleEndian.PutUint64(end[:], w.chunks)
		if _, err := w.f.Write(appendRawChunk(nil, ChunkEnd, end[:])); err != nil {
			w.err = err
		} else if err := w.f.Sync(); err != nil {
			w.err = err
		}
	}
	if err := w.f.Close(); w.err == nil && err != nil {
		w.err = err
	}
	if w.err == nil {
		w.err = syncDir(filepath.Dir(w.path))
	}
	if w.err != nil {
		return fmt.Errorf("acquire: recording writer: %s: %w", w.path, w.err)
	}
	return nil
}
