package loop

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"strconv"

	"github.com/bciloop/bciloop/acquire"
	"github.com/bciloop/bciloop/decode"
)

// CommandVersion is the version of the JSON command message ("v").
const CommandVersion = 1

// Command is the JSON message published on bciloop.<rig>.cmd for every
// decoded bin (README, "Subjects and encodings"). Seq counts commands from 1
// without gaps; a receiver that sees a jump lost messages.
type Command struct {
	V         int                `json:"v"`
	Rig       string             `json:"rig"`
	Seq       uint64             `json:"seq"`
	BinSeq    uint64             `json:"bin_seq"`
	Sample    int64              `json:"sample"`     // sample index one past the decoded bin
	ArrivedNS int64              `json:"arrived_ns"` // CLOCK_MONOTONIC ns when the bin's newest sample arrived
	SentNS    int64              `json:"sent_ns"`    // CLOCK_MONOTONIC ns just before publishing
	Decoder   string             `json:"decoder"`
	State     map[string]float64 `json:"state"`
	// Observed is the fraction of the bin's frames that were observed, present
	// only when frames were lost (Bin.Lost > 0; the decoder was given the
	// counts scaled to the full bin, decode.PartialRule); Predicted is true
	// when too few were observed and the state is the decoder's prediction
	// alone. Both are absent for a complete bin.
	Observed  *float64 `json:"observed,omitempty"`
	Predicted bool     `json:"predicted,omitempty"`
}

// commandEncoder writes Command JSON into a reused buffer without allocating.
type commandEncoder struct {
	prefix []byte   // `{"v":1,"rig":"<rig>","seq":`
	names  [][]byte // `"<name>":` for each state component
	dec    []byte   // `,"decoder":"<name>","state":{`
	buf    []byte

	observed  float64 // fraction of the bin observed, for the next encode (1: complete)
	predicted bool    // the next estimate is a prediction alone
}

func newCommandEncoder(rig, decoder string, names []string) *commandEncoder {
	e := &commandEncoder{buf: make([]byte, 0, 512), observed: 1}
	e.prefix = fmt.Appendf(nil, `{"v":%d,"rig":%s,"seq":`, CommandVersion, quoteJSON(rig))
	e.dec = fmt.Appendf(nil, `,"decoder":%s,"state":{`, quoteJSON(decoder))
	for _, n := range names {
		e.names = append(e.names, fmt.Appendf(nil, `%s:`, quoteJSON(n)))
	}
	return e
}

func quoteJSON(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// encode returns the JSON for one estimate; the slice is valid until the
// next call.
func (e *commandEncoder) encode(seq uint64, est *decode.Estimate, sent int64) []byte {
	b := append(e.buf[:0], e.prefix...)
	b = strconv.AppendUint(b, seq, 10)
	b = append(b, `,"bin_seq":`...)
	b = strconv.AppendUint(b, est.Seq, 10)
	b = append(b, `,"sample":`...)
	b = strconv.AppendInt(b, est.Sample, 10)
	b = append(b, `,"arrived_ns":`...)
	b = strconv.AppendInt(b, est.Arrived, 10)
	b = append(b, `,"sent_ns":`...)
	b = strconv.AppendInt(b, sent, 10)
	if e.observed < 1 {
		b = append(b, `,"observed":`...)
		b = appendJSONFloat(b, e.observed)
	}
	if e.predicted {
		b = append(b, `,"predicted":true`...)
	}
	b = append(b, e.dec...)
	for i, n := range e.names {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, n...)
		b = appendJSONFloat(b, est.State[i])
	}
	b = append(b, '}', '}')
	e.buf = b
	return b
}

// appendJSONFloat writes v with 7 significant digits, or null when v is not
// finite (JSON has no NaN or infinity).
func appendJSONFloat(b []byte, v float64) []byte {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return append(b, "null"...)
	}
	return strconv.AppendFloat(b, v, 'g', 7, 64)
}

