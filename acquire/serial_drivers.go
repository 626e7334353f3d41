package acquire

import (
	"fmt"
	"strings"
	"time"

	"go.bug.st/serial"
)

// frameDecoder is a protocol parser with a queue of decoded frames, as the
// SerialSource drives it.
type frameDecoder interface {
	parse(in []byte) int          // parses into the queue while it has room; returns bytes consumed
	peek() (uint64, bool)         // counted gap before the next queued frame
	take(dst []float32) []float32 // appends the next queued frame's µV and dequeues it
	count() int                   // frames queued
	held() bool                   // the parser holds consumed bytes not yet parsed (parse(nil) continues)
	full() bool                   // the queue has no room: parse makes no progress until frames are taken
	resync()
	reset()
	stats() ParseStats
	modulus() uint32
}

// protoParser is what every protocol parser implements.
type protoParser[F any] interface {
	Parse(dst []F, in []byte) ([]F, int)
	Resync()
	Reset()
	Stats() ParseStats
	CounterModulus() uint32
}

// frameQueue adapts a protoParser to frameDecoder.
type frameQueue[F any] struct {
	p      protoParser[F]
	frames []F // frames[head:] are queued
	head   int
	put    func(dst []float32, f *F) []float32
	gap    func(f *F) uint64
	keep   func(f *F) bool // nil: every frame carries samples
}

// queueFrames is the frame queue's capacity beyond the block size: enough
// for the handshake to see a protocol's identifying frames.
const queueFrames = 64

func newFrameQueue[F any](p protoParser[F], blockFrames int, put func([]float32, *F) []float32, gap func(*F) uint64, keep func(*F) bool) *frameQueue[F] {
	return &frameQueue[F]{p: p, frames: make([]F, 0, max(blockFrames, queueFrames)), put: put, gap: gap, keep: keep}
}

func (q *frameQueue[F]) parse(in []byte) int {
	if q.head == len(q.frames) {
		q.frames, q.head = q.frames[:0], 0
	}
	var n int
	q.frames, n = q.p.Parse(q.frames, in)
	return n
}

func (q *frameQueue[F]) skip() {
	if q.keep == nil {
		return
	}
	for q.head < len(q.frames) && !q.keep(&q.frames[q.head]) {
		q.head++
	}
}

func (q *frameQueue[F]) peek() (uint64, bool) {
	q.skip()
	if q.head == len(q.frames) {
		return 0, false
	}
	return q.gap(&q.frames[q.head]), true
}

func (q *frameQueue[F]) take(dst []float32) []float32 {
	q.skip()
	dst = q.put(dst, &q.frames[q.head])
	q.head++
	return dst
}

func (q *frameQueue[F]) count() int {
	n := 0
	for i := q.head; i < len(q.frames); i++ {
		if q.keep == nil || q.keep(&q.frames[i]) {
			n++
		}
	}
	return n
}

func (q *frameQueue[F]) full() bool { return q.head < len(q.frames) && len(q.frames) == cap(q.frames) }

func (q *frameQueue[F]) held() bool {
	h, ok := q.p.(interface{ Held() bool })
	return ok && h.Held()
}

func (q *frameQueue[F]) resync() {
	q.p.Resync()
	q.frames, q.head = q.frames[:0], 0
}

func (q *frameQueue[F]) reset() {
	q.p.Reset()
	q.frames, q.head = q.frames[:0], 0
}

func (q *frameQueue[F]) stats() ParseStats { return q.p.Stats() }
func (q *frameQueue[F]) modulus() uint32   { return q.p.CounterModulus() }

// serialDriver is one board protocol as the SerialSource uses it.
type serialDriver interface {
	channels() int
	rate() float64
	baud() int
	decoder() frameDecoder
	// start identifies the device on a freshly opened port and starts its
	// stream; it returns what the device said about itself.
	start(c *serialConn, timeout time.Duration) (string, error)
	// identified reports whether the queued frames show the protocol.
	identified(d frameDecoder) bool
	identity() string
	// stop asks the board to stop streaming, where it has such a command.
	stop(p serial.Port)
}

