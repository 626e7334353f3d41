package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/rs/zerolog"

	"github.com/bciloop/bciloop/acquire"
	"github.com/bciloop/bciloop/loop"
)

// cmdLatencyPeer is the subscriber process of `bciloop latency`: it
// subscribes to bciloop.<rig>.cmd and .probe (and, with --bins, .bins:
// only when the run publishes no commands, so that the commands do not
// share the process with a second stream), stamps every message on
// receipt (acquire.Now, first thing in the handler), says "ready" on
// stdout once subscribed, and when its stdin closes prints one JSON
// peerResult and exits.
func cmdLatencyPeer(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet(latencyPeerCmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	url := fs.String("nats", nats.DefaultURL, "NATS server URL")
	rig := fs.String("rig", "demo", "rig name")
	withBins := fs.Bool("bins", false, "also subscribe to the bins stream (runs without commands)")
	if _, err := parseInterleaved(fs, args); err != nil {
		return err
	}
	cfg := loop.DefaultNATSConfig()
	cfg.Name = "bciloop-latency-peer"
	nc, err := loop.Connect(*url, &cfg, zerolog.Nop())
	if err != nil {
		return err
	}
	defer nc.Close()
	var (
		mu      sync.Mutex
		res     = peerResult{Cmd: make([][3]int64, 0, 1<<16), Probe: make([][2]int64, 0, 1<<16), Bins: make([][2]int64, 0, 1<<16)}
		lastSeq uint64
	)
	onCmd := func(m *nats.Msg) {
		recv := acquire.Now()
		seq := jsonInt(m.Data, `"seq":`)
		arrived, sent := jsonInt(m.Data, `"arrived_ns":`), jsonInt(m.Data, `"sent_ns":`)
		mu.Lock()
		if lastSeq != 0 && uint64(seq) > lastSeq+1 {
			res.Lost += uint64(seq) - lastSeq - 1
		}
		lastSeq = uint64(seq)
		res.Cmd = append(res.Cmd, [3]int64{recv, arrived, sent})
		mu.Unlock()
	}
	onProbe := func(m *nats.Msg) {
		recv := acquire.Now()
		sent := jsonInt(m.Data, `"sent_ns":`)
		mu.Lock()
		res.Probe = append(res.Probe, [2]int64{recv, sent})
		mu.Unlock()
	}
	onBins := func(m *nats.Msg) {
		recv := acquire.Now()
		h, _, err := acquire.ParseWireHeader(m.Data)
		if err != nil {
			return
		}
		mu.Lock()
		res.Bins = append(res.Bins, [2]int64{recv, h.Arrived})
		mu.Unlock()
	}
	prefix := "bciloop." + *rig + "."
	if *withBins {
		if _, err := nc.Subscribe(prefix+"bins", onBins); err != nil {
			return err
		}
	}
	if _, err := nc.Subscribe(prefix+"cmd", onCmd); err != nil {
		return err
	}
	if _, err := nc.Subscribe(prefix+"probe", onProbe); err != nil {
		return err
	}
	if err := nc.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "ready")
	if f, ok := stdout.(*os.File); ok {
		_ = f.Sync()
	}
	stdinDone := make(chan struct{})
	go func() { _, _ = io.Copy(io.Discard, os.Stdin); close(stdinDone) }()
	select {
	case <-stdinDone:
	case <-ctx.Done():
	}
	_ = nc.Drain()
	for deadline := time.Now().Add(5 * time.Second); !nc.IsClosed() && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	return json.NewEncoder(stdout).Encode(&res)
}

// jsonInt reads the integer right after key in a flat JSON message, or 0.
func jsonInt(b []byte, key string) int64 {
	i := bytes.Index(b, []byte(key))
	if i < 0 {
		return 0
	}
	b = b[i+len(key):]
	j := 0
	for j < len(b) && (b[j] == '-' || (b[j] >= '0' && b[j] <= '9')) {
		j++
	}
	v, _ := strconv.ParseInt(string(b[:j]), 10, 64)
	return v
}