// Probe is the JSON message published on bciloop.<rig>.probe half a bin
// after each command when probing is on: same size as the command, stamped
// just before its own publish, and sent on its own (no flush shared with the
// command), so a receiver measures the bare NATS hop in the same run and
// the pipeline's share of the latency is a difference.
type Probe struct {
	V      int    `json:"v"`
	Probe  uint64 `json:"probe"`
	SentNS int64  `json:"sent_ns"`
	Pad    string `json:"pad"`
}

type probeEncoder struct{ buf []byte }

// encode writes a probe of exactly size bytes when size allows (the padding
// absorbs the difference), else the shortest probe.
func (p *probeEncoder) encode(seq uint64, sent int64, size int) []byte {
	b := append(p.buf[:0], `{"v":1,"probe":`...)
	b = strconv.AppendUint(b, seq, 10)
	b = append(b, `,"sent_ns":`...)
	b = strconv.AppendInt(b, sent, 10)
	b = append(b, `,"pad":"`...)
	for len(b)+2 < size {
		b = append(b, '.')
	}
	b = append(b, '"', '}')
	p.buf = b
	return b
}

// AppendBinsMessage appends the binary bins message (type 2) of bin to dst:
// the common 48-byte header (acquire.AppendWireHeader) with Count = channels
// and Frames = bin width, then one float32 count per channel.
func AppendBinsMessage(dst []byte, bin *decode.Bin) []byte {
	h := acquire.WireHeader{
		Version: acquire.WireVersion, Type: acquire.WireBins, Count: uint32(len(bin.Counts)),
		Seq: bin.Seq, Start: bin.Start, Frames: uint32(bin.Width), Channels: uint16(len(bin.Counts)),
		Rate: bin.Rate, Arrived: bin.Arrived,
	}
	dst = acquire.AppendWireHeader(dst, &h)
	for _, c := range bin.Counts {
		dst = binary.LittleEndian.AppendUint32(dst, math.Float32bits(float32(c)))
	}
	return dst
}

// DecodeBinsMessage decodes a bins message into the caller-owned bin,
// reusing bin.Counts. A message whose length or type disagrees with its
// header is rejected with an error naming the offset.
func DecodeBinsMessage(bin *decode.Bin, msg []byte) error {
	h, payload, err := acquire.ParseWireHeader(msg)
	if err != nil {
		return err
	}
	if h.Type != acquire.WireBins {
		return fmt.Errorf("%w: message type %d at offset 3 is not bins (%d)", acquire.ErrWire, h.Type, acquire.WireBins)
	}
	if want := uint64(h.Count) * 4; uint64(len(payload)) != want {
		return fmt.Errorf("%w: header says %d channels (%d payload bytes) but the payload has %d bytes", acquire.ErrWire, h.Count, want, len(payload))
	}
	if uint32(h.Channels) != h.Count {
		return fmt.Errorf("%w: channels %d at offset 28 disagree with count %d at offset 4", acquire.ErrWire, h.Channels, h.Count)
	}
	if !(h.Rate > 0) || math.IsInf(h.Rate, 0) {
		return fmt.Errorf("%w: rate %v at offset 32 must be finite and > 0", acquire.ErrWire, h.Rate)
	}
	bin.Seq, bin.Start, bin.Width, bin.Rate, bin.Arrived = h.Seq, h.Start, int(h.Frames), h.Rate, h.Arrived
	bin.Counts = bin.Counts[:0]
	bin.Truth = bin.Truth[:0]
	for i := 0; i < int(h.Count); i++ {
		v := math.Float32frombits(binary.LittleEndian.Uint32(payload[4*i:]))
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			bin.Counts = bin.Counts[:0]
			return fmt.Errorf("%w: channel %d at offset %d: count is not finite", acquire.ErrWire, i, acquire.WireHeaderSize+4*i)
		}
		bin.Counts = append(bin.Counts, float64(v))
	}
	return nil
}