func newSerialDriver(c *SerialConfig) serialDriver {
	switch c.Protocol {
	case ProtocolCytonDaisy:
		return &cytonDriver{cfg: c, daisy: true}
	case ProtocolModEEG:
		return &modeegDriver{cfg: c}
	case ProtocolThinkGear:
		return &thinkgearDriver{cfg: c}
	case ProtocolSpikerBox:
		return &spikerDriver{cfg: c}
	default:
		return &cytonDriver{cfg: c}
	}
}

// cytonDriver drives a Cyton or Cyton + Daisy.
type cytonDriver struct {
	cfg   *SerialConfig
	daisy bool
}

func (d *cytonDriver) channels() int {
	if d.daisy {
		return 16
	}
	return 8
}

func (d *cytonDriver) rate() float64 {
	if d.daisy {
		return CytonDaisyRate
	}
	return CytonRate
}

func (d *cytonDriver) baud() int { return CytonBaud }

func (d *cytonDriver) decoder() frameDecoder {
	n := d.channels()
	return newFrameQueue(protoParser[CytonFrame](NewCytonParser(d.daisy, d.cfg.Cyton.Gains)), d.cfg.BlockFrames,
		func(dst []float32, f *CytonFrame) []float32 { return append(dst, f.Microvolts[:n]...) },
		func(f *CytonFrame) uint64 { return uint64(f.Dropped) }, nil)
}

// cytonQuiet is how long the line must stay quiet after 's' before 'v' is
// sent: several packets at 250 Hz.
const cytonQuiet = 50 * time.Millisecond

func (d *cytonDriver) start(c *serialConn, timeout time.Duration) (string, error) {
	port := d.cfg.Port
	if err := c.write([]byte{'s'}); err != nil {
		return "", err
	}
	if err := c.drain(cytonQuiet, timeout); err != nil {
		return "", err
	}
	if err := c.write([]byte{'v'}); err != nil {
		return "", err
	}
	banner, err := c.readUntil("$$$", timeout, "the OpenBCI reset command 'v'")
	if err != nil {
		return "", err
	}
	if !strings.Contains(banner, "OpenBCI") {
		return "", fmt.Errorf("acquire: %w: %s answered 'v' but not as an OpenBCI board: %q", ErrNoAnswer, port, clip([]byte(banner), 80))
	}
	hasDaisy := strings.Contains(banner, "Daisy")
	switch {
	case d.daisy && !hasDaisy:
		return "", fmt.Errorf("acquire: %s: the Cyton reports no Daisy module (banner %q); use protocol %s", port, strings.TrimSpace(banner), ProtocolCyton)
	case d.daisy:
		if err := d.command(c, []byte{'C'}, timeout); err != nil {
			return "", err
		}
	case hasDaisy:
		if err := d.command(c, []byte{'c'}, timeout); err != nil {
			return "", err
		}
	}
	if len(d.cfg.Cyton.Gains) > 0 {
		if err := d.command(c, []byte{'d'}, timeout); err != nil {
			return "", err
		}
		for ch, g := range d.cfg.Cyton.Gains {
			cmd, err := CytonChannelCommand(ch, g)
			if err != nil {
				return "", fmt.Errorf("acquire: %s: %w", port, err)
			}
			if err := d.command(c, cmd, timeout); err != nil {
				return "", err
			}
		}
	}
	if err := c.write([]byte{'b'}); err != nil {
		return "", err
	}
	return strings.TrimSpace(strings.TrimSuffix(banner, "$$$")), nil
}

// command sends cmd and waits for the board's "$$$"-terminated reply,
// failing if the reply reports a failure.
func (d *cytonDriver) command(c *serialConn, cmd []byte, timeout time.Duration) error {
	if err := c.write(cmd); err != nil {
		return err
	}
	reply, err := c.readUntil("$$$", timeout, fmt.Sprintf("the command %q", cmd))
	if err != nil {
		return err
	}
	if strings.Contains(strings.ToLower(reply), "failure") {
		return fmt.Errorf("acquire: %s refused the command %q: %q", d.cfg.Port, cmd, strings.TrimSuffix(reply, "$$$"))
	}
	return nil
}

func (d *cytonDriver) identified(q frameDecoder) bool { return q.count() >= 1 }
func (d *cytonDriver) identity() string               { return "OpenBCI Cyton" }
func (d *cytonDriver) stop(p serial.Port)             { _, _ = p.Write([]byte{'s'}) }

