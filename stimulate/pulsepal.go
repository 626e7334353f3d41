package stimulate

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"go.bug.st/serial"
)

// Pulse Pal 2 serial protocol (Sanworks; firmware v2.0.1,
// github.com/sanworks/PulsePal Firmware/PulsePal_2_0_1, and its Python
// client Python/Python3/PulsePal.py), as implemented here. USB serial at
// 115200 baud; every command starts with the op-menu byte 213; multi-byte
// values are little-endian (ArCOM on the Arduino Due).
//
//	213 72               handshake → 75 ('K'), firmware version (uint32);
//	                     versions ≥ 20 are Pulse Pal 2 (16-bit voltages)
//	213 74 code ch value program parameter code of output channel ch (1–4)
//	                     → 1. Codes used: 1 biphasic (uint8); 2 phase 1
//	                     voltage, 3 phase 2 voltage, 17 resting voltage
//	                     (uint16 code b over −10…+10 V: V = 20·b/65535 − 10,
//	                     32768 = 0 V); 4 phase 1, 5 interphase, 6 phase 2,
//	                     7 interpulse interval, 8 burst duration, 9 burst
//	                     interval, 10 train duration, 11 train delay
//	                     (uint32, in 50 µs cycles of the 20 kHz timer);
//	                     12, 13 link to trigger input 1, 2 (uint8); 14
//	                     custom train ID (uint8)
//	213 77 bits          soft-trigger the channels whose bit i (channel
//	                     i+1) is set; no reply
//	213 80               abort all pulse trains; no reply
//	213 81               disconnect (also aborts); no reply
const (
	ppOpMenu      = 213
	ppHandshake   = 72
	ppReplyOK     = 75
	ppProgram     = 74
	ppTrigger     = 77
	ppAbort       = 80
	ppDisconnect  = 81
	ppBaud        = 115200
	ppCycleUS     = 50    // µs per firmware cycle
	ppZeroCode    = 32768 // DAC code of 0 V
	ppChannels    = 4
	ppMinFirmware = 20
)

// Parameter codes of op 74.
const (
	ppBiphasic     = 1
	ppPhase1Volt   = 2
	ppPhase2Volt   = 3
	ppPhase1Dur    = 4
	ppInterPhase   = 5
	ppPhase2Dur    = 6
	ppInterPulse   = 7
	ppBurstDur     = 8
	ppBurstIntvl   = 9
	ppTrainDur     = 10
	ppTrainDelay   = 11
	ppLinkTrigger1 = 12
	ppLinkTrigger2 = 13
	ppCustomTrain  = 14
	ppRestingVolt  = 17
)

// PulsePalConfig configures a PulsePalSink.
type PulsePalConfig struct {
	// Port is the serial device of the Pulse Pal 2.
	Port string `yaml:"port"`
	// UAPerVolt is the transconductance of the voltage-to-current stimulus
	// isolator between the Pulse Pal's output and the electrode, in µA per
	// V: a pulse of I µA is a voltage of I/UAPerVolt, at most 10 V. The
	// isolator must turn a negative voltage into cathodic current.
	UAPerVolt float64 `yaml:"ua_per_volt"`
	// Timeout bounds the wait for each reply (the firmware's own serial
	// timeout is 500 ms).
	Timeout time.Duration `yaml:"timeout"`
}

// DefaultPulsePalConfig returns /dev/ttyACM0 (the Arduino Due's native USB
// port on Linux), 10 µA/V (100 µA, the ICMS maximum of DefaultLimitConfig,
// at 10 V) and a 500 ms timeout.
func DefaultPulsePalConfig() PulsePalConfig {
	return PulsePalConfig{Port: "/dev/ttyACM0", UAPerVolt: 10, Timeout: 500 * time.Millisecond}
}

// Validate reports every problem with c at once.
func (c *PulsePalConfig) Validate() error {
	var errs []error
	if c.Port == "" {
		errs = append(errs, errors.New("port: must name the serial device"))
	}
	if !(c.UAPerVolt > 0) || !finite(c.UAPerVolt) {
		errs = append(errs, fmt.Errorf("ua_per_volt: must be finite and > 0, got %v", c.UAPerVolt))
	}
	if c.Timeout <= 0 {
		errs = append(errs, fmt.Errorf("timeout: must be > 0, got %v", c.Timeout))
	}
	return errors.Join(errs...)
}

