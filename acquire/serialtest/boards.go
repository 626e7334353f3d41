package serialtest

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
)

// Board is what a Device emulates: the bytes of its packets and its answers
// to commands. Packet k is the k-th packet since the stream (re)started; a
// Board must give the same bytes for the same k every time, so that a test
// knows what each received frame should hold. Methods are called from the
// Device's goroutines; implementations lock their own state.
type Board interface {
	// PacketRate is packets per second at real speed.
	PacketRate() float64
	// Streaming reports whether the board sends packets now.
	Streaming() bool
	// AppendPacket appends the bytes of packet k.
	AppendPacket(dst []byte, k uint64) []byte
	// Corrupt damages packet pkt (as AppendPacket wrote it) so that a
	// correct parser must reject it.
	Corrupt(pkt []byte)
	// Input takes bytes the host wrote and returns the reply, and whether
	// the stream (re)starts at packet 0 now.
	Input(in []byte) (reply []byte, restart bool)
}

// gen is the generator of packet or frame k of a board seeded seed: a PCG
// (math/rand/v2) held by value, so that generating a packet does not
// allocate and a Device's steady state does not disturb allocation counts
// of the code under test.
type gen struct{ src rand.PCG }

func pcg(seed, k uint64) *gen {
	g := &gen{}
	g.src.Seed(seed, k)
	return g
}

func (g *gen) Uint32() uint32 { return uint32(g.src.Uint64() >> 32) }

// IntN returns a value in [0, n); the modulo bias (below 2⁻⁴⁰ for the n
// used here) does not matter for test data.
func (g *gen) IntN(n int) int { return int(g.src.Uint64() % uint64(n)) }

// CytonBoard emulates an OpenBCI Cyton (or Cyton + Daisy) behind its USB
// dongle: it answers 'v' with the firmware 3 banner, 'b' and 's' start and
// stop the stream, 'd', 'c', 'C' and x…X reply as the firmware does, and
// packets carry seeded random 24-bit samples, an accelerometer reading
// every 10th packet (25 Hz) and footer 0xC0.
type CytonBoard struct {
	Daisy bool
	Seed  uint64
	// CounterStart is the counter of packet 0 (even with the Daisy, whose
	// frames are even/odd pairs).
	CounterStart uint8
	// FalseHeaders puts header and footer bytes (0xA0, 0xC0) inside the
	// samples of every 5th frame.
	FalseHeaders bool
	// Mute makes a board that never answers nor streams.
	Mute bool

	mu        sync.Mutex
	streaming bool
	cmd       []byte
	gains     [16]int
	gainSet   bool
}

// Frame returns the channel counts of frame f (16 with the Daisy).
func (b *CytonBoard) Frame(f uint64) [16]int32 {
	var ch [16]int32
	r := pcg(b.Seed, f)
	n := 8
	if b.Daisy {
		n = 16
	}
	for i := range n {
		ch[i] = int32(r.Uint32()>>8) - 1<<23
	}
	if b.FalseHeaders && f%5 == 0 {
		ch[0] = int32(0xA0C0A0) - 1<<24 // bytes A0 C0 A0: header and footer values
		ch[3] = 0x00A0C0
	}
	return ch
}

// Accel returns the accelerometer counts carried by packet k, and whether
// it carries a reading.
func (b *CytonBoard) Accel(k uint64) ([3]int16, bool) {
	if k%10 != 0 {
		return [3]int16{}, false
	}
	r := pcg(b.Seed^0xACCE1, k)
	return [3]int16{int16(r.IntN(4000) - 2000), int16(r.IntN(4000) - 2000), int16(8000 + r.IntN(200))}, true
}

// PacketRate returns 250.
func (b *CytonBoard) PacketRate() float64 { return 250 }

// Streaming reports whether 'b' started the stream.
func (b *CytonBoard) Streaming() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.streaming
}

// FrameOfPacket returns the frame a packet belongs to and, with the Daisy,
// whether it is the board half (odd counter, channels 1–8).
func (b *CytonBoard) FrameOfPacket(k uint64) (uint64, bool) {
	if !b.Daisy {
		return k, true
	}
	return k / 2, k%2 == 1
}

// AppendPacket appends packet k.
func (b *CytonBoard) AppendPacket(dst []byte, k uint64) []byte {
	f, board := b.FrameOfPacket(k)
	ch := b.Frame(f)
	off := 0
	if b.Daisy && !board {
		off = 8
	}
	dst = append(dst, 0xA0, b.CounterStart+uint8(k))
	for i := range 8 {
		v := uint32(ch[off+i])
		dst = append(dst, byte(v>>16), byte(v>>8), byte(v))
	}
	acc, ok := b.Accel(k)
	if !ok {
		acc = [3]int16{}
	}
	for _, a := range acc {
		dst = append(dst, byte(uint16(a)>>8), byte(a))
	}
	return append(dst, 0xC0)
}

// Corrupt replaces the footer with a byte no footer has.
func (b *CytonBoard) Corrupt(pkt []byte) { pkt[32] = 0x5C }

