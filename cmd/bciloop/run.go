package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/bciloop/bciloop/loop"
)

func cmdCheck(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: bciloop check CONFIG\n\nValidates CONFIG and reports every problem; starts nothing.")
	}
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageErr("check: want exactly one CONFIG file, got %d arguments", len(pos))
	}
	if _, err := loop.LoadConfig(pos[0]); err != nil {
		return &exitError{code: 2, err: err}
	}
	fmt.Fprintf(stdout, "%s: ok\n", pos[0])
	return nil
}

func cmdRun(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	duration := fs.Duration("duration", 0, "stop after this much stream time (0: the config's run.duration, else until interrupted)")
	lockstep := fs.Bool("lockstep", false, "run the synthetic brain as fast as possible, deterministically")
	natsURL := fs.String("nats", "", "external NATS server URL (default: an embedded server)")
	listen := fs.String("nats-listen", "", "address of the embedded NATS server, HOST:PORT (default: the config's nats.listen, a free loopback port)")
	probe := fs.Bool("probe", false, "publish a bare-transport probe after every command on bciloop.<rig>.probe")
	level := fs.String("log-level", "info", "log level: trace, debug, info, warn, error")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: bciloop run CONFIG [flags]\n\nRuns the loop; status lines go to stderr, the final JSON summary to stdout.\n\nflags:")
		fs.PrintDefaults()
	}
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageErr("run: want exactly one CONFIG file, got %d arguments", len(pos))
	}
	if *natsURL != "" && *listen != "" {
		return usageErr("run: --nats and --nats-listen exclude each other (one is an external server, the other the embedded one)")
	}
	if *duration < 0 {
		return usageErr("run: --duration must be ≥ 0, got %v", *duration)
	}
	log, err := newLogger(stderr, *level)
	if err != nil {
		return err
	}
	cfg, err := loop.LoadConfig(pos[0])
	if err != nil {
		return &exitError{code: 2, err: err}
	}
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "duration":
			cfg.Run.Duration = *duration
		case "lockstep":
			cfg.Run.Lockstep = *lockstep
		case "nats":
			cfg.NATS.URL = *natsURL
		case "nats-listen":
			cfg.NATS.Listen = *listen
		case "probe":
			cfg.Publish.Probe = *probe
		}
	})
	l, err := loop.Build(cfg, log)
	if err != nil {
		var ce *loop.ConfigError
		if errors.As(err, &ce) {
			return &exitError{code: 2, err: fmt.Errorf("%s (after flags): %w", pos[0], err)}
		}
		return err
	}
	if err := l.Connect(); err != nil {
		return err
	}
	log.Info().Str("config", pos[0]).Str("nats", l.URL()).Str("rig", cfg.Rig).
		Bool("lockstep", cfg.Run.Lockstep).Dur("duration", cfg.Run.Duration).Msg("running")
	sum, runErr := l.Run(ctx)
	if ctx.Err() != nil {
		log.Info().Msg("interrupted: stimulator zeroed, NATS flushed")
	}
	enc := json.NewEncoder(stdout)
	if err := enc.Encode(sum); err != nil {
		return fmt.Errorf("writing the summary: %w", err)
	}
	return runErr
}
