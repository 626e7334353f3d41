package acquire

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"go.bug.st/serial"
)

// Serial protocol names, as SerialConfig.Protocol and `bciloop acquire
// --protocol` take them.
const (
	ProtocolCyton      = "cyton"
	ProtocolCytonDaisy = "cyton-daisy"
	ProtocolModEEG     = "modeeg"
	ProtocolThinkGear  = "thinkgear"
	ProtocolSpikerBox  = "spikerbox"
)

// Protocols returns the serial protocol names, in the order a probe tries
// them (the boards that stream unasked first, then those that must be
// asked).
func Protocols() []string {
	return []string{ProtocolModEEG, ProtocolThinkGear, ProtocolSpikerBox, ProtocolCyton, ProtocolCytonDaisy}
}

// ErrNoPort is wrapped by errors about a serial port that does not exist.
var ErrNoPort = errors.New("serial port not found")

// ErrNoAnswer is wrapped by errors about a device that did not answer a
// protocol's handshake in time.
var ErrNoAnswer = errors.New("device did not answer the handshake")

// SerialConfig configures a SerialSource.
type SerialConfig struct {
	// Port is the device path (/dev/ttyUSB0, or a stable symlink such as
	// /dev/serial/by-id/…).
	Port string `yaml:"port"`
	// Protocol is one of Protocols().
	Protocol string `yaml:"protocol"`
	// Baud is the line rate; 0 means the protocol's (Cyton 115200, ModEEG
	// and ThinkGear 57600, SpikerBox 222222).
	Baud int `yaml:"baud"`
	// BlockFrames is the number of frames per block. A block is shorter
	// only when a gap (Dropped) or a disconnect cuts it.
	BlockFrames int `yaml:"block_frames"`
	// HandshakeTimeout bounds the identification of the device after the
	// port opens: its reply to a command, or its first valid frames.
	HandshakeTimeout time.Duration `yaml:"handshake_timeout"`
	// PollInterval is the longest a Read waits on the port before it looks
	// at its ctx and Close again.
	PollInterval time.Duration `yaml:"poll_interval"`
	// StallTimeout treats a port that delivers no byte for this long as
	// disconnected (a board out of radio range); 0 disables.
	StallTimeout time.Duration `yaml:"stall_timeout"`
	// ReconnectMin and ReconnectMax bound the exponential backoff between
	// reconnect attempts.
	ReconnectMin time.Duration `yaml:"reconnect_min"`
	ReconnectMax time.Duration `yaml:"reconnect_max"`

	Cyton     CytonConfig     `yaml:"cyton"`
	ModEEG    ModEEGConfig    `yaml:"modeeg"`
	SpikerBox SpikerBoxConfig `yaml:"spikerbox"`
}

// DefaultSerialConfig returns the defaults: Cyton, 10-frame blocks, 3 s
// handshake, 20 ms polls, 2 s stall timeout, backoff 100 ms doubling to 5 s.
func DefaultSerialConfig() SerialConfig {
	return SerialConfig{
		Protocol:         ProtocolCyton,
		BlockFrames:      10,
		HandshakeTimeout: 3 * time.Second,
		PollInterval:     20 * time.Millisecond,
		StallTimeout:     2 * time.Second,
		ReconnectMin:     100 * time.Millisecond,
		ReconnectMax:     5 * time.Second,
		Cyton:            DefaultCytonConfig(),
		ModEEG:           DefaultModEEGConfig(),
		SpikerBox:        DefaultSpikerBoxConfig(),
	}
}

const maxSerialBlockFrames = 1 << 16