// Banner returns the firmware's reply to 'v'.
func (b *CytonBoard) Banner() string {
	s := "OpenBCI V3 8-16 channel\nOn Board ADS1299 Device ID: 0x3E\n"
	if b.Daisy {
		s += "On Daisy ADS1299 Device ID: 0x3E\n"
	}
	return s + "LIS3DH Device ID: 0x33\nFirmware: v3.1.2\n$$$"
}

// Gains returns the gains set by x…X commands since the last 'v' or 'd',
// and whether any was set.
func (b *CytonBoard) Gains() ([16]int, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.gains, b.gainSet
}

var cytonGainOf = map[byte]int{'0': 1, '1': 2, '2': 4, '3': 6, '4': 8, '5': 12, '6': 24}

// Input handles the Cyton's single-byte commands and x…X settings.
func (b *CytonBoard) Input(in []byte) ([]byte, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.Mute {
		return nil, false
	}
	var reply []byte
	restart := false
	for _, c := range in {
		if len(b.cmd) > 0 {
			b.cmd = append(b.cmd, c)
			if c != 'X' && len(b.cmd) < 9 {
				continue
			}
			cmd := b.cmd
			b.cmd = nil
			ch := strings.IndexByte("12345678QWERTYUI", cmd[1])
			g, ok := cytonGainOf[cmd[3]]
			if len(cmd) != 9 || c != 'X' || ch < 0 || !ok || (ch >= 8 && !b.Daisy) {
				reply = append(reply, "Failure: too few chars$$$"...)
				continue
			}
			b.gains[ch], b.gainSet = g, true
			reply = fmt.Appendf(reply, "Success: Channel set for %d$$$", ch+1)
			continue
		}
		switch c {
		case 'v':
			b.streaming, b.gains, b.gainSet = false, [16]int{}, false
			reply = append(reply, b.Banner()...)
		case 'b':
			b.streaming, restart = true, true
		case 's':
			b.streaming = false
		case 'd':
			b.gains, b.gainSet = [16]int{}, false
			reply = append(reply, "updating channel settings to default$$$"...)
		case 'c':
			reply = append(reply, "daisy removed$$$"...)
		case 'C':
			if b.Daisy {
				reply = append(reply, "16$$$"...)
			} else {
				reply = append(reply, "no daisy to attach!$$$"...)
			}
		case 'x':
			b.cmd = append(b.cmd[:0], c)
		}
	}
	return reply, restart
}

// ModEEGBoard emulates an OpenEEG ModularEEG with P2 firmware: it streams
// from power-on and ignores input. Samples are seeded random 10-bit values;
// the switch byte is the packet number's low 4 bits.
type ModEEGBoard struct {
	Seed         uint64
	CounterStart uint8
	// FalseHeaders puts the sync byte 0xA5 in a low byte of every 5th packet.
	FalseHeaders bool
}

// Frame returns the counts of packet k.
func (b *ModEEGBoard) Frame(k uint64) [6]uint16 {
	var ch [6]uint16
	r := pcg(b.Seed, k)
	for i := range ch {
		ch[i] = uint16(r.IntN(1024))
	}
	if b.FalseHeaders && k%5 == 0 {
		ch[2] = 0x0A5
		ch[3] = 0x25A
	}
	return ch
}

// PacketRate returns 256.
func (b *ModEEGBoard) PacketRate() float64 { return 256 }

// Streaming returns true.
func (b *ModEEGBoard) Streaming() bool { return true }

// AppendPacket appends packet k.
func (b *ModEEGBoard) AppendPacket(dst []byte, k uint64) []byte {
	dst = append(dst, 0xA5, 0x5A, 2, b.CounterStart+uint8(k))
	for _, v := range b.Frame(k) {
		dst = append(dst, byte(v>>8), byte(v))
	}
	return append(dst, byte(k&0x0F))
}

// Corrupt changes the version byte.
func (b *ModEEGBoard) Corrupt(pkt []byte) { pkt[2] = 3 }

// Input ignores the host: the P2 firmware takes no commands.
func (b *ModEEGBoard) Input([]byte) ([]byte, bool) { return nil, false }

// ThinkGearBoard emulates a NeuroSky TGAM in raw mode: a raw-value packet
// per sample at 512 Hz and, after every 512th, an eSense packet (poor
// signal, attention, meditation, ASIC EEG power). It ignores input.
type ThinkGearBoard struct {
	Seed uint64
	// FalseHeaders makes every 5th raw value 0xAAAA, two sync bytes.
	FalseHeaders bool
}

// Raw returns the raw value of packet k.
func (b *ThinkGearBoard) Raw(k uint64) int16 {
	if b.FalseHeaders && k%5 == 0 {
		return -0x5556 // 0xAAAA
	}
	return int16(pcg(b.Seed, k).IntN(4096) - 2048)
}

// ESense returns the eSense values sent after packet k, and whether k is
// followed by them.
func (b *ThinkGearBoard) ESense(k uint64) (poor, att, med uint8, power [8]uint32, ok bool) {
	if k%512 != 511 {
		return 0, 0, 0, power, false
	}
	r := pcg(b.Seed^0xE5E, k)
	for i := range power {
		power[i] = r.Uint32() & 0xFFFFFF
	}
	return uint8(r.IntN(201)), uint8(r.IntN(101)), uint8(r.IntN(101)), power, true
}

