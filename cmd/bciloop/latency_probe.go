package main

import (
	"context"
	"strconv"
	"time"

	"github.com/rs/zerolog"

	"github.com/bciloop/bciloop/acquire"
	"github.com/bciloop/bciloop/loop"
)

// startBareProber publishes, every period until ctx ends, a probe of size
// bytes on bciloop.<rig>.probe from its own connection to the server: the
// bare-transport baseline of runs that publish no commands (decoder none,
// external decoder mode), whose probes the loop cannot send half a bin
// after a command. The probe is loop.Probe's JSON, padded to size (the
// bins message's), stamped just before its publish.
func startBareProber(ctx context.Context, url, rig string, size int, period time.Duration) (func(), error) {
	cfg := loop.DefaultNATSConfig()
	cfg.Name = "bciloop-latency-prober"
	nc, err := loop.Connect(url, &cfg, zerolog.Nop())
	if err != nil {
		return nil, err
	}
	done := make(chan struct{})
	pctx, cancel := context.WithCancel(ctx)
	go func() {
		defer close(done)
		t := time.NewTicker(period)
		defer t.Stop()
		buf := make([]byte, 0, size+64)
		subj := "bciloop." + rig + ".probe"
		for seq := uint64(1); ; seq++ {
			select {
			case <-pctx.Done():
				return
			case <-t.C:
			}
			b := append(buf[:0], `{"v":1,"probe":`...)
			b = strconv.AppendUint(b, seq, 10)
			b = append(b, `,"sent_ns":`...)
			sent := acquire.Now()
			b = strconv.AppendInt(b, sent, 10)
			b = append(b, `,"pad":"`...)
			for len(b)+2 < size {
				b = append(b, '.')
			}
			b = append(b, '"', '}')
			_ = nc.Publish(subj, b)
		}
	}()
	return func() { cancel(); <-done; nc.Close() }, nil
}
