//go:build linux

package serialtest

import (
	"bytes"
	"os"
	"testing"
	"time"

	"go.bug.st/serial"
)

// TestDeviceBytes opens a fake ModularEEG through go.bug.st/serial and
// checks the bytes against the board's packets, with a dropped packet and
// a corrupted one reported as such.
func TestDeviceBytes(t *testing.T) {
	b := &ModEEGBoard{Seed: 1}
	d, err := NewDevice(b, Options{Dir: t.TempDir(), Speed: 8, Faults: []Fault{{Kind: Drop, At: 3, Count: 2}, {Kind: Corrupt, At: 6}}})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	p, err := serial.Open(d.Path, &serial.Mode{BaudRate: 57600})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	p.SetReadTimeout(50 * time.Millisecond)
	var want []byte
	for k := uint64(0); k < 10; k++ {
		switch {
		case k == 3 || k == 4:
		case k == 6:
			pk := b.AppendPacket(nil, k)
			b.Corrupt(pk)
			want = append(want, pk...)
		default:
			want = b.AppendPacket(want, k)
		}
	}
	var got []byte
	buf := make([]byte, 256)
	for deadline := time.Now().Add(2 * time.Second); len(got) < len(want) && time.Now().Before(deadline); {
		n, _ := p.Read(buf)
		got = append(got, buf[:n]...)
	}
	if !bytes.HasPrefix(got, want) {
		t.Fatalf("got % x\nwant % x", got[:min(len(got), len(want))], want)
	}
	r := d.Report()
	if r.LostCount() != 2 || !r.IsLost(3) || !r.IsLost(6) || r.IsLost(5) {
		t.Fatalf("report %+v", r)
	}
}

// TestDeviceVanish checks that the path disappears and comes back at a new
// pty, and that the packets due meanwhile are reported lost.
func TestDeviceVanish(t *testing.T) {
	d, err := NewDevice(&ThinkGearBoard{Seed: 2}, Options{Dir: t.TempDir(), Speed: 1, Faults: []Fault{{Kind: Vanish, At: 20, Down: 100 * time.Millisecond}}})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	first := d.SlavePath()
	gone := false
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(2 * time.Millisecond) {
		if _, err := os.Stat(d.Path); err != nil {
			gone = true
		} else if gone {
			break
		}
	}
	if !gone {
		t.Fatal("the path never vanished")
	}
	time.Sleep(20 * time.Millisecond)
	r := d.Report()
	if r.Vanished != 1 || r.LostCount() < 40 || d.SlavePath() == "" {
		t.Fatalf("report %+v (first pty %s, now %s): want ~51 packets lost in 100 ms at 512 Hz", r, first, d.SlavePath())
	}
}

func TestCytonBoardCommands(t *testing.T) {
	b := &CytonBoard{Daisy: true}
	reply, restart := b.Input([]byte("vxQ030110Xb"))
	if !restart || !bytes.Contains(reply, []byte("Daisy")) || !bytes.Contains(reply, []byte("Success: Channel set for 9$$$")) {
		t.Fatalf("reply %q restart %v", reply, restart)
	}
	if g, set := b.Gains(); !set || g[8] != 6 {
		t.Fatalf("gains %v", g)
	}
	if reply, _ := b.Input([]byte("x9")); len(reply) != 0 {
		t.Fatalf("partial command answered %q", reply)
	}
}