// PacketRate returns 512.
func (b *ThinkGearBoard) PacketRate() float64 { return 512 }

// Streaming returns true.
func (b *ThinkGearBoard) Streaming() bool { return true }

func tgPacket(dst, payload []byte) []byte {
	var sum byte
	for _, c := range payload {
		sum += c
	}
	dst = append(dst, 0xAA, 0xAA, byte(len(payload)))
	dst = append(dst, payload...)
	return append(dst, ^sum)
}

// AppendPacket appends raw packet k, and the eSense packet after it when
// one is due.
func (b *ThinkGearBoard) AppendPacket(dst []byte, k uint64) []byte {
	raw := uint16(b.Raw(k))
	dst = tgPacket(dst, []byte{0x80, 0x02, byte(raw >> 8), byte(raw)})
	if poor, att, med, power, ok := b.ESense(k); ok {
		var a [32]byte
		p := append(a[:0], 0x02, poor, 0x04, att, 0x05, med, 0x83, 24)
		for _, v := range power {
			p = append(p, byte(v>>16), byte(v>>8), byte(v))
		}
		dst = tgPacket(dst, p)
	}
	return dst
}

// Corrupt inverts the raw packet's checksum.
func (b *ThinkGearBoard) Corrupt(pkt []byte) { pkt[7] ^= 0xFF }

// Input ignores the host.
func (b *ThinkGearBoard) Input([]byte) ([]byte, bool) { return nil, false }

// SpikerBoxBoard emulates a Backyard Brains SpikerBox: it streams from
// power-on, answers "?:;" with a device message naming its hardware, and
// accepts "c:N;" for its own channel count only.
type SpikerBoxBoard struct {
	Seed     uint64
	Channels int // 1–10
	Bits     int // 10 or 14
	// Hardware is the HWT field of the reply to "?:;"; "" means
	// MUSCLEUSBPRO.
	Hardware string
	// FalseHeaders sends an "EVNT:n;" device message (n = 1 + k mod 9)
	// after every 50th frame, bytes with the top bit set in the escape
	// sequences between samples.
	FalseHeaders bool

	mu   sync.Mutex
	line []byte
}

// Frame returns the samples of frame k, 0 … 2^Bits − 1.
func (b *SpikerBoxBoard) Frame(k uint64) [10]int32 {
	var ch [10]int32
	r := pcg(b.Seed, k)
	for i := range b.Channels {
		ch[i] = int32(r.IntN(1 << b.Bits))
	}
	return ch
}

// Event returns the marker sent after frame k, or 0.
func (b *SpikerBoxBoard) Event(k uint64) uint8 {
	if b.FalseHeaders && k%50 == 49 {
		return uint8(1 + k%9)
	}
	return 0
}

// PacketRate returns 10 kHz divided by the channels.
func (b *SpikerBoxBoard) PacketRate() float64 { return 10000 / float64(b.Channels) }

// Streaming returns true.
func (b *SpikerBoxBoard) Streaming() bool { return true }

// SpikerMessage appends a device message framed by the escape sequences.
func SpikerMessage(dst []byte, msg string) []byte {
	dst = append(dst, 0xFF, 0xFF, 0x01, 0x01, 0x80, 0xFF)
	dst = append(dst, msg...)
	return append(dst, 0xFF, 0xFF, 0x01, 0x01, 0x81, 0xFF)
}

// AppendPacket appends frame k (and a marker message after it when due).
func (b *SpikerBoxBoard) AppendPacket(dst []byte, k uint64) []byte {
	ch := b.Frame(k)
	for i := range b.Channels {
		hi := byte(ch[i] >> 7)
		if i == 0 {
			hi |= 0x80
		}
		dst = append(dst, hi, byte(ch[i]&0x7F))
	}
	if e := b.Event(k); e != 0 {
		dst = append(dst, 0xFF, 0xFF, 0x01, 0x01, 0x80, 0xFF, 'E', 'V', 'N', 'T', ':', '0'+e, ';')
		dst = append(dst, 0xFF, 0xFF, 0x01, 0x01, 0x81, 0xFF)
	}
	return dst
}

// Corrupt sets the top bit of the first low byte, breaking the frame.
func (b *SpikerBoxBoard) Corrupt(pkt []byte) { pkt[1] |= 0x80 }

// Input answers "?:;" and takes "c:N;" lines.
func (b *SpikerBoxBoard) Input(in []byte) ([]byte, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	var reply []byte
	b.line = append(b.line, in...)
	for {
		i := bytes.IndexByte(b.line, ';')
		if i < 0 {
			break
		}
		cmd := strings.TrimSpace(string(b.line[:i+1]))
		b.line = b.line[i+1:]
		if cmd == "?:;" {
			hw := b.Hardware
			if hw == "" {
				hw = "MUSCLEUSBPRO"
			}
			reply = SpikerMessage(reply, "FWV:1.0;HWT:"+hw+";HWV:1.0;")
		}
	}
	return reply, false
}
