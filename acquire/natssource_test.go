package acquire_test

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/bciloop/bciloop/acquire"
	"github.com/bciloop/bciloop/acquire/acquiretest"
	"github.com/bciloop/bciloop/sim"
)

func natsServer(t *testing.T) *nats.Conn {
	t.Helper()
	srv, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: server.RANDOM_PORT, NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	go srv.Start()
	if !srv.ReadyForConnections(5 * time.Second) {
		t.Fatal("nats server not ready")
	}
	t.Cleanup(srv.Shutdown)
	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// publishSim publishes n blocks of a synthetic brain as spikes messages,
// leaving out the blocks in skip, plus one malformed message.
func publishSim(t *testing.T, nc *nats.Conn, subject string, n int, skip map[int]bool) {
	t.Helper()
	brain, err := sim.NewMotorCortex(sim.DefaultMotorCortexConfig())
	if err != nil {
		t.Fatal(err)
	}
	src, err := acquire.NewSimSource(brain, acquire.SimSourceConfig{BlockFrames: 10})
	if err != nil {
		t.Fatal(err)
	}
	var b acquire.Block
	for i := range n {
		if err := src.Read(context.Background(), &b); err != nil {
			t.Fatal(err)
		}
		if i == 3 {
			_ = nc.Publish(subject, []byte("BL garbage"))
		}
		if !skip[i] {
			if err := nc.Publish(subject, acquire.AppendSpikesMessage(nil, &b)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
}

// TestNATSSourceGaps: blocks lost on the way are counted as sequence gaps
// and reported as dropped frames; a malformed message is skipped and
// counted; nothing is invented.
func TestNATSSourceGaps(t *testing.T) {
	nc := natsServer(t)
	src, err := acquire.NewNATSSource(nc, acquire.NATSSourceConfig{Subject: "bciloop.remote.spikes", Pending: 64})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	publishSim(t, nc, "bciloop.remote.spikes", 20, map[int]bool{5: true, 6: true, 12: true})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var prev, b acquire.Block
	var dropped uint64
	for i := range 17 {
		if err := src.Read(ctx, &b); err != nil {
			t.Fatal(err)
		}
		if b.Seq != uint64(i) {
			t.Fatalf("block %d has seq %d", i, b.Seq)
		}
		if i > 0 {
			if err := acquiretest.CheckNext(&prev, &b); err != nil {
				t.Fatal(err)
			}
		}
		dropped += b.Dropped
		b.CopyTo(&prev)
	}
	st := src.Stats()
	if st.Gaps != 3 || dropped != 30 || st.Invalid != 1 || st.LastErr == nil {
		t.Fatalf("gaps %d, dropped frames %d, invalid %d (%v); want 3, 30, 1", st.Gaps, dropped, st.Invalid, st.LastErr)
	}
}

func TestNATSSourceConformance(t *testing.T) {
	acquiretest.Run(t, func(t *testing.T) acquire.Source {
		nc := natsServer(t)
		src, err := acquire.NewNATSSource(nc, acquire.NATSSourceConfig{Subject: "s", Pending: 1024})
		if err != nil {
			t.Fatal(err)
		}
		publishSim(t, nc, "s", 200, nil)
		return src
	}, acquiretest.Options{Blocks: 150, Finite: true, Timeout: 5 * time.Second})
}

func TestNATSSourceConfig(t *testing.T) {
	nc := natsServer(t)
	_, err := acquire.NewNATSSource(nc, acquire.NATSSourceConfig{})
	if err == nil || err.Error() != "acquire: nats source: subject: required\npending: must be ≥ 1, got 0" {
		t.Fatalf("got %v", err)
	}
}
