//go:build linux

package main

import (
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/rs/zerolog"

	"github.com/bciloop/bciloop/acquire"
	"github.com/bciloop/bciloop/acquire/serialtest"
	"github.com/bciloop/bciloop/loop"
)

func fakeDevice(t *testing.T, b serialtest.Board, speed float64) *serialtest.Device {
	t.Helper()
	d, err := serialtest.NewDevice(b, serialtest.Options{Dir: t.TempDir(), Speed: speed})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func TestDevicesList(t *testing.T) {
	code, out, errOut := run(t, "devices")
	if code != 0 || !(strings.HasPrefix(out, "PORT") || out == "no serial ports found\n") {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if code, _, errOut := run(t, "devices", "extra"); code != 2 || !strings.Contains(errOut, "unexpected") {
		t.Fatalf("exit %d, stderr %q; want usage error", code, errOut)
	}
}

func TestDevicesProbe(t *testing.T) {
	d := fakeDevice(t, &serialtest.CytonBoard{Seed: 1, Daisy: true}, 4)
	code, out, errOut := run(t, "devices", "--probe", d.Path, "--timeout", "300ms")
	if code != 0 || !strings.Contains(out, ": cyton-daisy (OpenBCI V3") {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	code, _, errOut = run(t, "devices", "--probe", "/dev/no-such-port-here", "--timeout", "100ms")
	if code != 1 || !strings.Contains(errOut, "does not exist") || !strings.Contains(errOut, "serial ports") {
		t.Fatalf("exit %d, stderr %q; want a missing port with the list of ports", code, errOut)
	}
	mute := fakeDevice(t, &serialtest.CytonBoard{Mute: true}, 1)
	code, _, errOut = run(t, "devices", "--probe", mute.Path, "--timeout", "100ms")
	if code != 1 || !strings.Contains(errOut, "answer") {
		t.Fatalf("exit %d, stderr %q; want a board that does not answer", code, errOut)
	}
}

func TestAcquireUsage(t *testing.T) {
	for _, c := range []struct {
		args []string
		want []string
	}{
		{[]string{"acquire"}, []string{"port:", "protocol:"}},
		{[]string{"acquire", "--device", "/dev/x", "--protocol", "nope", "--block", "0", "--rig", ""}, []string{"protocol:", "block_frames:", "rig:"}},
	} {
		code, _, errOut := run(t, c.args...)
		if code != 2 {
			t.Errorf("%v: exit %d, want 2", c.args, code)
		}
		for _, w := range c.want {
			if !strings.Contains(errOut, w) {
				t.Errorf("%v: stderr %q lacks %q", c.args, errOut, w)
			}
		}
	}
	code, _, errOut := run(t, "acquire", "--device", "/dev/no-such-port-here", "--protocol", "cyton")
	if code != 1 || !strings.Contains(errOut, "does not exist") {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
}

// TestAcquirePublishes streams a fake ModularEEG through `acquire` into an
// embedded NATS server and decodes what arrives on bciloop.t.raw.
func TestAcquirePublishes(t *testing.T) {
	srv, err := loop.StartEmbedded("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	nc, err := loop.Connect(srv.URL(), ptr(loop.DefaultNATSConfig()), zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	var (
		mu     sync.Mutex
		blocks []acquire.Block
		errs   []error
	)
	sub, err := nc.Subscribe("bciloop.t.raw", func(m *nats.Msg) {
		var b acquire.Block
		err := acquire.DecodeRawMessage(&b, m.Data)
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			errs = append(errs, err)
			return
		}
		blocks = append(blocks, b)
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	d := fakeDevice(t, &serialtest.ModEEGBoard{Seed: 3}, 4)
	code, out, errOut := run(t, "acquire", "--device", d.Path, "--protocol", "modeeg", "--nats", srv.URL(), "--rig", "t", "--block", "16", "--duration", "700ms", "--log-level", "error")
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	var sum acquireSummary
	if err := json.Unmarshal([]byte(out), &sum); err != nil {
		t.Fatalf("summary %q: %v", out, err)
	}
	time.Sleep(100 * time.Millisecond) // let the last messages arrive
	mu.Lock()
	defer mu.Unlock()
	if len(errs) > 0 {
		t.Fatalf("undecodable messages: %v", errs)
	}
	if sum.Blocks == 0 || uint64(len(blocks)) != sum.Blocks || sum.Channels != 6 || sum.Rate != 256 {
		t.Fatalf("summary %+v, %d blocks received", sum, len(blocks))
	}
	for i := 1; i < len(blocks); i++ {
		if blocks[i].Seq != blocks[i-1].Seq+1 || blocks[i].Start != blocks[i-1].End() {
			t.Fatalf("block %d (seq %d, start %d) does not follow seq %d ending at %d", i, blocks[i].Seq, blocks[i].Start, blocks[i-1].Seq, blocks[i-1].End())
		}
	}
}

func ptr[T any](v T) *T { return &v }