// ppTrain is what one channel is programmed with.
type ppTrain struct {
	v1, v2              uint16
	p1, gap, inter, dur uint32
	valid               bool
}

// PulsePalSink drives a Sanworks Pulse Pal 2 as a 4-channel stimulator:
// electrode e (0–3) is output channel e+1, behind a stimulus isolator of
// UAPerVolt. Put it behind a Limit with electrodes ≤ 4.
//
// Open handshakes, checks for Pulse Pal 2 firmware (≥ 20), and programs
// every channel for plain biphasic trains started only by software: biphasic,
// resting voltage 0 V, no bursts, no delay, no custom train, unlinked from
// both trigger inputs. Stimulate turns each pulse train into the channel's
// parameters, programs those that changed (each acknowledged), and starts
// every channel of the pattern at once with one trigger; it does not
// schedule (Pattern.Sample is ignored: delivery is as soon as possible).
//
// Every conversion errs on the side of less stimulation than Limit
// approved: phases are rounded down to the 50 µs cycle (a phase under
// 50 µs is refused), the period 1/f up, the gap to the nearest cycle, and
// the voltage down to the DAC step; phase 1 (cathodic) is 32768 − k and
// phase 2 is 32768 + k, both phases of the same width, so every pulse
// stays charge-balanced. The train lasts (count−1)·period + pulse, the
// firmware ending it right after the last pulse's second phase. A pulse
// that cannot be represented (amplitude below one DAC step or over 10 V,
// phase under 50 µs, train over 2³²−1 cycles, electrode outside 0–3, two
// trains on one channel in one pattern) is not delivered and reported, and
// so is a train for a channel whose previous train is still running: the
// firmware ignores a trigger during a train, and reprogramming it would
// change the running train behind the Limit's back.
//
// StopStimulation aborts every train (op 80). Close aborts, disconnects
// (op 81) and closes the port. Stimulate does not allocate when nothing
// fails.
//
// Concurrency: Stimulate is called from one goroutine at a time;
// StopStimulation and Close from any goroutine.
type PulsePalSink struct {
	cfg      PulsePalConfig
	firmware uint32

	mu     sync.Mutex
	port   serial.Port
	closed bool
	ch     [ppChannels]ppTrain
	busy   [ppChannels]time.Time // end of the train last started, plus ppMargin
	cmd    []byte
	reply  [8]byte

	programs, triggers atomic.Uint64
}

// OpenPulsePal opens and initializes the Pulse Pal 2 at cfg.Port.
func OpenPulsePal(cfg PulsePalConfig) (*PulsePalSink, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("stimulate: pulse pal config: %w", err)
	}
	port, err := serial.Open(cfg.Port, &serial.Mode{BaudRate: ppBaud})
	if err != nil {
		return nil, fmt.Errorf("stimulate: pulse pal: open %s: %w", cfg.Port, err)
	}
	s := &PulsePalSink{cfg: cfg, port: port, cmd: make([]byte, 0, 64)}
	if err := s.init(); err != nil {
		port.Close()
		return nil, fmt.Errorf("stimulate: pulse pal at %s: %w", cfg.Port, err)
	}
	return s, nil
}

func (s *PulsePalSink) init() error {
	if err := s.port.SetReadTimeout(10 * time.Millisecond); err != nil {
		return err
	}
	_ = s.port.ResetInputBuffer()
	if _, err := s.port.Write([]byte{ppOpMenu, ppHandshake}); err != nil {
		return fmt.Errorf("handshake: %w", err)
	}
	r, err := s.read(5)
	if err != nil {
		return fmt.Errorf("handshake: %w", err)
	}
	if r[0] != ppReplyOK {
		return fmt.Errorf("handshake: reply %d, want %d", r[0], ppReplyOK)
	}
	s.firmware = binary.LittleEndian.Uint32(r[1:5])
	if s.firmware < ppMinFirmware {
		return fmt.Errorf("firmware %d is a Pulse Pal 1 (8-bit voltages); a Pulse Pal 2 (firmware ≥ %d) is needed", s.firmware, ppMinFirmware)
	}
	for c := byte(1); c <= ppChannels; c++ {
		for _, p := range []struct {
			code byte
			v    uint32
		}{{ppBiphasic, 1}, {ppRestingVolt, ppZeroCode}, {ppBurstDur, 0}, {ppBurstIntvl, 0}, {ppTrainDelay, 0},
			{ppCustomTrain, 0}, {ppLinkTrigger1, 0}, {ppLinkTrigger2, 0}} {
			if err := s.program(c, p.code, p.v); err != nil {
				return err
			}
		}
	}
	return nil
}

