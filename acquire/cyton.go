package acquire

import (
	"errors"
	"fmt"
)

// OpenBCI Cyton serial protocol, as the Cyton's USB dongle delivers it
// (OpenBCI, "Cyton Data Format", docs.openbci.com/Cyton/CytonDataFormat,
// and "Cyton SDK", docs.openbci.com/Cyton/CytonSDK): 115200 baud 8N1, one
// 33-byte packet per sample at 250 Hz:
//
//	offset size  field
//	0      1     header 0xA0
//	1      1     sample counter, +1 per packet, wraps 255 → 0
//	2      24    8 channels × 24-bit big-endian two's complement (ADS1299 counts)
//	26     6     aux: 3 × int16 big-endian accelerometer X, Y, Z with footer 0xC0
//	32     1     footer 0xC0–0xC6 (0xC0 standard with accelerometer, 0xC1 raw aux,
//	             0xC2–0xC6 time-stamped and user-defined aux formats)
//
// Channel counts are volts × gain × (2²³ − 1) / 4.5 V (ADS1299 data sheet,
// §9.5.1: full scale ±VREF/gain, VREF 4.5 V), so µV = counts × 4.5e6 / gain /
// (2²³ − 1): 0.02235 µV per count at the default gain 24. Accelerometer
// counts (LIS3DH at ±4 g, 16 mg per 16 counts) are 0.002/16 g each, the
// factor OpenBCI's and BrainFlow's decoders use; the firmware fills the aux
// bytes with a new reading at 25 Hz and zeros in between.
//
// With the Daisy module the board alternates packets of its two ADS1299s at
// 250 Hz, each averaged over two samples: an even counter carries the Daisy's
// channels 9–16, the following odd counter the board's channels 1–8, and the
// pair is one 16-channel frame at 125 Hz (BrainFlow's cyton_daisy.cpp pairs
// them the same way).
//
// Commands are single ASCII bytes: 'v' soft-resets and replies with a banner
// ending in "$$$", 'b' starts streaming, 's' stops, 'd' restores the default
// channel settings, 'c'/'C' select 8- or 16-channel mode, and
// "x<ch><power><gain><input><bias><srb2><srb1>X" sets one channel (channel
// '1'–'8', Daisy 'Q' 'W' 'E' 'R' 'T' 'Y' 'U' 'I'; gain code '0'–'6' for gains
// 1, 2, 4, 6, 8, 12, 24).
const (
	CytonBaud       = 115200
	CytonRate       = 250.0 // frames per second without the Daisy
	CytonDaisyRate  = 125.0 // frames per second with the Daisy
	CytonPacketSize = 33

	cytonHeader    = 0xA0
	cytonFooterMin = 0xC0
	cytonFooterMax = 0xC6
	cytonVRef      = 4.5               // V, ADS1299 reference on the Cyton
	cytonFullScale = 1<<23 - 1         // largest positive 24-bit count
	cytonAccelG    = 0.002 / 16        // g per accelerometer count
	cytonGainCodes = "0123456"         // x-command gain codes for cytonGains
	cytonDaisyChar = "QWERTYUI"        // x-command channel names 9–16
	cytonMaxCh     = 16                // channels of a Daisy frame
	cytonDefGain   = 24                // power-on and 'd' gain of every channel
	cytonStdFooter = cytonFooterMin    // footer of packets with accelerometer aux
	cytonCounterM  = 256               // packet counter modulus
	cytonDaisyM    = cytonCounterM / 2 // frame counter modulus with the Daisy
)

// cytonGains are the ADS1299 PGA gains, indexed by x-command gain code.
var cytonGains = [...]int{1, 2, 4, 6, 8, 12, 24}

// CytonGainCode returns the x-command gain code ('0'–'6') of an ADS1299 PGA
// gain, and false if gain is not one of 1, 2, 4, 6, 8, 12, 24.
func CytonGainCode(gain int) (byte, bool) {
	for i, g := range cytonGains {
		if g == gain {
			return cytonGainCodes[i], true
		}
	}
	return 0, false
}