// modeegDriver drives a ModularEEG with P2 firmware, which streams unasked.
type modeegDriver struct{ cfg *SerialConfig }

func (d *modeegDriver) channels() int { return ModEEGChannels }
func (d *modeegDriver) rate() float64 { return ModEEGRate }
func (d *modeegDriver) baud() int     { return ModEEGBaud }

func (d *modeegDriver) decoder() frameDecoder {
	return newFrameQueue(protoParser[ModEEGFrame](NewModEEGParser(d.cfg.ModEEG.ScaleUV)), d.cfg.BlockFrames,
		func(dst []float32, f *ModEEGFrame) []float32 { return append(dst, f.Microvolts[:]...) },
		func(f *ModEEGFrame) uint64 { return uint64(f.Dropped) }, nil)
}

func (d *modeegDriver) start(*serialConn, time.Duration) (string, error) { return "", nil }
func (d *modeegDriver) identified(q frameDecoder) bool                   { return q.count() >= 2 }
func (d *modeegDriver) identity() string                                 { return "OpenEEG ModularEEG (P2)" }
func (d *modeegDriver) stop(serial.Port)                                 {}

// thinkgearDriver drives a NeuroSky ThinkGear module, which streams unasked.
type thinkgearDriver struct{ cfg *SerialConfig }

func (d *thinkgearDriver) channels() int { return 1 }
func (d *thinkgearDriver) rate() float64 { return ThinkGearRate }
func (d *thinkgearDriver) baud() int     { return ThinkGearBaud }

func (d *thinkgearDriver) decoder() frameDecoder {
	return newFrameQueue(protoParser[ThinkGearPacket](NewThinkGearParser()), d.cfg.BlockFrames,
		func(dst []float32, f *ThinkGearPacket) []float32 { return append(dst, f.Microvolts) },
		func(*ThinkGearPacket) uint64 { return 0 },
		func(f *ThinkGearPacket) bool { return f.HasRaw })
}

func (d *thinkgearDriver) start(*serialConn, time.Duration) (string, error) { return "", nil }
func (d *thinkgearDriver) identified(q frameDecoder) bool                   { return q.count() >= 2 }
func (d *thinkgearDriver) identity() string                                 { return "NeuroSky ThinkGear" }
func (d *thinkgearDriver) stop(serial.Port)                                 {}

// spikerDriver drives a Backyard Brains SpikerBox.
type spikerDriver struct {
	cfg *SerialConfig
	p   *SpikerBoxParser
}

func (d *spikerDriver) channels() int { return d.cfg.SpikerBox.Channels }
func (d *spikerDriver) rate() float64 { return d.cfg.SpikerBox.Rate() }
func (d *spikerDriver) baud() int     { return SpikerBoxBaud }

func (d *spikerDriver) decoder() frameDecoder {
	n := d.cfg.SpikerBox.Channels
	d.p = NewSpikerBoxParser(d.cfg.SpikerBox)
	return newFrameQueue(protoParser[SpikerBoxFrame](d.p), d.cfg.BlockFrames,
		func(dst []float32, f *SpikerBoxFrame) []float32 { return append(dst, f.Microvolts[:n]...) },
		func(*SpikerBoxFrame) uint64 { return 0 }, nil)
}

// spikerIdentFrames is how many well-formed frames identify a SpikerBox
// stream: at 5 kHz a few ms of data, and improbable from another protocol.
const spikerIdentFrames = 32

func (d *spikerDriver) start(c *serialConn, _ time.Duration) (string, error) {
	if err := c.write(fmt.Appendf(nil, "c:%d;\n", d.cfg.SpikerBox.Channels)); err != nil {
		return "", err
	}
	return "", c.write([]byte("?:;\n"))
}

func (d *spikerDriver) identified(q frameDecoder) bool {
	st := q.stats()
	return q.count() >= spikerIdentFrames && st.Bad*8 <= st.Frames
}

func (d *spikerDriver) identity() string {
	if m := string(d.p.LastMessage()); strings.Contains(m, "HWT:") {
		return "Backyard Brains SpikerBox " + m
	}
	return "Backyard Brains SpikerBox"
}

func (d *spikerDriver) stop(serial.Port) {}