// Firmware returns the firmware version reported by the handshake.
func (s *PulsePalSink) Firmware() uint32 { return s.firmware }

// read reads exactly n ≤ 8 bytes within the timeout.
func (s *PulsePalSink) read(n int) ([]byte, error) {
	deadline := time.Now().Add(s.cfg.Timeout)
	got := 0
	for got < n {
		k, err := s.port.Read(s.reply[got:n])
		if err != nil {
			return nil, err
		}
		got += k
		if got < n && time.Now().After(deadline) {
			return nil, fmt.Errorf("timeout after %v: %d of %d reply bytes", s.cfg.Timeout, got, n)
		}
	}
	return s.reply[:n], nil
}

// program sends op 74 for one parameter and waits for its acknowledgement.
func (s *PulsePalSink) program(ch, code byte, v uint32) error {
	c := append(s.cmd[:0], ppOpMenu, ppProgram, code, ch)
	switch code {
	case ppBiphasic, ppLinkTrigger1, ppLinkTrigger2, ppCustomTrain:
		c = append(c, byte(v))
	case ppPhase1Volt, ppPhase2Volt, ppRestingVolt:
		c = binary.LittleEndian.AppendUint16(c, uint16(v))
	default:
		c = binary.LittleEndian.AppendUint32(c, v)
	}
	s.cmd = c
	if _, err := s.port.Write(c); err != nil {
		return fmt.Errorf("program parameter %d of channel %d: %w", code, ch, err)
	}
	r, err := s.read(1)
	if err != nil {
		return fmt.Errorf("program parameter %d of channel %d: %w", code, ch, err)
	}
	if r[0] != 1 {
		return fmt.Errorf("program parameter %d of channel %d: acknowledgement %d, want 1", code, ch, r[0])
	}
	s.programs.Add(1)
	return nil
}

var (
	errPPElectrode = errors.New("electrode outside 0–3 (Pulse Pal 2 channels 1–4)")
	errPPTwice     = errors.New("a second train on the same channel in one pattern")
	errPPPhase     = errors.New("phase under one 50 µs cycle")
	errPPAmplitude = errors.New("amplitude below one DAC step or over 10 V at ua_per_volt")
	errPPTrain     = errors.New("train longer than 2³²−1 cycles")
	errPPBusy      = errors.New("channel still delivering its previous train")
)

// Fixed commands, shared so that writing them does not allocate.
var (
	ppAbortCmd = []byte{ppOpMenu, ppAbort}
	ppCloseCmd = []byte{ppOpMenu, ppAbort, ppOpMenu, ppDisconnect}
)

// ppMargin covers the USB latency between a trigger's write and its start
// when judging whether a channel's train is over.
const ppMargin = 2 * time.Millisecond

// convert turns q into channel parameters (see PulsePalSink).
func (s *PulsePalSink) convert(q *Pulse) (ppTrain, error) {
	var t ppTrain
	p1 := math.Floor(q.PhaseUS/ppCycleUS + 1e-9)
	if !(p1 >= 1) {
		return t, errPPPhase
	}
	gap := math.Round(q.GapUS / ppCycleUS)
	pulse := 2*p1 + gap
	period := pulse + 1 // single pulse: any interval ≥ 1 cycle; the train ends first
	if q.Count > 1 {
		period = max(math.Ceil(1e6/q.FreqHz/ppCycleUS-1e-9), pulse)
	}
	dur := float64(max(q.Count, 1)-1)*period + pulse
	if !(dur <= math.MaxUint32) || !finite(gap) {
		return t, errPPTrain
	}
	k := math.Floor(q.AmplitudeUA / s.cfg.UAPerVolt * 65535 / 20)
	if !(k >= 1) || k > ppZeroCode-1 {
		return t, errPPAmplitude
	}
	t = ppTrain{
		v1: uint16(ppZeroCode - k), v2: uint16(ppZeroCode + k),
		p1: uint32(p1), gap: uint32(gap), inter: uint32(period - pulse), dur: uint32(dur), valid: true,
	}
	return t, nil
}

