package acquire

import (
	"errors"
	"fmt"
	"math"
)

// Backyard Brains SpikerBox serial stream (Backyard Brains, "Guide for USB
// Communication with SpikerBox", docs.backyardbrains.com, R7 2024, and the
// SampleStreamProcessor of their Spike Recorder): 222222 or 500000 baud
// 8N1, one frame per sample time of channels × 2 bytes, each sample split
// 7 + 7 bits (high bits first). The top bit of a byte is set only on the
// first byte of a frame, which is how frames are found:
//
//	1hhhhhhh 0lllllll  0hhhhhhh 0lllllll  …   (channel 0, channel 1, …)
//
// A sample is h<<7 | l, offset-binary around mid-scale (512 for 10-bit
// boards, 8192 for the 14-bit Human SpikerBox). The sampling rate, 10 kHz on
// one channel, is divided among the channels. The device interleaves ASCII
// messages (replies such as "FWV:1.0;HWT:MUSCLEUSBPRO;HWV:1.0;", markers such
// as "EVNT:3;") between the escape sequences FF FF 01 01 80 FF and
// FF FF 01 01 81 FF, at most 64 bytes. The host sends commands as text:
// "?:;\n" asks for the firmware and hardware type, "c:N;\n" sets the
// channel count.
const (
	SpikerBoxBaud      = 222222
	SpikerBoxTotalRate = 10000.0 // samples per second, shared by the channels
	SpikerBoxMaxCh     = 10      // the most channels Spike Recorder handles
	SpikerBoxMaxMsg    = 64      // longest device message

	spikerHigh = 0x80
)

var (
	spikerMsgStart = [6]byte{0xFF, 0xFF, 0x01, 0x01, 0x80, 0xFF}
	spikerMsgEnd   = [6]byte{0xFF, 0xFF, 0x01, 0x01, 0x81, 0xFF}
)

// SpikerBoxConfig configures the SpikerBox driver.
type SpikerBoxConfig struct {
	// Channels is the channel count, 1–10; the Source sends "c:N;".
	Channels int `yaml:"channels"`
	// Bits is the ADC resolution, 10 (mid-scale 512) or 14 (mid-scale 8192,
	// Human SpikerBox).
	Bits int `yaml:"bits"`
	// RateHz is the frame rate; 0 means 10 kHz / Channels.
	RateHz float64 `yaml:"rate_hz"`
	// ScaleUV is µV per count above mid-scale. Backyard Brains publishes no
	// input-referred gain, so the default 1 reports ADC counts; set it from
	// a calibration.
	ScaleUV float64 `yaml:"scale_uv"`
}

// DefaultSpikerBoxConfig returns 2 channels of 10 bits at 5 kHz, in counts.
func DefaultSpikerBoxConfig() SpikerBoxConfig {
	return SpikerBoxConfig{Channels: 2, Bits: 10, ScaleUV: 1}
}

// Validate reports every problem of c at once.
func (c *SpikerBoxConfig) Validate() error {
	var errs []error
	if c.Channels < 1 || c.Channels > SpikerBoxMaxCh {
		errs = append(errs, fmt.Errorf("channels: must be in [1, %d], got %d", SpikerBoxMaxCh, c.Channels))
	}
	if c.Bits != 10 && c.Bits != 14 {
		errs = append(errs, fmt.Errorf("bits: must be 10 or 14, got %d", c.Bits))
	}
	if c.RateHz < 0 || math.IsNaN(c.RateHz) || math.IsInf(c.RateHz, 0) {
		errs = append(errs, fmt.Errorf("rate_hz: must be finite and ≥ 0 (0: 10 kHz / channels), got %v", c.RateHz))
	}
	if !(c.ScaleUV > 0) || math.IsInf(c.ScaleUV, 0) {
		errs = append(errs, fmt.Errorf("scale_uv: must be finite and > 0, got %v", c.ScaleUV))
	}
	return errors.Join(errs...)
}

// Rate returns the frame rate c describes.
func (c *SpikerBoxConfig) Rate() float64 {
	if c.RateHz > 0 {
		return c.RateHz
	}
	return SpikerBoxTotalRate / float64(max(c.Channels, 1))
}

// SpikerBoxFrame is one decoded frame.
type SpikerBoxFrame struct {
	// Event is the marker number of an "EVNT:n;" message received just
	// before this frame, or 0.
	Event uint8
	// Counts are the samples minus mid-scale; Microvolts the same times
	// ScaleUV. Entries past the channel count are zero.
	Counts     [SpikerBoxMaxCh]int16
	Microvolts [SpikerBoxMaxCh]float32
}

