package loop_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/rs/zerolog"

	"github.com/bciloop/bciloop/loop"
)

// A run recorded as a session on the embedded server's JetStream, then
// replayed through the recorded decoder: every command is reproduced.
func ExampleReplaySession() {
	dir, _ := os.MkdirTemp("", "session")
	defer os.RemoveAll(dir)

	cfg := loop.DefaultConfig()
	cfg.Run.Lockstep, cfg.Run.Duration, cfg.Run.Status = true, 7*time.Second, time.Hour
	cfg.NATS.StoreDir = dir     // JetStream in the embedded server
	cfg.Session.Name = "demo-1" // stream BCILOOP_SESSION_demo-1
	l, err := loop.Build(cfg, zerolog.Nop())
	if err != nil {
		fmt.Println(err)
		return
	}
	sum, err := l.Run(context.Background())
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("recorded:", sum.Session.Messages == sum.Session.Acked, sum.Commands, "commands")

	// Later: a server on the same store, and the replay.
	srv, err := loop.StartEmbeddedStore("127.0.0.1:0", dir)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Shutdown()
	nc, err := nats.Connect(srv.URL())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer nc.Close()
	rep, err := loop.ReplaySession(context.Background(), nc, "demo-1", loop.ReplayOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("replayed:", rep.Decoder, rep.CommandsIdentical, "identical,", rep.CommandsDiffer, "different,", rep.Damaged, "damaged")
	// Output:
	// recorded: true 100 commands
	// replayed: kalman 100 identical, 0 different, 0 damaged
}