// CytonChannelCommand returns the x…X command that powers channel ch
// (0-based, 0–15) on with gain, normal electrode input, in the bias, SRB2
// connected and SRB1 disconnected: the Cyton's default settings except for
// the gain. It returns an error for a channel or gain the board lacks.
func CytonChannelCommand(ch, gain int) ([]byte, error) {
	code, ok := CytonGainCode(gain)
	if !ok {
		return nil, fmt.Errorf("gain %d is not one of 1, 2, 4, 6, 8, 12, 24", gain)
	}
	var name byte
	switch {
	case ch >= 0 && ch < 8:
		name = byte('1' + ch)
	case ch >= 8 && ch < 16:
		name = cytonDaisyChar[ch-8]
	default:
		return nil, fmt.Errorf("channel %d is outside 0–15", ch)
	}
	return []byte{'x', name, '0', code, '0', '1', '1', '0', 'X'}, nil
}

// CytonConfig configures the Cyton driver.
type CytonConfig struct {
	// Gains is the PGA gain of each channel (8, or 16 with the Daisy), one of
	// 1, 2, 4, 6, 8, 12, 24. Empty means 24 on every channel, the board's
	// default. The serial Source sends the x…X commands for them and the
	// parser scales each channel by its gain.
	Gains []int `yaml:"gains"`
}

// DefaultCytonConfig returns the board's defaults: gain 24 everywhere.
func DefaultCytonConfig() CytonConfig { return CytonConfig{} }

// Validate reports every problem of c at once for a board of channels
// channels (8 or 16).
func (c *CytonConfig) Validate(channels int) error {
	var errs []error
	if len(c.Gains) != 0 && len(c.Gains) != channels {
		errs = append(errs, fmt.Errorf("gains: %d given, want none or one per channel (%d)", len(c.Gains), channels))
	}
	for i, g := range c.Gains {
		if _, ok := CytonGainCode(g); !ok {
			errs = append(errs, fmt.Errorf("gains[%d]: %d is not one of 1, 2, 4, 6, 8, 12, 24", i, g))
		}
	}
	return errors.Join(errs...)
}

// CytonFrame is one decoded frame: one packet of the Cyton, or an even/odd
// packet pair with the Daisy.
type CytonFrame struct {
	Counter  uint8  // sample counter of the frame's (last) packet
	Dropped  uint32 // frames lost just before this one, counted from the sample counter
	Footer   uint8  // footer of the frame's (last) packet, 0xC0–0xC6
	HasAccel bool   // Accel holds a new accelerometer reading (footer 0xC0, aux not all zero)
	Aux      [6]byte
	// Accel is the accelerometer X, Y, Z in g when HasAccel (with the
	// Daisy: the mean of the pair's readings).
	Accel [3]float32
	// Counts are the channels' raw ADS1299 counts; Microvolts the same
	// scaled by the channel's gain. Channels 0–7 are the board's, 8–15 the
	// Daisy's; entries past the parser's channel count are zero.
	Counts     [cytonMaxCh]int32
	Microvolts [cytonMaxCh]float32
}

// CytonParser decodes a Cyton (or Cyton + Daisy) byte stream into frames. It
// is a pure state machine over bytes: the same bytes in any chunking give
// the same frames. It resynchronises after corrupt or dropped bytes: while
// in lock (the previous packet ended right before) a packet is accepted on
// its header and footer; after a loss of lock a candidate header is also
// confirmed by the next packet's header byte, so a 0xA0 inside sample data
// is not taken for a packet start. Gaps in the sample counter are reported
// as CytonFrame.Dropped, never filled in. The zero value is not usable: make
// one with NewCytonParser.
type CytonParser struct {
	daisy   bool
	scale   [cytonMaxCh]float32
	stats   ParseStats
	buf     [CytonPacketSize + 1]byte
	n       int
	locked  bool
	seen    bool   // last is valid
	last    uint32 // counter (Daisy: pair id) of the last frame
	half    bool   // a Daisy (even) half is pending
	halfCnt uint8
	halfCh  [8]int32
	halfAcc [3]float32
	halfHas bool
}