// Validate reports every problem of c at once, each as "key: message".
func (c *SerialConfig) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if c.Port == "" {
		bad("port: must name a serial device")
	}
	if !slices.Contains(Protocols(), c.Protocol) {
		bad("protocol: %q is not one of %s", c.Protocol, strings.Join(Protocols(), ", "))
	}
	if c.Baud < 0 || c.Baud > 4_000_000 {
		bad("baud: must be 0 (the protocol's) or in [1, 4000000], got %d", c.Baud)
	}
	if c.BlockFrames < 1 || c.BlockFrames > maxSerialBlockFrames {
		bad("block_frames: must be in [1, %d], got %d", maxSerialBlockFrames, c.BlockFrames)
	}
	if c.HandshakeTimeout <= 0 {
		bad("handshake_timeout: must be > 0, got %v", c.HandshakeTimeout)
	}
	if c.PollInterval < time.Millisecond || c.PollInterval > time.Second {
		bad("poll_interval: must be in [1ms, 1s], got %v", c.PollInterval)
	}
	if c.StallTimeout < 0 {
		bad("stall_timeout: must be ≥ 0 (0 disables), got %v", c.StallTimeout)
	}
	if c.ReconnectMin <= 0 {
		bad("reconnect_min: must be > 0, got %v", c.ReconnectMin)
	}
	if c.ReconnectMax < c.ReconnectMin {
		bad("reconnect_max: must be ≥ reconnect_min (%v), got %v", c.ReconnectMin, c.ReconnectMax)
	}
	switch c.Protocol {
	case ProtocolCyton, ProtocolCytonDaisy:
		n := 8
		if c.Protocol == ProtocolCytonDaisy {
			n = 16
		}
		if err := c.Cyton.Validate(n); err != nil {
			errs = append(errs, prefixErrs("cyton.", err))
		}
	case ProtocolModEEG:
		if err := c.ModEEG.Validate(); err != nil {
			errs = append(errs, prefixErrs("modeeg.", err))
		}
	case ProtocolSpikerBox:
		if err := c.SpikerBox.Validate(); err != nil {
			errs = append(errs, prefixErrs("spikerbox.", err))
		}
	}
	return errors.Join(errs...)
}

// prefixErrs prefixes every joined error of err with prefix.
func prefixErrs(prefix string, err error) error {
	var list []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		list = j.Unwrap()
	} else {
		list = []error{err}
	}
	out := make([]error, len(list))
	for i, e := range list {
		out[i] = fmt.Errorf("%s%w", prefix, e)
	}
	return errors.Join(out...)
}

// SerialStats counts a SerialSource's life so far.
type SerialStats struct {
	Parse            ParseStats // summed over every connection
	Reconnects       uint64     // successful reconnects after a disconnect
	FailedReconnects uint64     // reconnect attempts that failed
	Resumed          uint64     // reconnects that found the board still streaming (counter continuity kept)
	EstimatedDropped uint64     // frames added to Dropped across reconnects from the arrival-time gap
}

// SerialSource is the Source of a board on a serial port (see acquire/doc.go
// and the protocol files for each board's bytes).
//
// Open identifies the device by its handshake, not its USB ID (several
// boards share one FTDI ID): the Cyton's reply to 'v' must end in "$$$" and
// name OpenBCI, and every protocol must then deliver valid frames within
// HandshakeTimeout. A port that does not exist fails with ErrNoPort and the
// list of ports that do; a device that stays silent or speaks another
// protocol fails with ErrNoAnswer.
//
// Blocks: Seq counts from 0; Start is the frame index on the device's sample
// clock since the stream started; Rate and Channels are the protocol's;
// Data holds the channels in µV, frame-major; Arrived is Now() right after
// the port read that delivered the block's last frame. A block ends early
// at a gap: the next block's Dropped holds the frames lost, from the
// device's sample counter (with wrap), and its Start skips them. No frame is
// ever invented.
//
// Disconnects: when the port vanishes (the read fails, or no byte arrives
// for StallTimeout), Read returns the frames already decoded as a final
// short block, then an error wrapping ErrDisconnected. The next Read
// reconnects, retrying with exponential backoff from ReconnectMin to
// ReconnectMax until it succeeds or its ctx ends or the source is closed.
// On reconnect the source first listens: a board that kept streaming is
// resumed without a reset, and the frames lost meanwhile are counted from
// its counter, disambiguated (beyond one counter period) by the arrival-time
// gap at the device rate; otherwise it repeats the handshake, and the lost
// frames are estimated from the arrival-time gap alone
// (SerialStats.EstimatedDropped), so that Start keeps following the
// device's clock.
//
// Read does not allocate once b's slices have grown. A cancelled ctx or a
// Close ends a waiting Read within PollInterval; frames decoded before it
// are returned as a short block first, and the next Read reports the error.
//
// Concurrency: Read from one goroutine at a time; Close and Stats from any.
type SerialSource struct {
	cfg  SerialConfig
	drv  serialDriver
	dec  frameDecoder
	rate float64

	mu     sync.Mutex  // guards port and rd against Close
	port   serial.Port // configuration and writes
	rd     *os.File    // reads: the same tty, through the runtime poller
	closed atomic.Bool

	buf         []byte
	off, n      int
	bufArrived  int64 // Now() after the read that filled buf
	lastByte    int64 // Now() of the last byte received
	seq         uint64
	next        int64 // sample index of the next frame
	lastArrived int64 // arrival stamp of the newest frame emitted
	emitted     bool
	lost        error // a disconnect to report on the next Read
	reconnected bool  // the next frame is the first after a reconnect
	resumed     bool  // ... and the board kept its counter
	ident       string

	statsMu sync.Mutex
	stats   SerialStats
	prev    ParseStats // parser stats of closed connections
}