// SpikerBoxParser decodes a SpikerBox byte stream. It is a pure state
// machine over bytes (any chunking gives the same frames). A frame is
// accepted only when exactly its first byte has the top bit set and every
// sample is below full scale (1023 for 10 bits); a frame
// cut short by a byte with the top bit set is discarded (Stats().Bad) and
// that byte starts the next frame. Escape sequences are matched across
// chunk boundaries (the longest partial match is kept, as in
// Knuth–Morris–Pratt), and the bytes of a device message never reach the
// samples. The stream has no counter, so nothing is reported as dropped.
type SpikerBoxParser struct {
	ch    int
	mid   int32
	scale float32
	stats ParseStats

	esc   int  // bytes of the start (or, in a message, end) sequence matched
	inMsg bool // between the start and end sequences
	msg   [SpikerBoxMaxMsg]byte
	mlen  int
	last  [SpikerBoxMaxMsg]byte
	llen  int
	msgs  uint64
	event uint8

	// data bytes released by a failed escape match, to parse before new input
	pend   [len(spikerMsgStart)]byte
	pi, pn int

	k   int // bytes of the current frame received; 0: expecting a frame start
	hi  int32
	cur SpikerBoxFrame
}

// NewSpikerBoxParser returns a parser for c. It panics if c is invalid:
// validate configs with SpikerBoxConfig.Validate.
func NewSpikerBoxParser(c SpikerBoxConfig) *SpikerBoxParser {
	if err := c.Validate(); err != nil {
		panic("acquire: NewSpikerBoxParser: " + err.Error())
	}
	return &SpikerBoxParser{ch: c.Channels, mid: 1 << (c.Bits - 1), scale: float32(c.ScaleUV)}
}

// Channels returns the channel count.
func (p *SpikerBoxParser) Channels() int { return p.ch }

// CounterModulus returns 0: the stream has no counter.
func (p *SpikerBoxParser) CounterModulus() uint32 { return 0 }

// Stats returns the counts since the parser was made or Reset.
func (p *SpikerBoxParser) Stats() ParseStats { return p.stats }

// Messages returns the number of complete device messages seen.
func (p *SpikerBoxParser) Messages() uint64 { return p.msgs }

// LastMessage returns the newest complete device message, without the
// escape sequences. It is valid until the next Parse.
func (p *SpikerBoxParser) LastMessage() []byte { return p.last[:p.llen] }

// Reset forgets all state and statistics.
func (p *SpikerBoxParser) Reset() { *p = SpikerBoxParser{ch: p.ch, mid: p.mid, scale: p.scale} }

// Resync drops a partial frame, a partial message and partial escape
// matches.
func (p *SpikerBoxParser) Resync() {
	p.esc, p.inMsg, p.mlen, p.pi, p.pn, p.k, p.event = 0, false, 0, 0, 0, 0, 0
}

// Parse decodes in, appending frames to dst while len(dst) < cap(dst), and
// returns dst and the bytes consumed (all of them unless dst filled up). It
// does not allocate.
func (p *SpikerBoxParser) Parse(dst []SpikerBoxFrame, in []byte) ([]SpikerBoxFrame, int) {
	i := 0
	for len(dst) < cap(dst) {
		if p.pi < p.pn {
			dst = p.data(dst, p.pend[p.pi])
			p.pi++
			continue
		}
		if i == len(in) {
			break
		}
		if !p.inMsg && p.esc == 0 {
			var n int
			dst, n = p.run(dst, in[i:])
			i += n
			if i == len(in) || len(dst) == cap(dst) {
				break
			}
		}
		c := in[i]
		i++
		switch {
		case p.inMsg:
			p.msgByte(c)
		case p.esc == 0 && c != spikerMsgStart[0]:
			dst = p.data(dst, c)
		default:
			p.startByte(c)
		}
	}
	p.stats.Bytes += uint64(i)
	return dst, i
}

// escFallback returns the length of the longest suffix of seq[:e] + c that
// is a prefix of seq.
func escFallback(seq *[6]byte, e int, c byte) int {
	for l := min(e+1, len(seq)-1); l > 0; l-- {
		// suffix of length l: seq[e+1-l:e] + c
		if seq[l-1] != c {
			continue
		}
		ok := true
		for j := 0; j < l-1; j++ {
			if seq[e+1-l+j] != seq[j] {
				ok = false
				break
			}
		}
		if ok {
			return l
		}
	}
	return 0
}

