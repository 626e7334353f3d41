// Package pulsepaltest is a fake Sanworks Pulse Pal 2 for tests: a
// serialtest.Board that parses the real serial opcodes of the Pulse Pal 2
// firmware (v2.0.1, github.com/sanworks/PulsePal, Firmware/PulsePal_2_0_1)
// and records what it was told. Run it behind a pseudo-terminal with
// serialtest.NewDevice and open its Path through go.bug.st/serial like a
// real port.
//
// Every command starts with the op-menu byte 213. Multi-byte values are
// little-endian (the ArCOM library on the Arduino Due, and the Python
// client's numpy encoding). Implemented, as the firmware reads them:
//
//	213 72                     handshake → 75, firmware version (uint32)
//	213 74 code ch value       program one parameter of output channel ch
//	                           (1–4) → 1; value is uint8 for codes 1
//	                           (biphasic) and 12–16, uint16 for voltages
//	                           (2 phase 1, 3 phase 2, 17 resting; 16-bit
//	                           code over −10…+10 V, 32768 = 0 V), uint32 for
//	                           times in 50 µs cycles (4 phase 1, 5 interphase,
//	                           6 phase 2, 7 interpulse, 8 burst, 9 burst
//	                           interval, 10 train duration, 11 train delay);
//	                           code 128 (trigger mode) takes a uint8
//	213 77 bits                soft-trigger the output channels whose bits
//	                           (bit i = channel i+1) are set; no reply
//	213 80                     abort every pulse train; no reply
//	213 81                     disconnect (aborts too); no reply
//	213 89 six bytes           client name shown on the display; no reply
//
// A byte other than 213 where a command should start, an unknown opcode or
// parameter code, or a channel outside 1–4 is recorded in Errors and
// skipped.
package pulsepaltest

import (
	"encoding/binary"
	"fmt"
	"sync"
)

// Channel is the programmed state of one output channel.
type Channel struct {
	Biphasic                                                uint8
	Phase1Voltage, Phase2Voltage, RestingVoltage            uint16
	Phase1Duration, InterPhaseInterval, Phase2Duration      uint32
	InterPulseInterval, BurstDuration, BurstInterval        uint32
	PulseTrainDuration, PulseTrainDelay                     uint32
	LinkTrigger1, LinkTrigger2                              uint8
	CustomTrainID, CustomTrainTarget, CustomTrainLoop, Mode uint8
}

// Trigger is one soft trigger: the channel bits and the state of all four
// channels at that moment.
type Trigger struct {
	Bits     byte
	Channels [4]Channel
}

// PulsePal is the fake device. The zero value is not usable: use New.
type PulsePal struct {
	firmware uint32

	mu          sync.Mutex
	buf         []byte
	ch          [4]Channel
	handshakes  int
	programs    int
	triggers    []Trigger
	aborts      int
	disconnects int
	client      string
	errs        []string
}

// New returns a fake Pulse Pal reporting firmware (20 and above is a
// Pulse Pal 2), with the power-up state of the firmware: resting voltage
// 32768 (0 V) on every channel, everything else 0.
func New(firmware uint32) *PulsePal {
	p := &PulsePal{firmware: firmware}
	for i := range p.ch {
		p.ch[i].RestingVoltage = 32768
	}
	return p
}

// PacketRate, Streaming, AppendPacket and Corrupt make PulsePal a
// serialtest.Board that never streams.
func (p *PulsePal) PacketRate() float64                      { return 1 }
func (p *PulsePal) Streaming() bool                          { return false }
func (p *PulsePal) AppendPacket(dst []byte, _ uint64) []byte { return dst }
func (p *PulsePal) Corrupt([]byte)                           {}

// Input parses what the host wrote (commands may span calls) and returns
// the replies.
func (p *PulsePal) Input(in []byte) (reply []byte, restart bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.buf = append(p.buf, in...)
	for len(p.buf) > 0 {
		n, r := p.command(p.buf)
		if n == 0 {
			break // incomplete
		}
		reply = append(reply, r...)
		p.buf = p.buf[n:]
	}
	return reply, false
}

