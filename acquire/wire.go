package acquire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// Wire format shared by every binary bciloop stream message (README,
// "Subjects and encodings"). All integers and floats are little-endian.
//
//	offset size  field
//	0      2     magic "BL" (0x42 0x4C)
//	2      1     version (1)
//	3      1     message type (1 spikes, 2 bins)
//	4      4     count N (uint32): spikes, or channels for bins
//	8      8     seq (uint64)
//	16     8     start sample (int64)
//	24     4     frames (uint32): block frames, or bin width
//	28     2     channels (uint16)
//	30     2     reserved, 0
//	32     8     rate in frames per second (float64)
//	40     8     arrived, CLOCK_MONOTONIC ns (int64)
//	48     ...   payload
//
// Spikes payload: N records of 12 bytes: sample int64, channel uint16,
// unit uint8, reserved uint8.
const (
	WireVersion    = 1
	WireHeaderSize = 48
	WireSpikes     = 1
	WireBins       = 2
	wireSpikeSize  = 12
)

// WireHeader is the fixed header of a binary stream message.
type WireHeader struct {
	Version  uint8
	Type     uint8
	Count    uint32
	Seq      uint64
	Start    int64
	Frames   uint32
	Channels uint16
	Rate     float64
	Arrived  int64
}

// ErrWire is wrapped by every error about a malformed wire message.
var ErrWire = errors.New("malformed bciloop wire message")

// AppendWireHeader appends the encoded header h to dst.
func AppendWireHeader(dst []byte, h *WireHeader) []byte {
	dst = append(dst, 'B', 'L', h.Version, h.Type)
	dst = binary.LittleEndian.AppendUint32(dst, h.Count)
	dst = binary.LittleEndian.AppendUint64(dst, h.Seq)
	dst = binary.LittleEndian.AppendUint64(dst, uint64(h.Start))
	dst = binary.LittleEndian.AppendUint32(dst, h.Frames)
	dst = binary.LittleEndian.AppendUint16(dst, h.Channels)
	dst = append(dst, 0, 0)
	dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(h.Rate))
	dst = binary.LittleEndian.AppendUint64(dst, uint64(h.Arrived))
	return dst
}

// ParseWireHeader decodes the header at the start of msg and returns the
// payload after it. It checks the magic and version, not the payload length.
func ParseWireHeader(msg []byte) (WireHeader, []byte, error) {
	var h WireHeader
	if len(msg) < WireHeaderSize {
		return h, nil, fmt.Errorf("%w: %d bytes, shorter than the %d-byte header", ErrWire, len(msg), WireHeaderSize)
	}
	if msg[0] != 'B' || msg[1] != 'L' {
		return h, nil, fmt.Errorf("%w: bad magic %#02x %#02x at offset 0 (want \"BL\")", ErrWire, msg[0], msg[1])
	}
	h.Version, h.Type = msg[2], msg[3]
	if h.Version != WireVersion {
		return h, nil, fmt.Errorf("%w: version %d at offset 2 is not supported (this build reads version %d)", ErrWire, h.Version, WireVersion)
	}
	le := binary.LittleEndian
	h.Count = le.Uint32(msg[4:])
	h.Seq = le.Uint64(msg[8:])
	h.Start = int64(le.Uint64(msg[16:]))
	h.Frames = le.Uint32(msg[24:])
	h.Channels = le.Uint16(msg[28:])
	h.Rate = math.Float64frombits(le.Uint64(msg[32:]))
	h.Arrived = int64(le.Uint64(msg[40:]))
	return h, msg[WireHeaderSize:], nil
}

// AppendSpikesMessage appends the spikes message of block b to dst (type 1).
// It does not allocate when dst has room.
func AppendSpikesMessage(dst []byte, b *Block) []byte {
	h := WireHeader{
		Version: WireVersion, Type: WireSpikes, Count: uint32(len(b.Spikes)),
		Seq: b.Seq, Start: b.Start, Frames: uint32(b.Frames), Channels: uint16(b.Channels),
		Rate: b.Rate, Arrived: b.Arrived,
	}
	dst = AppendWireHeader(dst, &h)
	for _, s := range b.Spikes {
		dst = binary.LittleEndian.AppendUint64(dst, uint64(s.Sample))
		dst = binary.LittleEndian.AppendUint16(dst, s.Channel)
		dst = append(dst, s.Unit, 0)
	}
	return dst
}

// DecodeSpikesMessage decodes a spikes message into the caller-owned b,
// reusing b.Spikes. Data and Truth are emptied. A message whose length,
// type, spike order or channels disagree with its header is rejected with an
// error naming the offset, and b is left empty.
func DecodeSpikesMessage(b *Block, msg []byte) error {
	b.Reset()
	h, payload, err := ParseWireHeader(msg)
	if err != nil {
		return err
	}
	if h.Type != WireSpikes {
		return fmt.Errorf("%w: message type %d at offset 3 is not spikes (%d)", ErrWire, h.Type, WireSpikes)
	}
	if want := uint64(h.Count) * wireSpikeSize; uint64(len(payload)) != want {
		return fmt.Errorf("%w: header says %d spikes (%d payload bytes) but the payload has %d bytes", ErrWire, h.Count, want, len(payload))
	}
	if !(h.Rate > 0) || math.IsInf(h.Rate, 0) {
		return fmt.Errorf("%w: rate %v at offset 32 must be finite and > 0", ErrWire, h.Rate)
	}
	b.Seq, b.Start, b.Frames, b.Channels, b.Rate, b.Arrived = h.Seq, h.Start, int(h.Frames), int(h.Channels), h.Rate, h.Arrived
	end := b.End()
	le := binary.LittleEndian
	for i := 0; i < int(h.Count); i++ {
		off := i * wireSpikeSize
		s := Spike{Sample: int64(le.Uint64(payload[off:])), Channel: le.Uint16(payload[off+8:]), Unit: payload[off+10]}
		switch {
		case s.Sample < h.Start || s.Sample >= end:
			err = fmt.Errorf("%w: spike %d at offset %d: sample %d outside the block [%d, %d)", ErrWire, i, WireHeaderSize+off, s.Sample, h.Start, end)
		case int(s.Channel) >= b.Channels:
			err = fmt.Errorf("%w: spike %d at offset %d: channel %d ≥ channels %d", ErrWire, i, WireHeaderSize+off+8, s.Channel, b.Channels)
		case i > 0 && s.Sample < b.Spikes[i-1].Sample:
			err = fmt.Errorf("%w: spike %d at offset %d: sample %d before the previous spike's %d", ErrWire, i, WireHeaderSize+off, s.Sample, b.Spikes[i-1].Sample)
		}
		if err != nil {
			b.Reset()
			return err
		}
		b.Spikes = append(b.Spikes, s)
	}
	return nil
}
