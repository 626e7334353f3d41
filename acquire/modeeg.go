package acquire

import (
	"errors"
	"fmt"
	"math"
)

// OpenEEG ModularEEG, firmware protocol P2 (OpenEEG project, "ModularEEG
// firmware", openeeg.sourceforge.net/doc/modeeg/firmware/modeeg-p2.c, whose
// header documents the packet): 57600 baud 8N1, 256 packets per second of
// 17 bytes:
//
//	offset size  field
//	0      2     sync 0xA5 0x5A
//	2      1     version, 2
//	3      1     packet counter, +1 per packet, wraps 255 → 0
//	4      12    6 channels × (high byte, low byte) of a 10-bit sample, 0–1023
//	16     1     switches: state of PD5–PD2 in bits 3–0
//
// The firmware takes no commands. A sample's high byte carries only bits
// 9–8, so a valid packet has high bytes ≤ 3 and a switch byte ≤ 0x0F,
// which the parser checks along with the sync and version bytes.
const (
	ModEEGBaud       = 57600
	ModEEGRate       = 256.0
	ModEEGChannels   = 6
	ModEEGPacketSize = 17

	modeegSync0    = 0xA5
	modeegSync1    = 0x5A
	modeegVersion  = 2
	modeegMid      = 512 // mid-scale of the 10-bit ADC: 0 V at the amplifier input
	modeegCounterM = 256
)

// ModEEGConfig configures the ModularEEG driver.
type ModEEGConfig struct {
	// ScaleUV is µV at the amplifier input per ADC count above mid-scale
	// (512). The P2 format carries no gain and ModularEEG builds differ, so
	// the default 1 reports ADC counts; set it from your amplifier's
	// calibration.
	ScaleUV float64 `yaml:"scale_uv"`
}

// DefaultModEEGConfig returns ScaleUV 1 (counts).
func DefaultModEEGConfig() ModEEGConfig { return ModEEGConfig{ScaleUV: 1} }

// Validate reports every problem of c at once.
func (c *ModEEGConfig) Validate() error {
	var errs []error
	if !(c.ScaleUV > 0) || math.IsInf(c.ScaleUV, 0) {
		errs = append(errs, fmt.Errorf("scale_uv: must be finite and > 0, got %v", c.ScaleUV))
	}
	return errors.Join(errs...)
}

// ModEEGFrame is one decoded P2 packet.
type ModEEGFrame struct {
	Counter    uint8
	Dropped    uint32 // packets lost just before this one, counted from the counter
	Switches   uint8  // PD5–PD2 in bits 3–0
	Counts     [ModEEGChannels]uint16
	Microvolts [ModEEGChannels]float32 // (count − 512) × ScaleUV
}

// ModEEGParser decodes a ModularEEG P2 byte stream. It is a pure state
// machine over bytes (any chunking gives the same frames); after a corrupt
// packet it hunts for the next sync among the bytes it already holds.
// Counter gaps are reported as ModEEGFrame.Dropped, never filled in.
type ModEEGParser struct {
	scale float32
	stats ParseStats
	buf   [ModEEGPacketSize]byte
	n     int
	seen  bool
	last  uint8
}

// NewModEEGParser returns a parser scaling counts by scaleUV µV (see
// ModEEGConfig). It panics if scaleUV is not finite and > 0.
func NewModEEGParser(scaleUV float64) *ModEEGParser {
	c := ModEEGConfig{ScaleUV: scaleUV}
	if err := c.Validate(); err != nil {
		panic("acquire: NewModEEGParser: " + err.Error())
	}
	return &ModEEGParser{scale: float32(scaleUV)}
}

// Channels returns 6.
func (p *ModEEGParser) Channels() int { return ModEEGChannels }

// Rate returns 256 Hz.
func (p *ModEEGParser) Rate() float64 { return ModEEGRate }

// CounterModulus returns 256.
func (p *ModEEGParser) CounterModulus() uint32 { return modeegCounterM }

// Stats returns the counts since the parser was made or Reset.
func (p *ModEEGParser) Stats() ParseStats { return p.stats }

// Reset forgets all state and statistics.
func (p *ModEEGParser) Reset() { *p = ModEEGParser{scale: p.scale} }

// Resync drops a partial packet but remembers the last counter.
func (p *ModEEGParser) Resync() { p.n = 0 }

// modeegValid reports whether b (17 bytes) is a well-formed P2 packet.
func modeegValid(b []byte) bool {
	_ = b[ModEEGPacketSize-1]
	if b[0] != modeegSync0 || b[1] != modeegSync1 || b[2] != modeegVersion || b[16] > 0x0F {
		return false
	}
	return (b[4]|b[6]|b[8]|b[10]|b[12]|b[14])&^3 == 0
}

// Parse decodes in, appending complete frames to dst while len(dst) <
// cap(dst), and returns dst and the bytes consumed (all of them unless dst
// filled up). It does not allocate.
func (p *ModEEGParser) Parse(dst []ModEEGFrame, in []byte) ([]ModEEGFrame, int) {
	i := 0
	for i < len(in) && len(dst) < cap(dst) {
		if p.n == 0 && len(in)-i >= ModEEGPacketSize && modeegValid(in[i:i+ModEEGPacketSize]) {
			dst = p.packet(dst, in[i:i+ModEEGPacketSize])
			i += ModEEGPacketSize
			continue
		}
		c := in[i]
		i++
		if p.n == 0 && c != modeegSync0 {
			p.stats.Skipped++
			continue
		}
		p.buf[p.n] = c
		p.n++
		// Reject early on the fixed bytes so a lone 0xA5 costs little.
		if (p.n == 2 && c != modeegSync1) || (p.n == 3 && c != modeegVersion) || p.n == ModEEGPacketSize {
			if p.n == ModEEGPacketSize && modeegValid(p.buf[:]) {
				dst = p.packet(dst, p.buf[:])
				p.n = 0
				continue
			}
			p.stats.Bad++
			p.stats.Resyncs++
			j := 1
			for j < p.n && p.buf[j] != modeegSync0 {
				j++
			}
			p.stats.Skipped += uint64(j)
			p.n = copy(p.buf[:], p.buf[j:p.n])
		}
	}
	p.stats.Bytes += uint64(i)
	return dst, i
}

func (p *ModEEGParser) packet(dst []ModEEGFrame, b []byte) []ModEEGFrame {
	p.stats.Packets++
	cnt := b[3]
	var dropped uint32
	if p.seen {
		dropped = counterGap(uint32(p.last), uint32(cnt), modeegCounterM)
	}
	p.seen, p.last = true, cnt
	f := ModEEGFrame{Counter: cnt, Dropped: dropped, Switches: b[16]}
	for k := range ModEEGChannels {
		v := uint16(b[4+2*k])<<8 | uint16(b[5+2*k])
		f.Counts[k] = v
		f.Microvolts[k] = float32(int(v)-modeegMid) * p.scale
	}
	p.stats.Frames++
	p.stats.Dropped += uint64(dropped)
	return append(dst, f)
}