// serialBufSize is the read buffer: 4 KiB, more than an FTDI chip's 16 ms
// latency-timer batch at 500 kbaud.
const serialBufSize = 4096

// OpenSerial opens cfg.Port, identifies the device and starts its stream.
func OpenSerial(ctx context.Context, cfg SerialConfig) (*SerialSource, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("acquire: serial source: %w", err)
	}
	drv := newSerialDriver(&cfg)
	s := &SerialSource{cfg: cfg, drv: drv, dec: drv.decoder(), rate: drv.rate(), buf: make([]byte, serialBufSize)}
	if err := s.open(ctx, false); err != nil {
		return nil, err
	}
	return s, nil
}

// Identity returns what the device said about itself at the last handshake
// (the Cyton's banner, the SpikerBox's hardware message), or the protocol
// name for boards that say nothing.
func (s *SerialSource) Identity() string { return s.ident }

// Channels returns the channel count of the stream.
func (s *SerialSource) Channels() int { return s.drv.channels() }

// Rate returns the frame rate of the stream.
func (s *SerialSource) Rate() float64 { return s.rate }

// Stats returns the counts so far.
func (s *SerialSource) Stats() SerialStats {
	s.statsMu.Lock()
	defer s.statsMu.Unlock()
	st := s.stats
	st.Parse = s.prev
	st.Parse.Add(s.dec.stats())
	return st
}

// portError turns a serial.Open error into one that names the problem.
func portError(name string, err error) error {
	var pe *serial.PortError
	if errors.As(err, &pe) {
		switch pe.Code() {
		case serial.PortBusy:
			return fmt.Errorf("acquire: serial port %s is busy: another program holds it open exclusively", name)
		case serial.PermissionDenied:
			return fmt.Errorf("acquire: serial port %s: permission denied (is the user in the dialout group?)", name)
		}
	}
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("acquire: %w: %s does not exist; %s", ErrNoPort, name, listPorts())
	}
	return fmt.Errorf("acquire: serial port %s: %w", name, err)
}

// listPorts describes the serial ports present, for error messages.
func listPorts() string {
	ports, err := serial.GetPortsList()
	switch {
	case err != nil:
		return "the serial ports could not be listed: " + err.Error()
	case len(ports) == 0:
		return "no serial ports are present"
	}
	return "serial ports present: " + strings.Join(ports, ", ")
}

// open opens the port and identifies the device. With resume, it first
// listens for a board that kept streaming.
func (s *SerialSource) open(ctx context.Context, resume bool) error {
	baud := s.cfg.Baud
	if baud == 0 {
		baud = s.drv.baud()
	}
	// The read descriptor is opened first: go.bug.st/serial takes the tty
	// exclusively (TIOCEXCL) once it has configured it.
	rd, err := os.OpenFile(s.cfg.Port, os.O_RDWR|syscall.O_NOCTTY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return portError(s.cfg.Port, err)
	}
	p, err := serial.Open(s.cfg.Port, &serial.Mode{BaudRate: baud})
	if err != nil {
		rd.Close()
		return portError(s.cfg.Port, err)
	}
	s.mu.Lock()
	if s.closed.Load() {
		s.mu.Unlock()
		p.Close()
		rd.Close()
		return ErrClosed
	}
	s.port, s.rd = p, rd
	s.mu.Unlock()

	s.off, s.n = 0, 0
	s.lastByte = Now()
	s.resumed = false
	if resume {
		s.dec.resync()
		ok, err := s.listen(ctx, min(s.cfg.HandshakeTimeout, 500*time.Millisecond))
		if err != nil {
			s.dropPort()
			return err
		}
		if ok {
			s.resumed = true
			return nil
		}
	}
	s.retire()
	c := &serialConn{s: s, ctx: ctx}
	ident, err := s.drv.start(c, s.cfg.HandshakeTimeout)
	if err == nil {
		var ok bool
		ok, err = s.listen(ctx, s.cfg.HandshakeTimeout)
		if err == nil && !ok {
			err = fmt.Errorf("acquire: %w: %s sent no valid %s frames within %v (is it a %s board, at %d baud?)",
				ErrNoAnswer, s.cfg.Port, s.cfg.Protocol, s.cfg.HandshakeTimeout, s.cfg.Protocol, baud)
		}
	}
	if err != nil {
		s.dropPort()
		return err
	}
	if ident == "" {
		ident = s.drv.identity()
	}
	s.ident = ident
	return nil
}

