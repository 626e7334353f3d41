package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/rs/zerolog"

	"github.com/bciloop/bciloop/acquire"
	"github.com/bciloop/bciloop/decode"
	"github.com/bciloop/bciloop/loop"
)

// subStats accumulates per-subject counts, sequence gaps and latencies.
type subStats struct {
	Messages uint64         `json:"messages"`
	Gaps     uint64         `json:"gaps"`       // messages missing according to seq
	Invalid  uint64         `json:"invalid"`    // messages that did not decode
	Latency  loop.Quantiles `json:"latency_us"` // receipt − arrived_ns (commands, streams) or − sent_ns (probes)
	Hop      loop.Quantiles `json:"hop_us"`     // receipt − sent_ns (commands, probes): the NATS hop alone
	lastSeq  uint64
	lat, hop *loop.Latency
}

func cmdSub(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("sub", flag.ContinueOnError)
	fs.SetOutput(stderr)
	url := fs.String("nats", nats.DefaultURL, "NATS server URL")
	count := fs.Int("count", 0, "exit after this many messages (0: until interrupted)")
	duration := fs.Duration("duration", 0, "exit after this long (0: until interrupted)")
	stats := fs.Bool("stats", false, "at exit, print one JSON line of per-subject counts, gaps and latencies")
	quiet := fs.Bool("quiet", false, "do not print messages (with --stats: only the statistics)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: bciloop sub [flags] SUBJECT...\n\nPrints every message on SUBJECT (wildcards allowed) decoded, one JSON line each:\ncommands and status as sent, binary spikes and bins decoded.\n\nflags:")
		fs.PrintDefaults()
	}
	subjects, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(subjects) == 0 {
		return usageErr("sub: name at least one SUBJECT (for example bciloop.demo.cmd)")
	}
	if *count < 0 || *duration < 0 {
		return usageErr("sub: --count and --duration must be ≥ 0")
	}
	cfg := loop.DefaultNATSConfig()
	cfg.Name = "bciloop-sub"
	nc, err := loop.Connect(*url, &cfg, zerolog.Nop())
	if err != nil {
		return err
	}
	defer nc.Close()

	out := bufio.NewWriter(stdout)
	defer out.Flush()
	var (
		mu    sync.Mutex
		all   = map[string]*subStats{}
		total int
		done  = make(chan struct{})
		once  sync.Once
	)
	var blk acquire.Block
	var bin decode.Bin
	handle := func(m *nats.Msg) {
		recv := acquire.Now() // first: the latency stamp
		mu.Lock()
		defer mu.Unlock()
		st := all[m.Subject]
		if st == nil {
			st = &subStats{lat: loop.NewLatency(), hop: loop.NewLatency()}
			all[m.Subject] = st
		}
		st.Messages++
		line, seq, arrived, sent, err := describe(m.Data, &blk, &bin)
		if err != nil {
			st.Invalid++
			fmt.Fprintf(out, "{\"subject\":%q,\"error\":%q}\n", m.Subject, err.Error())
		} else {
			if st.lastSeq != 0 && seq > st.lastSeq+1 {
				st.Gaps += seq - st.lastSeq - 1
			}
			if seq != 0 {
				st.lastSeq = seq
			}
			if arrived > 0 {
				st.lat.Record(recv - arrived)
			}
			if sent > 0 {
				st.hop.Record(recv - sent)
			}
			if !*quiet {
				fmt.Fprintf(out, "{\"subject\":%q,\"msg\":%s}\n", m.Subject, line)
				if total%64 == 0 {
					out.Flush()
				}
			}
		}
		total++
		if *count > 0 && total >= *count {
			once.Do(func() { close(done) })
		}
	}
	for _, s := range subjects {
		if _, err := nc.Subscribe(s, handle); err != nil {
			return usageErr("sub: subject %q: %v", s, err)
		}
	}
	if err := nc.Flush(); err != nil {
		return fmt.Errorf("sub: %w", err)
	}
	var timeout <-chan time.Time
	if *duration > 0 {
		timeout = time.After(*duration)
	}
	select {
	case <-ctx.Done():
	case <-done:
	case <-timeout:
	}
	_ = nc.Drain()
	mu.Lock()
	defer mu.Unlock()
	if *stats {
		for _, st := range all {
			st.Latency, st.Hop = st.lat.Quantiles(), st.hop.Quantiles()
		}
		b, err := json.Marshal(all) // map keys come out sorted
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "{\"stats\":%s}\n", b)
	}
	return nil
}