// NewCytonParser returns a parser for a Cyton with (daisy) or without the
// Daisy module, scaling channel i by gains[i] (nil or empty: 24 on every
// channel). It panics if gains has the wrong length or a gain the ADS1299
// lacks: validate configs with CytonConfig.Validate.
func NewCytonParser(daisy bool, gains []int) *CytonParser {
	p := &CytonParser{daisy: daisy}
	n := 8
	if daisy {
		n = 16
	}
	c := CytonConfig{Gains: gains}
	if err := c.Validate(n); err != nil {
		panic("acquire: NewCytonParser: " + err.Error())
	}
	for i := range n {
		g := cytonDefGain
		if len(gains) > 0 {
			g = gains[i]
		}
		p.scale[i] = float32(cytonVRef * 1e6 / float64(g) / cytonFullScale)
	}
	return p
}

// Channels returns 8, or 16 with the Daisy.
func (p *CytonParser) Channels() int {
	if p.daisy {
		return 16
	}
	return 8
}

// Rate returns the frame rate: 250 Hz, or 125 Hz with the Daisy.
func (p *CytonParser) Rate() float64 {
	if p.daisy {
		return CytonDaisyRate
	}
	return CytonRate
}

// CounterModulus returns the modulus of the frame counter behind Dropped:
// 256 packets, or 128 frames with the Daisy.
func (p *CytonParser) CounterModulus() uint32 {
	if p.daisy {
		return cytonDaisyM
	}
	return cytonCounterM
}

// Stats returns the counts since the parser was made or Reset.
func (p *CytonParser) Stats() ParseStats { return p.stats }

// Reset forgets all state: partial packets, lock, the last counter and the
// statistics.
func (p *CytonParser) Reset() {
	daisy, scale := p.daisy, p.scale
	*p = CytonParser{daisy: daisy, scale: scale}
}

// Resync drops partial packets and the lock but remembers the last counter,
// so that the gap across a reconnect to a board that kept streaming is
// counted.
func (p *CytonParser) Resync() {
	p.n, p.locked, p.half = 0, false, false
}

// Parse decodes in, appending complete frames to dst while it has room
// (len < cap), and returns dst and the number of bytes of in consumed: all
// of them unless dst filled up, in which case the caller passes in[consumed:]
// again with room. Partial packets are kept in the parser, so in may be cut
// anywhere. Parse does not allocate.
func (p *CytonParser) Parse(dst []CytonFrame, in []byte) ([]CytonFrame, int) {
	i := 0
	for i < len(in) {
		if len(dst) == cap(dst) {
			break
		}
		// Fast path: a whole packet in place, in lock.
		if p.n == 0 && p.locked && len(in)-i >= CytonPacketSize && in[i] == cytonHeader &&
			in[i+CytonPacketSize-1] >= cytonFooterMin && in[i+CytonPacketSize-1] <= cytonFooterMax {
			dst = p.packet(dst, in[i:i+CytonPacketSize])
			i += CytonPacketSize
			continue
		}
		dst = p.step(dst, in[i])
		i++
	}
	p.stats.Bytes += uint64(i)
	return dst, i
}