// startByte advances the match of the start sequence by c, releasing the
// bytes that cannot start it as data.
func (p *SpikerBoxParser) startByte(c byte) {
	if c == spikerMsgStart[p.esc] {
		p.esc++
		if p.esc == len(spikerMsgStart) {
			p.esc, p.inMsg, p.mlen = 0, true, 0
		}
		return
	}
	l := escFallback(&spikerMsgStart, p.esc, c)
	// held bytes: spikerMsgStart[:esc] + c; the first esc+1−l are data
	held := p.esc + 1
	p.pi, p.pn = 0, held-l
	for j := 0; j < p.pn; j++ {
		if j < p.esc {
			p.pend[j] = spikerMsgStart[j]
		} else {
			p.pend[j] = c
		}
	}
	p.esc = l
}

// msgByte advances a device message by c.
func (p *SpikerBoxParser) msgByte(c byte) {
	if c == spikerMsgEnd[p.esc] {
		p.esc++
		if p.esc == len(spikerMsgEnd) {
			p.endMessage()
		}
		return
	}
	l := escFallback(&spikerMsgEnd, p.esc, c)
	held := p.esc + 1
	for j := 0; j < held-l; j++ {
		b := c
		if j < p.esc {
			b = spikerMsgEnd[j]
		}
		if p.mlen == len(p.msg) { // longer than any device message: not one
			p.stats.Bad++
			p.esc, p.inMsg, p.mlen = 0, false, 0
			return
		}
		p.msg[p.mlen] = b
		p.mlen++
	}
	p.esc = l
}

func (p *SpikerBoxParser) endMessage() {
	p.esc, p.inMsg = 0, false
	p.llen = copy(p.last[:], p.msg[:p.mlen])
	p.msgs++
	m := p.msg[:p.mlen]
	if len(m) > 5 && string(m[:5]) == "EVNT:" {
		var n int
		for _, d := range m[5:] {
			if d < '0' || d > '9' {
				break
			}
			n = n*10 + int(d-'0')
			if n > 255 {
				break
			}
		}
		if n > 0 && n <= 255 {
			p.event = uint8(n)
		}
	}
	p.mlen = 0
}

// run is data's loop over plain sample bytes, the fast path: it stops
// before a 0xFF (which may start an escape sequence) or when dst is full,
// and returns the bytes consumed.
func (p *SpikerBoxParser) run(dst []SpikerBoxFrame, in []byte) ([]SpikerBoxFrame, int) {
	k, hi, last := p.k, p.hi, 2*p.ch
	full, mid, scale := 2*p.mid, p.mid, p.scale
	cur := &p.cur
	i := 0
	for ; i < len(in); i++ {
		c := in[i]
		if c&spikerHigh != 0 {
			if c == spikerMsgStart[0] {
				break
			}
			if k != 0 {
				p.stats.Bad++
				p.stats.Resyncs++
			}
			hi, k = int32(c&0x7F), 1
			continue
		}
		switch {
		case k == 0:
			p.stats.Skipped++
			continue
		case k&1 == 0:
			hi = int32(c)
			k++
			continue
		}
		raw := hi<<7 | int32(c)
		if raw >= full {
			p.stats.Bad++
			p.stats.Resyncs++
			k = 0
			continue
		}
		ch := (k >> 1) % SpikerBoxMaxCh
		v := raw - mid
		cur.Counts[ch] = int16(v)
		cur.Microvolts[ch] = float32(v) * scale
		k++
		if k < last {
			continue
		}
		k = 0
		cur.Event, p.event = p.event, 0
		p.stats.Packets++
		p.stats.Frames++
		dst = append(dst, *cur)
		if len(dst) == cap(dst) {
			i++
			break
		}
	}
	p.k, p.hi = k, hi
	return dst, i
}

// data feeds one sample byte to the frame state machine.
func (p *SpikerBoxParser) data(dst []SpikerBoxFrame, c byte) []SpikerBoxFrame {
	if c&spikerHigh != 0 {
		if p.k != 0 {
			p.stats.Bad++ // a frame start inside a frame: drop the partial frame
			p.stats.Resyncs++
		}
		p.hi, p.k = int32(c&0x7F), 1
		return dst
	}
	switch {
	case p.k == 0:
		p.stats.Skipped++
		return dst
	case p.k&1 == 0: // high bits of the next channel
		p.hi = int32(c)
		p.k++
		return dst
	}
	ch := p.k >> 1
	raw := p.hi<<7 | int32(c)
	if raw >= 2*p.mid { // above full scale: not a sample of this board
		p.stats.Bad++
		p.stats.Resyncs++
		p.k = 0
		return dst
	}
	v := raw - p.mid
	p.cur.Counts[ch] = int16(v)
	p.cur.Microvolts[ch] = float32(v) * p.scale
	p.k++
	if p.k < 2*p.ch {
		return dst
	}
	p.k = 0
	p.cur.Event, p.event = p.event, 0
	p.stats.Packets++
	p.stats.Frames++
	return append(dst, p.cur)
}
