//go:build linux

package serialtest

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// FaultKind is a kind of injected fault.
type FaultKind int

const (
	// Corrupt damages packet At (Board.Corrupt) so that it must be rejected.
	Corrupt FaultKind = iota
	// Drop generates packets At … At+Count−1 but never sends them.
	Drop
	// Vanish makes the port disappear before packet At: the pty closes and
	// the path is removed; after Down a new pty appears at the same path.
	// The board keeps running meanwhile, so the packets due while the port
	// is away are lost.
	Vanish
)

// Fault is one injected fault.
type Fault struct {
	Kind  FaultKind
	At    uint64        // packet number since the stream started
	Count int           // Drop: packets dropped (≥ 1)
	Down  time.Duration // Vanish: how long the port stays away
}

// Options configure a Device.
type Options struct {
	// Dir holds the device's path (a symlink to the current pty);
	// typically t.TempDir().
	Dir string
	// Speed multiplies the board's packet rate; 0 means 1 (real time).
	Speed float64
	// Faults are applied in order of At.
	Faults []Fault
}

// Span is a run of packet numbers [From, To).
type Span struct{ From, To uint64 }

// Report tells what a Device did.
type Report struct {
	Generated uint64   // packets generated in the current stream (sent or lost)
	Lost      []Span   // packets never sent: dropped, or due while the port was away
	Corrupted []uint64 // packets sent damaged
	Vanished  int      // times the port vanished and came back
	Restarts  int      // times the host (re)started the stream
}

// LostCount returns the number of packets in r.Lost.
func (r *Report) LostCount() uint64 {
	var n uint64
	for _, s := range r.Lost {
		n += s.To - s.From
	}
	return n
}

// IsLost reports whether packet k was lost or corrupted.
func (r *Report) IsLost(k uint64) bool {
	for _, s := range r.Lost {
		if k >= s.From && k < s.To {
			return true
		}
	}
	return slices.Contains(r.Corrupted, k)
}

// Device is a fake serial device: a Board behind a pseudo-terminal whose
// slave side is reached through Path, a symlink the device controls, so
// that code under test opens it through go.bug.st/serial like a real port.
// It sends the board's packets at the board's rate times Speed, in the
// bursts a USB serial chip makes (everything due each millisecond in one
// write), feeds what the host writes to the board and sends the replies
// between packets, and applies the faults. The device keeps the slave side
// open itself, so the host may close and reopen the port.
type Device struct {
	Path  string
	board Board
	speed float64

	mu      sync.Mutex
	master  *os.File
	slave   *os.File
	faults  []Fault
	report  Report
	replies []byte
	restart bool

	closed atomic.Bool
	done   chan struct{}
	wg     sync.WaitGroup
}

// NewDevice starts a fake device for board. Close it when done.
func NewDevice(board Board, opts Options) (*Device, error) {
	if opts.Dir == "" {
		return nil, errors.New("serialtest: Options.Dir must name a directory")
	}
	if opts.Speed == 0 {
		opts.Speed = 1
	}
	if !(opts.Speed > 0) {
		return nil, fmt.Errorf("serialtest: Options.Speed must be > 0, got %v", opts.Speed)
	}
	d := &Device{
		Path:   filepath.Join(opts.Dir, "ttyFAKE"),
		board:  board,
		speed:  opts.Speed,
		faults: slices.Clone(opts.Faults),
		done:   make(chan struct{}),
	}
	slices.SortStableFunc(d.faults, func(a, b Fault) int {
		switch {
		case a.At < b.At:
			return -1
		case a.At > b.At:
			return 1
		}
		return 0
	})
	if err := d.appear(); err != nil {
		return nil, err
	}
	d.wg.Add(2)
	go d.writer()
	go d.reader()
	return d, nil
}

// appear opens a new pty and points Path at it.
func (d *Device) appear() error {
	m, s, err := openPTY()
	if err != nil {
		return err
	}
	tmp := d.Path + ".new"
	_ = os.Remove(tmp)
	if err := os.Symlink(s.Name(), tmp); err != nil {
		m.Close()
		s.Close()
		return fmt.Errorf("serialtest: %w", err)
	}
	if err := os.Rename(tmp, d.Path); err != nil {
		m.Close()
		s.Close()
		return fmt.Errorf("serialtest: %w", err)
	}
	d.mu.Lock()
	d.master, d.slave = m, s
	d.mu.Unlock()
	return nil
}

// vanish removes Path and closes the pty: the host's reads fail.
func (d *Device) vanish() {
	_ = os.Remove(d.Path)
	d.mu.Lock()
	m, s := d.master, d.slave
	d.master, d.slave = nil, nil
	d.mu.Unlock()
	if m != nil {
		m.Close()
	}
	if s != nil {
		s.Close()
	}
}

