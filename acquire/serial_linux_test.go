//go:build linux

package acquire_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bciloop/bciloop/acquire"
	"github.com/bciloop/bciloop/acquire/acquiretest"
	"github.com/bciloop/bciloop/acquire/serialtest"
)

// fake is one protocol's fake board with what a test needs to check frames.
type fake struct {
	protocol string
	board    func() serialtest.Board
	speed    float64
	// expect returns the µV of frame f of board b (frame f of the stream).
	expect  func(b serialtest.Board, f uint64) []float32
	counter bool // drops are counted from a device counter
}

// µV scales of the protocols, as the drivers document them.
const (
	cytonUV     = 4.5e6 / 24 / (1<<23 - 1) // ADS1299 at gain 24
	thinkgearUV = 1.8 / 4096 / 2000 * 1e6  // TGAM1 raw conversion
)

func fakes() []fake {
	return []fake{
		{acquire.ProtocolCyton, func() serialtest.Board { return &serialtest.CytonBoard{Seed: 1, CounterStart: 200, FalseHeaders: true} }, 20,
			func(b serialtest.Board, f uint64) []float32 {
				ch := b.(*serialtest.CytonBoard).Frame(f)
				out := make([]float32, 8)
				for i := range out {
					out[i] = float32(ch[i]) * float32(cytonUV)
				}
				return out
			}, true},
		{acquire.ProtocolCytonDaisy, func() serialtest.Board {
			return &serialtest.CytonBoard{Daisy: true, Seed: 2, CounterStart: 100, FalseHeaders: true}
		}, 20,
			func(b serialtest.Board, f uint64) []float32 {
				ch := b.(*serialtest.CytonBoard).Frame(f)
				out := make([]float32, 16)
				for i := range out {
					out[i] = float32(ch[i]) * float32(cytonUV)
				}
				return out
			}, true},
		{acquire.ProtocolModEEG, func() serialtest.Board { return &serialtest.ModEEGBoard{Seed: 3, CounterStart: 10, FalseHeaders: true} }, 20,
			func(b serialtest.Board, f uint64) []float32 {
				ch := b.(*serialtest.ModEEGBoard).Frame(f)
				out := make([]float32, 6)
				for i := range out {
					out[i] = float32(int(ch[i]) - 512)
				}
				return out
			}, true},
		{acquire.ProtocolThinkGear, func() serialtest.Board { return &serialtest.ThinkGearBoard{Seed: 4, FalseHeaders: true} }, 10,
			func(b serialtest.Board, f uint64) []float32 {
				return []float32{float32(b.(*serialtest.ThinkGearBoard).Raw(f)) * float32(thinkgearUV)}
			}, false},
		{acquire.ProtocolSpikerBox, func() serialtest.Board {
			return &serialtest.SpikerBoxBoard{Seed: 5, Channels: 2, Bits: 10, FalseHeaders: true}
		}, 1,
			func(b serialtest.Board, f uint64) []float32 {
				ch := b.(*serialtest.SpikerBoxBoard).Frame(f)
				return []float32{float32(ch[0] - 512), float32(ch[1] - 512)}
			}, false},
	}
}

