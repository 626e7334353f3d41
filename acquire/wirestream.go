package acquire

import (
	"encoding/binary"
	"fmt"
	"math"
)

// WireRaw is the message type of raw sample blocks (type 3): the common
// 48-byte header (see wire.go) with
//
//	count N   = frames × channels (uint32)
//	frames    = frames in the block
//	channels  = channels per frame
//	start     = sample index of the first frame; a receiver finds the
//	            frames lost before a block as start − (previous start +
//	            previous frames)
//
// then N little-endian float32 samples in µV, frame-major:
// sample[f·channels + c] at offset 48 + 4·(f·channels + c).
const WireRaw = 3

// AppendRawMessage appends the raw-samples message of block b to dst (type
// 3). It does not allocate when dst has room.
func AppendRawMessage(dst []byte, b *Block) []byte {
	h := WireHeader{
		Version: WireVersion, Type: WireRaw, Count: uint32(len(b.Data)),
		Seq: b.Seq, Start: b.Start, Frames: uint32(b.Frames), Channels: uint16(b.Channels),
		Rate: b.Rate, Arrived: b.Arrived,
	}
	dst = AppendWireHeader(dst, &h)
	for _, v := range b.Data {
		dst = binary.LittleEndian.AppendUint32(dst, math.Float32bits(v))
	}
	return dst
}

// DecodeRawMessage decodes a raw-samples message into the caller-owned b,
// reusing b.Data. Spikes and Truth are emptied and Dropped is 0 (the
// message does not carry it; see WireRaw). A message whose type, length,
// shape, rate or samples are wrong is rejected with an error naming the
// offset, and b is left empty.
func DecodeRawMessage(b *Block, msg []byte) error {
	b.Reset()
	h, payload, err := ParseWireHeader(msg)
	if err != nil {
		return err
	}
	if h.Type != WireRaw {
		return fmt.Errorf("%w: message type %d at offset 3 is not raw samples (%d)", ErrWire, h.Type, WireRaw)
	}
	if want := uint64(h.Frames) * uint64(h.Channels); uint64(h.Count) != want {
		return fmt.Errorf("%w: count %d at offset 4 is not frames %d × channels %d", ErrWire, h.Count, h.Frames, h.Channels)
	}
	if want := uint64(h.Count) * 4; uint64(len(payload)) != want {
		return fmt.Errorf("%w: header says %d samples (%d payload bytes) but the payload has %d bytes", ErrWire, h.Count, want, len(payload))
	}
	if h.Frames == 0 || h.Channels == 0 {
		return fmt.Errorf("%w: frames %d at offset 24 and channels %d at offset 28 must be > 0", ErrWire, h.Frames, h.Channels)
	}
	if !(h.Rate > 0) || math.IsInf(h.Rate, 0) {
		return fmt.Errorf("%w: rate %v at offset 32 must be finite and > 0", ErrWire, h.Rate)
	}
	data := b.Data[:0]
	for i := 0; i < int(h.Count); i++ {
		v := math.Float32frombits(binary.LittleEndian.Uint32(payload[4*i:]))
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			b.Data = data[:0]
			return fmt.Errorf("%w: sample %d (frame %d, channel %d) at offset %d is %v", ErrWire, i, i/int(h.Channels), i%int(h.Channels), WireHeaderSize+4*i, v)
		}
		data = append(data, v)
	}
	b.Data = data
	b.Seq, b.Start, b.Frames, b.Channels, b.Rate, b.Arrived = h.Seq, h.Start, int(h.Frames), int(h.Channels), h.Rate, h.Arrived
	return nil
}