// Stimulate programs and triggers the channels of p's pulses.
func (s *PulsePalSink) Stimulate(_ context.Context, p *Pattern) error {
	if p == nil {
		return errNilPattern
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	var bits byte
	var first error
	now := time.Now()
	fail := func(i int, q *Pulse, err error) {
		if first == nil {
			first = fmt.Errorf("stimulate: pulse pal: pattern %d pulse %d (electrode %d): %w", p.Seq, i, q.Electrode, err)
		}
	}
	for i := range p.Pulses {
		q := &p.Pulses[i]
		if q.Electrode < 0 || q.Electrode >= ppChannels {
			fail(i, q, errPPElectrode)
			continue
		}
		if bits&(1<<q.Electrode) != 0 {
			fail(i, q, errPPTwice)
			continue
		}
		if now.Before(s.busy[q.Electrode]) {
			fail(i, q, errPPBusy)
			continue
		}
		t, err := s.convert(q)
		if err != nil {
			fail(i, q, err)
			continue
		}
		if err := s.load(byte(q.Electrode+1), &s.ch[q.Electrode], t); err != nil {
			fail(i, q, err)
			continue
		}
		bits |= 1 << q.Electrode
	}
	if bits != 0 {
		s.cmd = append(s.cmd[:0], ppOpMenu, ppTrigger, bits)
		if _, err := s.port.Write(s.cmd); err != nil {
			return fmt.Errorf("stimulate: pulse pal: trigger: %w", err)
		}
		s.triggers.Add(1)
		now = time.Now()
		for e := range ppChannels {
			if bits&(1<<e) != 0 {
				s.busy[e] = now.Add(time.Duration(s.ch[e].dur)*ppCycleUS*time.Microsecond + ppMargin)
			}
		}
	}
	return first
}

// load programs the parameters of channel ch that differ from cur.
func (s *PulsePalSink) load(ch byte, cur *ppTrain, t ppTrain) error {
	c := *cur
	cur.valid = false // until every parameter is in place
	for _, p := range [...]struct {
		code       byte
		have, want uint32
	}{
		{ppPhase1Volt, uint32(c.v1), uint32(t.v1)}, {ppPhase2Volt, uint32(c.v2), uint32(t.v2)},
		{ppPhase1Dur, c.p1, t.p1}, {ppInterPhase, c.gap, t.gap}, {ppPhase2Dur, c.p1, t.p1},
		{ppInterPulse, c.inter, t.inter}, {ppTrainDur, c.dur, t.dur},
	} {
		if c.valid && p.have == p.want {
			continue
		}
		if err := s.program(ch, p.code, p.want); err != nil {
			return err
		}
	}
	*cur = t
	return nil
}

// Stats returns the parameters programmed and the triggers sent.
func (s *PulsePalSink) Stats() (programs, triggers uint64) {
	return s.programs.Load(), s.triggers.Load()
}

// StopStimulation aborts every pulse train (op 80).
func (s *PulsePalSink) StopStimulation() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	if _, err := s.port.Write(ppAbortCmd); err != nil {
		return fmt.Errorf("stimulate: pulse pal: abort: %w", err)
	}
	s.busy = [ppChannels]time.Time{}
	return nil
}

// Close aborts every pulse train, disconnects and closes the port. It is
// idempotent.
func (s *PulsePalSink) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	_, err := s.port.Write(ppCloseCmd)
	if err == nil {
		err = s.port.Drain()
	}
	return errors.Join(err, s.port.Close())
}