// retire moves the parser's stats into prev and resets it for a new stream.
func (s *SerialSource) retire() {
	s.statsMu.Lock()
	s.prev.Add(s.dec.stats())
	s.dec.reset()
	s.statsMu.Unlock()
}

// listen reads and parses until the decoder holds enough frames to say the
// protocol is right, or d passes. The frames stay queued for Read.
func (s *SerialSource) listen(ctx context.Context, d time.Duration) (bool, error) {
	deadline := Now() + d.Nanoseconds()
	for {
		if s.off < s.n || s.dec.held() {
			s.off += s.dec.parse(s.buf[s.off:s.n])
			if s.drv.identified(s.dec) {
				return true, nil
			}
			if s.dec.full() { // the frame queue is full without identification
				return false, nil
			}
			continue
		}
		if Now() > deadline {
			return false, nil
		}
		if err := s.fill(ctx); err != nil {
			return false, err
		}
	}
}

// fill reads the port into buf once (up to PollInterval). A timeout leaves
// buf empty and returns nil.
func (s *SerialSource) fill(ctx context.Context) error {
	if s.closed.Load() {
		return ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	// go.bug.st/serial's Read allocates its select(2) set on every call;
	// the runtime poller does not, so the hot path reads s.rd.
	_ = s.rd.SetReadDeadline(time.Now().Add(s.cfg.PollInterval))
	n, err := s.rd.Read(s.buf)
	now := Now()
	if n > 0 {
		s.off, s.n, s.bufArrived, s.lastByte = 0, n, now, now
		return nil
	}
	if s.closed.Load() {
		return ErrClosed
	}
	switch {
	case err == nil, errors.Is(err, os.ErrDeadlineExceeded):
	case errors.Is(err, io.EOF): // a hung-up tty reads as end of file
		return fmt.Errorf("%w: %s: the device hung up", ErrDisconnected, s.cfg.Port)
	default:
		return fmt.Errorf("%w: %s: %v", ErrDisconnected, s.cfg.Port, err)
	}
	if st := s.cfg.StallTimeout; st > 0 && now-s.lastByte > st.Nanoseconds() {
		return fmt.Errorf("%w: %s: no data for %v", ErrDisconnected, s.cfg.Port, st)
	}
	return nil
}

// dropPort closes the port after a failure.
func (s *SerialSource) dropPort() {
	s.mu.Lock()
	if s.port != nil {
		s.port.Close()
		s.rd.Close()
		s.port, s.rd = nil, nil
	}
	s.mu.Unlock()
}

// reconnect reopens the port with backoff until it succeeds, ctx ends or
// the source is closed.
func (s *SerialSource) reconnect(ctx context.Context) error {
	wait := s.cfg.ReconnectMin
	for {
		err := s.open(ctx, true)
		if err == nil {
			s.statsMu.Lock()
			s.stats.Reconnects++
			if s.resumed {
				s.stats.Resumed++
			}
			s.statsMu.Unlock()
			s.reconnected = true
			return nil
		}
		if errors.Is(err, ErrClosed) || ctx.Err() != nil {
			return err
		}
		s.statsMu.Lock()
		s.stats.FailedReconnects++
		s.statsMu.Unlock()
		if err := s.sleep(ctx, wait); err != nil {
			return err
		}
		wait = min(2*wait, s.cfg.ReconnectMax)
	}
}

// sleep waits d in steps of at most PollInterval, returning early with ctx's
// error or ErrClosed.
func (s *SerialSource) sleep(ctx context.Context, d time.Duration) error {
	end := Now() + d.Nanoseconds()
	for {
		if s.closed.Load() {
			return ErrClosed
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		left := end - Now()
		if left <= 0 {
			return nil
		}
		time.Sleep(min(time.Duration(left), s.cfg.PollInterval))
	}
}

// gapAfterReconnect returns the frames lost across a reconnect before a
// frame whose parser-counted gap is counted, arriving at arrived.
func (s *SerialSource) gapAfterReconnect(counted uint64, arrived int64) uint64 {
	est := float64(arrived-s.lastArrived)*1e-9*s.rate - 1
	mod := uint64(s.dec.modulus())
	if s.resumed && mod > 0 {
		k := math.Round((est - float64(counted)) / float64(mod))
		if k < 0 || math.IsNaN(k) {
			k = 0
		}
		return counted + uint64(k)*mod
	}
	if est < 0 || math.IsNaN(est) {
		return 0
	}
	return uint64(math.Round(est))
}

// Read fills b with the next block (see SerialSource).
func (s *SerialSource) Read(ctx context.Context, b *Block) error {
	if s.closed.Load() {
		return ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := s.lost; err != nil {
		s.lost = nil
		return err
	}
	if s.port == nil {
		if err := s.reconnect(ctx); err != nil {
			return err
		}
	}
	ch := s.drv.channels()
	data := b.Data[:0]
	frames := 0
	var dropped uint64
	arrived := s.bufArrived
	for frames < s.cfg.BlockFrames {
		if gap, ok := s.dec.peek(); ok {
			if s.reconnected && s.emitted {
				est := s.gapAfterReconnect(gap, s.bufArrived)
				if frames > 0 && est > 0 {
					break
				}
				if est > gap {
					s.statsMu.Lock()
					s.stats.EstimatedDropped += est - gap
					s.statsMu.Unlock()
				}
				gap = est
			}
			s.reconnected = false
			if frames > 0 && gap > 0 {
				break
			}
			if frames == 0 {
				dropped = gap
			}
			data = s.dec.take(data)
			frames++
			arrived = s.bufArrived
			continue
		}
		if s.off < s.n || s.dec.held() {
			s.off += s.dec.parse(s.buf[s.off:s.n])
			continue
		}
		if err := s.fill(ctx); err != nil {
			if errors.Is(err, ErrDisconnected) {
				s.dropPort()
				if frames > 0 {
					s.lost = err
					break
				}
				return err
			}
			if frames > 0 {
				break // return what was decoded; the next Read reports err
			}
			return err
		}
	}
	b.Data = data
	b.Spikes = b.Spikes[:0]
	b.Truth = b.Truth[:0]
	b.TruthDims = 0
	b.Seq = s.seq
	b.Start = s.next + int64(dropped)
	b.Frames = frames
	b.Rate = s.rate
	b.Channels = ch
	b.Dropped = dropped
	b.Arrived = arrived
	s.seq++
	s.next = b.End()
	s.lastArrived = arrived
	s.emitted = true
	return nil
}

// Close stops the board's stream where the protocol has a command for it,
// closes the port and ends a waiting Read. It is idempotent and returns
// nil.
func (s *SerialSource) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.port != nil {
		s.drv.stop(s.port)
		s.rd.Close()
		s.port.Close()
		s.port, s.rd = nil, nil
	}
	return nil
}

var _ Source = (*SerialSource)(nil)

// serialConn is the port as a driver's handshake sees it.
type serialConn struct {
	s   *SerialSource
	ctx context.Context
}

// write sends b.
func (c *serialConn) write(b []byte) error {
	if _, err := c.s.port.Write(b); err != nil {
		return fmt.Errorf("acquire: writing to %s: %w", c.s.cfg.Port, err)
	}
	return nil
}

// drain discards input until the line has been quiet for quiet, or until
// limit passes.
func (c *serialConn) drain(quiet, limit time.Duration) error {
	end := Now() + limit.Nanoseconds()
	last := Now()
	for Now() < end {
		if err := c.s.fill(c.ctx); err != nil {
			return err
		}
		if c.s.n > c.s.off {
			last = Now()
			c.s.off = c.s.n
		} else if Now()-last >= quiet.Nanoseconds() {
			return nil
		}
	}
	return nil
}

// readUntil collects input until it ends with suffix, for at most timeout.
// Bytes after the suffix stay in the buffer.
func (c *serialConn) readUntil(suffix string, timeout time.Duration, what string) (string, error) {
	var got []byte
	end := Now() + timeout.Nanoseconds()
	for {
		for c.s.off < c.s.n {
			got = append(got, c.s.buf[c.s.off])
			c.s.off++
			if len(got) > 4096 {
				return "", fmt.Errorf("acquire: %w: %s answered %s with more than 4 KiB and no %q (another protocol streaming?)", ErrNoAnswer, c.s.cfg.Port, what, suffix)
			}
			if strings.HasSuffix(string(got), suffix) {
				return string(got), nil
			}
		}
		if Now() > end {
			return "", fmt.Errorf("acquire: %w: %s did not answer %s with %q within %v (got %d bytes: %q)", ErrNoAnswer, c.s.cfg.Port, what, suffix, timeout, len(got), clip(got, 40))
		}
		if err := c.s.fill(c.ctx); err != nil {
			return "", err
		}
	}
}

// clip returns at most n bytes of b.
func clip(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}