// Report returns what the device did so far.
func (d *Device) Report() Report {
	d.mu.Lock()
	defer d.mu.Unlock()
	r := d.report
	r.Lost = slices.Clone(r.Lost)
	r.Corrupted = slices.Clone(r.Corrupted)
	return r
}

// SlavePath returns the pty the symlink points to now.
func (d *Device) SlavePath() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.slave == nil {
		return ""
	}
	return d.slave.Name()
}

// Close stops the device and removes its path. It is idempotent.
func (d *Device) Close() error {
	if d.closed.Swap(true) {
		return nil
	}
	close(d.done)
	d.vanish()
	d.wg.Wait()
	return nil
}

func (d *Device) currentMaster() *os.File {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.master
}

// reader feeds what the host writes to the board and queues its replies.
func (d *Device) reader() {
	defer d.wg.Done()
	buf := make([]byte, 256)
	for !d.closed.Load() {
		m := d.currentMaster()
		if m == nil {
			time.Sleep(time.Millisecond)
			continue
		}
		n, err := m.Read(buf) // ends when the pty closes (vanish, Close)
		if n > 0 {
			reply, restart := d.board.Input(buf[:n])
			d.mu.Lock()
			d.replies = append(d.replies, reply...)
			if restart {
				d.restart = true
				d.report.Restarts++
			}
			d.mu.Unlock()
		}
		if err != nil {
			time.Sleep(time.Millisecond) // the pty is being replaced
		}
	}
}

// tick is the burst interval: what is due is written once a millisecond,
// as a USB serial chip's latency timer batches bytes.
const tick = time.Millisecond

// writer sends packets on time, with faults, and replies between them.
func (d *Device) writer() {
	defer d.wg.Done()
	var (
		buf     []byte
		k       uint64
		t0      time.Time
		started bool
	)
	period := time.Duration(float64(time.Second) / (d.board.PacketRate() * d.speed))
	timer := time.NewTimer(tick)
	defer timer.Stop()
	for !d.closed.Load() {
		d.mu.Lock()
		buf = append(buf[:0], d.replies...)
		d.replies = d.replies[:0]
		if d.restart {
			d.restart, started = false, false
		}
		d.mu.Unlock()
		if d.board.Streaming() {
			if !started {
				t0, k, started = time.Now(), 0, true
				d.mu.Lock()
				d.report = Report{Vanished: d.report.Vanished, Restarts: d.report.Restarts}
				d.mu.Unlock()
			}
			due := uint64(time.Since(t0)/period) + 1
			for ; k < due && len(buf) < 1<<16; k++ {
				if len(d.faults) > 0 && d.faults[0].At == k {
					f := d.faults[0]
					d.faults = d.faults[1:]
					switch f.Kind {
					case Drop:
						n := uint64(max(f.Count, 1))
						d.addLost(Span{k, k + n})
						k += n - 1
						continue
					case Vanish:
						d.write(buf)
						buf = buf[:0]
						d.vanish()
						select {
						case <-time.After(f.Down):
						case <-d.done:
							return
						}
						if err := d.appear(); err != nil {
							return
						}
						now := uint64(time.Since(t0)/period) + 1
						d.addLost(Span{k, now})
						d.mu.Lock()
						d.report.Vanished++
						d.mu.Unlock()
						k = now - 1
						due = now
						continue
					case Corrupt:
						n := len(buf)
						buf = d.board.AppendPacket(buf, k)
						d.board.Corrupt(buf[n:])
						d.mu.Lock()
						d.report.Corrupted = append(d.report.Corrupted, k)
						d.mu.Unlock()
						continue
					}
				}
				buf = d.board.AppendPacket(buf, k)
			}
			d.mu.Lock()
			d.report.Generated = k
			d.mu.Unlock()
		}
		d.write(buf)
		timer.Reset(tick)
		select {
		case <-timer.C:
		case <-d.done:
			return
		}
	}
}

func (d *Device) addLost(s Span) {
	if s.To <= s.From {
		return
	}
	d.mu.Lock()
	d.report.Lost = append(d.report.Lost, s)
	d.mu.Unlock()
}

// write sends b to the host; a host that does not read blocks it, as a
// real device's output would back up (bounded by the pty's buffer).
func (d *Device) write(b []byte) {
	for len(b) > 0 && !d.closed.Load() {
		m := d.currentMaster()
		if m == nil {
			return
		}
		_ = m.SetWriteDeadline(time.Now().Add(50 * time.Millisecond))
		n, err := m.Write(b)
		b = b[n:]
		if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
			return
		}
	}
}
