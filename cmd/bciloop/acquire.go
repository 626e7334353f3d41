package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/nats-io/nats.go"

	"github.com/bciloop/bciloop/acquire"
	"github.com/bciloop/bciloop/loop"
)

func init() {
	register("acquire", command{"acquire --device PORT --protocol NAME [--nats URL] [--rig R] [--block N] [--duration D] [--log-level L]", cmdAcquire})
}

// acquireSummary is the JSON line `acquire` prints at exit.
type acquireSummary struct {
	Device        string  `json:"device"`
	Protocol      string  `json:"protocol"`
	Identity      string  `json:"identity"`
	Subject       string  `json:"subject"`
	Blocks        uint64  `json:"blocks"`
	Frames        uint64  `json:"frames"`
	Dropped       uint64  `json:"dropped"`
	Estimated     uint64  `json:"dropped_estimated"`
	Bad           uint64  `json:"bad_packets"`
	Disconnects   uint64  `json:"disconnects"`
	Reconnects    uint64  `json:"reconnects"`
	PublishErrors uint64  `json:"publish_errors"`
	Rate          float64 `json:"rate_hz"`
	Channels      int     `json:"channels"`
}

func cmdAcquire(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("acquire", flag.ContinueOnError)
	fs.SetOutput(stderr)
	def := acquire.DefaultSerialConfig()
	device := fs.String("device", "", "serial port of the board (required)")
	protocol := fs.String("protocol", "", "board protocol: cyton, cyton-daisy, modeeg, thinkgear, spikerbox (required; `bciloop devices --probe PORT` finds it)")
	url := fs.String("nats", nats.DefaultURL, "NATS server URL")
	rig := fs.String("rig", "demo", "rig name: samples go to bciloop.<rig>.raw")
	block := fs.Int("block", def.BlockFrames, "frames per published block")
	baud := fs.Int("baud", 0, "line rate (0: the protocol's)")
	channels := fs.Int("channels", def.SpikerBox.Channels, "spikerbox: channel count")
	duration := fs.Duration("duration", 0, "stop after this long (0: until interrupted)")
	level := fs.String("log-level", "info", "log level: trace, debug, info, warn, error")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: bciloop acquire --device PORT --protocol NAME [flags]\n\nReads a serial board and publishes its samples on bciloop.<rig>.raw as binary\nmessages of type 3 (header + frames × channels float32 µV, README). A vanished\nport is reconnected with backoff. Prints a JSON summary on stdout at exit.\n\nflags:")
		fs.PrintDefaults()
	}
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return usageErr("acquire: unexpected arguments %q", pos)
	}
	cfg := def
	cfg.Port, cfg.Protocol, cfg.BlockFrames, cfg.Baud = *device, *protocol, *block, *baud
	cfg.SpikerBox.Channels = *channels
	var bad []error
	if err := cfg.Validate(); err != nil {
		bad = append(bad, err)
	}
	if *rig == "" {
		bad = append(bad, errors.New("rig: must not be empty"))
	}
	if *duration < 0 {
		bad = append(bad, fmt.Errorf("duration: must be ≥ 0, got %v", *duration))
	}
	if err := errors.Join(bad...); err != nil {
		return usageErr("acquire: %w", err)
	}
	log, err := newLogger(stderr, *level)
	if err != nil {
		return err
	}
	if *duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *duration)
		defer cancel()
	}
	src, err := acquire.OpenSerial(ctx, cfg)
	if err != nil {
		return fmt.Errorf("acquire: %w", err)
	}
	defer src.Close()
	ncfg := loop.DefaultNATSConfig()
	ncfg.Name = "bciloop-acquire"
	nc, err := loop.Connect(*url, &ncfg, log)
	if err != nil {
		return fmt.Errorf("acquire: %w", err)
	}
	defer nc.Close()
	subject := "bciloop." + *rig + ".raw"
	sum := acquireSummary{Device: cfg.Port, Protocol: cfg.Protocol, Identity: src.Identity(), Subject: subject, Rate: src.Rate(), Channels: src.Channels()}
	log.Info().Str("device", cfg.Port).Str("protocol", cfg.Protocol).Str("identity", sum.Identity).Str("subject", subject).Msg("acquiring")

	var b acquire.Block
	var msg []byte
	for {
		err := src.Read(ctx, &b)
		if errors.Is(err, acquire.ErrDisconnected) {
			sum.Disconnects++
			log.Warn().Err(err).Msg("device disconnected; reconnecting")
			continue
		}
		if err != nil {
			if ctx.Err() != nil {
				break // interrupted or --duration: a success
			}
			return fmt.Errorf("acquire: %w", err)
		}
		msg = acquire.AppendRawMessage(msg[:0], &b)
		if err := nc.Publish(subject, msg); err != nil {
			sum.PublishErrors++
		}
		sum.Blocks++
		sum.Frames += uint64(b.Frames)
		sum.Dropped += b.Dropped
	}
	_ = nc.Flush()
	st := src.Stats()
	sum.Estimated, sum.Bad, sum.Reconnects = st.EstimatedDropped, st.Parse.Bad, st.Reconnects
	out, err := json.Marshal(sum)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, string(out))
	return nil
}