func startDevice(t *testing.T, b serialtest.Board, opts serialtest.Options) *serialtest.Device {
	t.Helper()
	opts.Dir = t.TempDir()
	d, err := serialtest.NewDevice(b, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func testConfig(port, protocol string, block int) acquire.SerialConfig {
	c := acquire.DefaultSerialConfig()
	c.Port, c.Protocol, c.BlockFrames = port, protocol, block
	c.HandshakeTimeout = 2 * time.Second
	c.PollInterval = 5 * time.Millisecond
	c.ReconnectMin, c.ReconnectMax = 10*time.Millisecond, 100*time.Millisecond
	return c
}

func open(t *testing.T, c acquire.SerialConfig) *acquire.SerialSource {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	s, err := acquire.OpenSerial(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestSerialSourceConformance(t *testing.T) {
	for _, f := range fakes() {
		t.Run(f.protocol, func(t *testing.T) {
			acquiretest.Run(t, func(t *testing.T) acquire.Source {
				d := startDevice(t, f.board(), serialtest.Options{Speed: f.speed})
				return open(t, testConfig(d.Path, f.protocol, 8))
			}, acquiretest.Options{Blocks: 40, AllocFree: true})
		})
	}
}

// locate finds the packet number of a stream's first frame by its values.
func locate(t *testing.T, f fake, b serialtest.Board, first []float32) uint64 {
	t.Helper()
	for k := uint64(0); k < 4096; k++ {
		if equal(f.expect(b, k), first) {
			return k
		}
	}
	t.Fatalf("the first frame %v matches no packet the board sent", first)
	return 0
}

func equal(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Abs(float64(a[i]-b[i])) > 1e-3*math.Max(1, math.Abs(float64(a[i]))) {
			return false
		}
	}
	return true
}

// TestSerialSourceFaults streams each fake board through corrupted and
// dropped packets, false headers and a counter wrap, and checks that every
// frame holds exactly the values of the packet it claims to be, and that
// the drops are counted exactly where the protocol has a counter.
func TestSerialSourceFaults(t *testing.T) {
	for _, f := range fakes() {
		t.Run(f.protocol, func(t *testing.T) {
			// Frames of a Daisy stream are packet pairs: fault packets by pairs' odd halves.
			faults := []serialtest.Fault{
				{Kind: serialtest.Corrupt, At: 61},
				{Kind: serialtest.Drop, At: 121, Count: 3},
				{Kind: serialtest.Corrupt, At: 301},
				{Kind: serialtest.Drop, At: 501, Count: 1},
			}
			board := f.board()
			d := startDevice(t, board, serialtest.Options{Speed: f.speed, Faults: faults})
			s := open(t, testConfig(d.Path, f.protocol, 7))
			perFrame := uint64(1)
			if f.protocol == acquire.ProtocolCytonDaisy {
				perFrame = 2
			}
			const frames = 400
			frameLost := func(rep *serialtest.Report, f uint64) bool {
				return rep.IsLost(f*perFrame) || (perFrame == 2 && rep.IsLost(2*f+1))
			}
			var b acquire.Block
			var k0, got, dropped, nextK uint64
			var start0, next int64
			for got < frames {
				ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
				err := s.Read(ctx, &b)
				cancel()
				if err != nil {
					t.Fatalf("Read after %d frames: %v", got, err)
				}
				if err := acquiretest.Check(&b); err != nil {
					t.Fatal(err)
				}
				if got == 0 {
					k0 = locate(t, f, board, b.Data[:b.Channels])
					start0, next, nextK = b.Start, b.Start, k0
				}
				if b.Start != next+int64(b.Dropped) {
					t.Fatalf("block %d starts at %d, want %d + dropped %d", b.Seq, b.Start, next, b.Dropped)
				}
				dropped += b.Dropped
				rep := d.Report()
				for i := range b.Frames {
					var k uint64
					if f.counter { // the sample clock says which packet it is
						k = k0 + uint64(b.Start-start0) + uint64(i)
					} else { // no counter: the sent, undamaged packets in order
						for frameLost(&rep, nextK) {
							nextK++
						}
						k = nextK
						nextK++
					}
					if want := f.expect(board, k); !equal(b.Data[i*b.Channels:(i+1)*b.Channels], want) {
						t.Fatalf("frame at sample %d: %v, want packet %d's %v (invented or misplaced)", b.Start+int64(i), b.Data[i*b.Channels:(i+1)*b.Channels], k, want)
					}
				}
				next = b.End()
				got += uint64(b.Frames)
			}
			rep := d.Report()
			st := s.Stats()
			if f.counter {
				lost := uint64(0)
				for k := k0; k < k0+uint64(next-start0); k++ {
					if frameLost(&rep, k) {
						lost++
					}
				}
				if dropped != lost || lost < 4 {
					t.Errorf("Dropped sums to %d, the device lost %d frames (%+v)", dropped, lost, rep)
				}
			} else if st.Parse.Bad < 2 {
				t.Errorf("stats %+v: the 2 corrupted packets were not counted as bad", st.Parse)
			}
			t.Logf("%s: %d frames, dropped %d, stats %+v", f.protocol, got, dropped, st.Parse)
		})
	}
}

// TestSerialSourceVanish unplugs a Cyton's port mid-stream for 300 ms at
// real rate: Read reports ErrDisconnected once, reconnects, resumes the
// still-streaming board and counts exactly the packets lost meanwhile.
func TestSerialSourceVanish(t *testing.T) {
	board := &serialtest.CytonBoard{Seed: 9, CounterStart: 0}
	d := startDevice(t, board, serialtest.Options{Speed: 1, Faults: []serialtest.Fault{{Kind: serialtest.Vanish, At: 100, Down: 300 * time.Millisecond}}})
	s := open(t, testConfig(d.Path, acquire.ProtocolCyton, 10))
	var b acquire.Block
	var disconnects int
	var dropped uint64
	next := int64(0)
	for next < 250 {
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		err := s.Read(ctx, &b)
		cancel()
		if errors.Is(err, acquire.ErrDisconnected) {
			disconnects++
			continue
		}
		if err != nil {
			t.Fatalf("Read: %v", err)
		}
		if b.Start != next+int64(b.Dropped) {
			t.Fatalf("block starts at %d, want %d + %d", b.Start, next, b.Dropped)
		}
		for i := range b.Frames {
			k := uint64(b.Start) + uint64(i)
			ch := board.Frame(k)
			for c := range 8 {
				if want := float32(ch[c]) * float32(cytonUV); math.Abs(float64(b.Data[i*8+c]-want)) > 1e-3*math.Max(1, math.Abs(float64(want))) {
					t.Fatalf("frame at sample %d holds %v, want packet %d's %v", k, b.Data[i*8+c], k, want)
				}
			}
		}
		dropped += b.Dropped
		next = b.End()
	}
	rep := d.Report()
	if disconnects != 1 || rep.Vanished != 1 {
		t.Fatalf("%d disconnects reported for %d vanishings", disconnects, rep.Vanished)
	}
	if dropped != rep.LostCount() {
		t.Fatalf("Dropped sums to %d, the device lost %d packets while away (%+v)", dropped, rep.LostCount(), rep.Lost)
	}
	st := s.Stats()
	if st.Reconnects != 1 || st.Resumed != 1 {
		t.Fatalf("stats %+v: want one reconnect that resumed the stream", st)
	}
	t.Logf("lost %d packets while the port was away; stats %+v", dropped, st)
}

func TestSerialSourceBadInput(t *testing.T) {
	ctx := t.Context()
	t.Run("no such port", func(t *testing.T) {
		c := testConfig("/dev/does-not-exist-"+fmt.Sprint(time.Now().UnixNano()), acquire.ProtocolCyton, 10)
		_, err := acquire.OpenSerial(ctx, c)
		if !errors.Is(err, acquire.ErrNoPort) || !strings.Contains(err.Error(), "serial ports") {
			t.Fatalf("err = %v, want ErrNoPort listing the ports", err)
		}
	})
	t.Run("mute board", func(t *testing.T) {
		d := startDevice(t, &serialtest.CytonBoard{Mute: true}, serialtest.Options{})
		c := testConfig(d.Path, acquire.ProtocolCyton, 10)
		c.HandshakeTimeout = 200 * time.Millisecond
		_, err := acquire.OpenSerial(ctx, c)
		if !errors.Is(err, acquire.ErrNoAnswer) || !strings.Contains(err.Error(), "'v'") {
			t.Fatalf("err = %v, want ErrNoAnswer naming the 'v' handshake", err)
		}
	})
	t.Run("another protocol", func(t *testing.T) {
		d := startDevice(t, &serialtest.ModEEGBoard{Seed: 1}, serialtest.Options{Speed: 4})
		for _, p := range []string{acquire.ProtocolCyton, acquire.ProtocolThinkGear, acquire.ProtocolSpikerBox} {
			c := testConfig(d.Path, p, 10)
			c.HandshakeTimeout = 300 * time.Millisecond
			if _, err := acquire.OpenSerial(ctx, c); !errors.Is(err, acquire.ErrNoAnswer) {
				t.Errorf("a ModEEG opened as %s: err = %v, want ErrNoAnswer", p, err)
			}
		}
	})
	t.Run("no daisy", func(t *testing.T) {
		d := startDevice(t, &serialtest.CytonBoard{}, serialtest.Options{})
		_, err := acquire.OpenSerial(ctx, testConfig(d.Path, acquire.ProtocolCytonDaisy, 10))
		if err == nil || !strings.Contains(err.Error(), "no Daisy") {
			t.Fatalf("err = %v, want a missing Daisy named", err)
		}
	})
}

func TestSerialSourceCytonGains(t *testing.T) {
	board := &serialtest.CytonBoard{Seed: 11}
	d := startDevice(t, board, serialtest.Options{Speed: 10})
	c := testConfig(d.Path, acquire.ProtocolCyton, 5)
	c.Cyton.Gains = []int{1, 2, 4, 6, 8, 12, 24, 24}
	s := open(t, c)
	if gains, set := board.Gains(); !set || [8]int(gains[:8]) != [8]int{1, 2, 4, 6, 8, 12, 24, 24} {
		t.Fatalf("the board's gains are %v (set %v)", gains, set)
	}
	if !strings.Contains(s.Identity(), "OpenBCI V3") {
		t.Fatalf("identity %q", s.Identity())
	}
	var b acquire.Block
	if err := s.Read(t.Context(), &b); err != nil {
		t.Fatal(err)
	}
	ch := board.Frame(0)
	for i, g := range c.Cyton.Gains {
		want := float64(ch[i]) * 4.5e6 / float64(g) / (1<<23 - 1)
		if math.Abs(float64(b.Data[i])-want) > 1e-3*math.Max(1, math.Abs(want)) {
			t.Errorf("channel %d at gain %d: %v µV, want %v", i, g, b.Data[i], want)
		}
	}
}

func TestSerialConfigValidate(t *testing.T) {
	c := acquire.DefaultSerialConfig()
	c.Port = "/dev/ttyUSB0"
	if err := c.Validate(); err != nil {
		t.Fatalf("defaults with a port: %v", err)
	}
	c = acquire.SerialConfig{Protocol: "cyton-daisy", BlockFrames: 0, ReconnectMin: time.Second, ReconnectMax: time.Millisecond,
		Cyton: acquire.CytonConfig{Gains: []int{3}}}
	err := c.Validate()
	for _, key := range []string{"port:", "block_frames:", "handshake_timeout:", "poll_interval:", "reconnect_max:", "cyton.gains:", "cyton.gains[0]:"} {
		if err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("Validate() = %v, want a %q problem", err, key)
		}
	}
	c = acquire.DefaultSerialConfig()
	c.Port, c.Protocol, c.SpikerBox = "x", "spikerbox", acquire.SpikerBoxConfig{Channels: 11, Bits: 12, ScaleUV: -1}
	err = c.Validate()
	for _, key := range []string{"spikerbox.channels:", "spikerbox.bits:", "spikerbox.scale_uv:"} {
		if err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("Validate() = %v, want a %q problem", err, key)
		}
	}
}

func TestProbeSerial(t *testing.T) {
	ctx := t.Context()
	for _, c := range []struct {
		board serialtest.Board
		want  string
	}{
		{&serialtest.CytonBoard{Seed: 1}, acquire.ProtocolCyton},
		{&serialtest.CytonBoard{Seed: 1, Daisy: true}, acquire.ProtocolCytonDaisy},
		{&serialtest.ModEEGBoard{Seed: 1}, acquire.ProtocolModEEG},
		{&serialtest.ThinkGearBoard{Seed: 1}, acquire.ProtocolThinkGear},
		{&serialtest.SpikerBoxBoard{Seed: 1, Channels: 2, Bits: 10}, acquire.ProtocolSpikerBox},
	} {
		t.Run(c.want, func(t *testing.T) {
			d := startDevice(t, c.board, serialtest.Options{Speed: 4})
			res, err := acquire.ProbeSerial(ctx, d.Path, 300*time.Millisecond)
			if err != nil || res.Protocol != c.want {
				t.Fatalf("ProbeSerial = %+v, %v; want %s", res, err, c.want)
			}
		})
	}
	t.Run("mute", func(t *testing.T) {
		d := startDevice(t, &serialtest.CytonBoard{Mute: true}, serialtest.Options{})
		if _, err := acquire.ProbeSerial(ctx, d.Path, 100*time.Millisecond); !errors.Is(err, acquire.ErrNoAnswer) {
			t.Fatalf("err = %v, want ErrNoAnswer", err)
		}
	})
	t.Run("exclusive", func(t *testing.T) {
		d := startDevice(t, &serialtest.CytonBoard{Seed: 1}, serialtest.Options{})
		s := open(t, testConfig(d.Path, acquire.ProtocolCyton, 1)) // go.bug.st/serial sets TIOCEXCL
		_, err := acquire.ProbeSerial(ctx, d.Path, 100*time.Millisecond)
		if !errors.Is(err, acquire.ErrPortInUse) || !strings.Contains(err.Error(), "TIOCEXCL") {
			t.Fatalf("err = %v, want ErrPortInUse for the exclusive open", err)
		}
		s.Close()
	})
	t.Run("held by another process", func(t *testing.T) {
		d := startDevice(t, &serialtest.CytonBoard{Seed: 1}, serialtest.Options{})
		f, err := os.OpenFile(d.Path, os.O_RDWR|syscall.O_NOCTTY, 0)
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.CommandContext(ctx, "sleep", "10")
		cmd.Stdin = f
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		f.Close()
		defer func() { cmd.Process.Kill(); cmd.Wait() }()
		_, err = acquire.ProbeSerial(ctx, d.Path, 100*time.Millisecond)
		if !errors.Is(err, acquire.ErrPortInUse) || !strings.Contains(err.Error(), strconv.Itoa(cmd.Process.Pid)) {
			t.Fatalf("err = %v, want ErrPortInUse naming process %d", err, cmd.Process.Pid)
		}
	})
}