// describe decodes one message into a JSON line and pulls out its sequence
// number and stamps (0 where the message has none). Binary stream sequence
// numbers start at 0, so they are reported plus one to keep 0 as "none".
func describe(data []byte, blk *acquire.Block, bin *decode.Bin) (line string, seq uint64, arrived, sent int64, err error) {
	if len(data) >= 2 && data[0] == 'B' && data[1] == 'L' {
		h, _, err := acquire.ParseWireHeader(data)
		if err != nil {
			return "", 0, 0, 0, err
		}
		switch h.Type {
		case acquire.WireSpikes:
			if err := acquire.DecodeSpikesMessage(blk, data); err != nil {
				return "", 0, 0, 0, err
			}
			var b strings.Builder
			fmt.Fprintf(&b, `{"type":"spikes","seq":%d,"start":%d,"frames":%d,"channels":%d,"rate":%g,"arrived_ns":%d,"spikes":[`,
				blk.Seq, blk.Start, blk.Frames, blk.Channels, blk.Rate, blk.Arrived)
			for i, s := range blk.Spikes {
				if i > 0 {
					b.WriteByte(',')
				}
				fmt.Fprintf(&b, "[%d,%d,%d]", s.Sample, s.Channel, s.Unit)
			}
			b.WriteString("]}")
			return b.String(), blk.Seq + 1, blk.Arrived, 0, nil
		case acquire.WireRaw:
			if err := acquire.DecodeRawMessage(blk, data); err != nil {
				return "", 0, 0, 0, err
			}
			samples, _ := json.Marshal(blk.Data)
			return fmt.Sprintf(`{"type":"raw","seq":%d,"start":%d,"frames":%d,"channels":%d,"rate":%g,"arrived_ns":%d,"data_uv":%s}`,
				blk.Seq, blk.Start, blk.Frames, blk.Channels, blk.Rate, blk.Arrived, samples), blk.Seq + 1, blk.Arrived, 0, nil
		case acquire.WireBins:
			if err := loop.DecodeBinsMessage(bin, data); err != nil {
				return "", 0, 0, 0, err
			}
			counts, _ := json.Marshal(bin.Counts)
			return fmt.Sprintf(`{"type":"bins","seq":%d,"start":%d,"width":%d,"rate":%g,"arrived_ns":%d,"counts":%s}`,
				bin.Seq, bin.Start, bin.Width, bin.Rate, bin.Arrived, counts), bin.Seq + 1, bin.Arrived, 0, nil
		default:
			return "", 0, 0, 0, fmt.Errorf("%w: unknown message type %d", acquire.ErrWire, h.Type)
		}
	}
	var m struct {
		Seq       uint64 `json:"seq"`
		Probe     uint64 `json:"probe"`
		ArrivedNS int64  `json:"arrived_ns"`
		SentNS    int64  `json:"sent_ns"`
	}
	if err := json.Unmarshal(data, &m); err != nil {
		return "", 0, 0, 0, fmt.Errorf("not a bciloop message: %v", err)
	}
	seq = m.Seq
	if m.Probe != 0 {
		seq = m.Probe
		return string(data), seq, m.SentNS, m.SentNS, nil
	}
	return string(data), seq, m.ArrivedNS, m.SentNS, nil
}