// valueSize is the size of the value of parameter code c, 0 if unknown.
func valueSize(c byte) int {
	switch {
	case c == 1 || (c >= 12 && c <= 16) || c == 128:
		return 1
	case c == 2 || c == 3 || c == 17:
		return 2
	case c >= 4 && c <= 11:
		return 4
	}
	return 0
}

// command parses one command at the start of b and returns the bytes it
// used (0 when incomplete) and the reply.
func (p *PulsePal) command(b []byte) (int, []byte) {
	if b[0] != 213 {
		p.errs = append(p.errs, fmt.Sprintf("byte %d where op-menu byte 213 was due", b[0]))
		return 1, nil
	}
	if len(b) < 2 {
		return 0, nil
	}
	switch op := b[1]; op {
	case 72:
		p.handshakes++
		return 2, binary.LittleEndian.AppendUint32([]byte{75}, p.firmware)
	case 74:
		if len(b) < 4 {
			return 0, nil
		}
		code, ch := b[2], int(b[3])
		size := valueSize(code)
		if size == 0 {
			p.errs = append(p.errs, fmt.Sprintf("op 74: unknown parameter code %d", code))
			return 4, []byte{1}
		}
		if len(b) < 4+size {
			return 0, nil
		}
		if ch < 1 || ch > 4 {
			p.errs = append(p.errs, fmt.Sprintf("op 74: channel %d outside 1–4", ch))
			return 4 + size, []byte{1}
		}
		p.set(&p.ch[ch-1], code, b[4:4+size])
		p.programs++
		return 4 + size, []byte{1}
	case 77:
		if len(b) < 3 {
			return 0, nil
		}
		p.triggers = append(p.triggers, Trigger{Bits: b[2], Channels: p.ch})
		return 3, nil
	case 80:
		p.aborts++
		return 2, nil
	case 81:
		p.disconnects++
		return 2, nil
	case 89:
		if len(b) < 8 {
			return 0, nil
		}
		p.client = string(b[2:8])
		return 8, nil
	default:
		p.errs = append(p.errs, fmt.Sprintf("unknown opcode %d", op))
		return 2, nil
	}
}

func (p *PulsePal) set(c *Channel, code byte, v []byte) {
	u8 := func() uint8 { return v[0] }
	u16 := func() uint16 { return binary.LittleEndian.Uint16(v) }
	u32 := func() uint32 { return binary.LittleEndian.Uint32(v) }
	switch code {
	case 1:
		c.Biphasic = u8()
	case 2:
		c.Phase1Voltage = u16()
	case 3:
		c.Phase2Voltage = u16()
	case 4:
		c.Phase1Duration = u32()
	case 5:
		c.InterPhaseInterval = u32()
	case 6:
		c.Phase2Duration = u32()
	case 7:
		c.InterPulseInterval = u32()
	case 8:
		c.BurstDuration = u32()
	case 9:
		c.BurstInterval = u32()
	case 10:
		c.PulseTrainDuration = u32()
	case 11:
		c.PulseTrainDelay = u32()
	case 12:
		c.LinkTrigger1 = u8()
	case 13:
		c.LinkTrigger2 = u8()
	case 14:
		c.CustomTrainID = u8()
	case 15:
		c.CustomTrainTarget = u8()
	case 16:
		c.CustomTrainLoop = u8()
	case 17:
		c.RestingVoltage = u16()
	case 128:
		c.Mode = u8()
	}
}

// Report is what the fake was told.
type Report struct {
	Handshakes, Programs, Aborts, Disconnects int
	Channels                                  [4]Channel
	Triggers                                  []Trigger
	Client                                    string
	Errors                                    []string
	Pending                                   int // bytes of an incomplete command
}

// Report returns a snapshot.
func (p *PulsePal) Report() Report {
	p.mu.Lock()
	defer p.mu.Unlock()
	return Report{
		Handshakes: p.handshakes, Programs: p.programs, Aborts: p.aborts, Disconnects: p.disconnects,
		Channels: p.ch, Triggers: append([]Trigger(nil), p.triggers...), Client: p.client,
		Errors: append([]string(nil), p.errs...), Pending: len(p.buf),
	}
}