// step feeds one byte through the slow path.
func (p *CytonParser) step(dst []CytonFrame, c byte) []CytonFrame {
	if p.n == 0 && c != cytonHeader {
		if p.locked {
			p.locked = false
			p.stats.Resyncs++
		}
		p.stats.Skipped++
		return dst
	}
	p.buf[p.n] = c
	p.n++
	need := CytonPacketSize
	if !p.locked {
		need++ // confirm with the next packet's header
	}
	if p.n < need {
		return dst
	}
	footer := p.buf[CytonPacketSize-1]
	if footer < cytonFooterMin || footer > cytonFooterMax || (!p.locked && p.buf[CytonPacketSize] != cytonHeader) {
		// A false or broken header: hunt for the next 0xA0 among the bytes
		// already buffered, which may be the real packet start.
		p.stats.Bad++
		if p.locked {
			p.locked = false
			p.stats.Resyncs++
		}
		j := 1
		for j < p.n && p.buf[j] != cytonHeader {
			j++
		}
		p.stats.Skipped += uint64(j)
		p.n = copy(p.buf[:], p.buf[j:p.n])
		return dst
	}
	confirmed := !p.locked
	dst = p.packet(dst, p.buf[:CytonPacketSize])
	p.n = 0
	if confirmed { // the confirming header starts the next packet
		p.buf[0], p.n = cytonHeader, 1
	}
	return dst
}

// packet decodes one accepted 33-byte packet.
func (p *CytonParser) packet(dst []CytonFrame, b []byte) []CytonFrame {
	_ = b[CytonPacketSize-1]
	p.locked = true
	p.stats.Packets++
	cnt := b[1]
	var ch [8]int32
	for k := range 8 {
		o := 2 + 3*k
		ch[k] = int32(uint32(b[o])<<24|uint32(b[o+1])<<16|uint32(b[o+2])<<8) >> 8
	}
	footer := b[CytonPacketSize-1]
	var acc [3]float32
	hasAcc := false
	if footer == cytonStdFooter {
		x, y, z := int16(uint16(b[26])<<8|uint16(b[27])), int16(uint16(b[28])<<8|uint16(b[29])), int16(uint16(b[30])<<8|uint16(b[31]))
		if x != 0 || y != 0 || z != 0 {
			hasAcc = true
			acc = [3]float32{float32(x) * cytonAccelG, float32(y) * cytonAccelG, float32(z) * cytonAccelG}
		}
	}
	if p.daisy {
		if cnt%2 == 0 { // Daisy half (channels 9–16): wait for the board half
			if p.half {
				p.stats.Bad++ // the previous even half never got its odd half
			}
			p.half, p.halfCnt, p.halfCh, p.halfAcc, p.halfHas = true, cnt, ch, acc, hasAcc
			return dst
		}
		if !p.half || p.halfCnt != cnt-1 {
			p.stats.Bad++ // a board half without its Daisy half: the frame is lost
			p.half = false
			return dst
		}
		p.half = false
	}
	id := uint32(cnt)
	mod := uint32(cytonCounterM)
	if p.daisy {
		id, mod = uint32(cnt)>>1, cytonDaisyM
	}
	var dropped uint32
	if p.seen {
		dropped = counterGap(p.last, id, mod)
	}
	p.seen, p.last = true, id
	dst = append(dst, CytonFrame{Counter: cnt, Dropped: dropped, Footer: footer})
	f := &dst[len(dst)-1]
	copy(f.Aux[:], b[26:32])
	for k := range 8 {
		f.Counts[k] = ch[k]
		f.Microvolts[k] = float32(ch[k]) * p.scale[k]
	}
	if p.daisy {
		for k := range 8 {
			f.Counts[8+k] = p.halfCh[k]
			f.Microvolts[8+k] = float32(p.halfCh[k]) * p.scale[8+k]
		}
		switch {
		case hasAcc && p.halfHas:
			for k := range 3 {
				acc[k] = (acc[k] + p.halfAcc[k]) / 2
			}
		case p.halfHas:
			acc, hasAcc = p.halfAcc, true
		}
	}
	f.Accel, f.HasAccel = acc, hasAcc
	p.stats.Frames++
	p.stats.Dropped += uint64(dropped)
	return dst
}
