// Command bciloop is the one binary of the bciloop closed-loop BCI runtime.
//
//	bciloop run CONFIG [--duration D] [--lockstep] [--nats URL | --nats-listen HOST:PORT]
//	bciloop check CONFIG
//	bciloop sub [--nats URL] [--count N] [--duration D] [--stats] [--quiet] SUBJECT...
//	bciloop latency --config CONFIG [--duration D] [--load NAME] [--out DIR]
//	bciloop replay --session NAME (--store DIR | --nats URL) [--decoder TYPE]
//	bciloop sim --preset NAME [--neurons N] [--duration D] [--raster out.png]
//	bciloop neuron | devices | acquire | record | export | eval | calibrate
//	bciloop version
//
// `bciloop help` lists every command with its flags; README.md documents
// them.
//
// Exit status: 0 success, 1 a run-time failure, 2 bad usage or config.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"sort"
	"strings"
	"syscall"

	"github.com/rs/zerolog"
)

// exitError carries an exit status with its message.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }

func usageErr(format string, args ...any) error {
	return &exitError{code: 2, err: fmt.Errorf(format, args...)}
}

func main() {
	os.Exit(mainErr(os.Args[1:], os.Stdout, os.Stderr))
}

// mainErr runs the command line args and returns the exit status.
func mainErr(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := dispatch(ctx, args, stdout, stderr)
	if err == nil {
		return 0
	}
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	fmt.Fprintln(stderr, "bciloop:", err)
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	return 1
}

// command is one subcommand of the binary. Each lives in its own file and
// registers itself in init, so commands are added without touching dispatch.
type command struct {
	usage string // one line: "run CONFIG [flags]"
	run   func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

var commands = map[string]command{}

func register(name string, c command) {
	if _, dup := commands[name]; dup {
		panic("bciloop: command registered twice: " + name)
	}
	commands[name] = c
}

func init() {
	register("run", command{"run CONFIG [--duration D] [--lockstep] [--nats URL | --nats-listen HOST:PORT] [--probe] [--log-level L]", cmdRun})
	register("check", command{"check CONFIG", func(_ context.Context, args []string, stdout, stderr io.Writer) error {
		return cmdCheck(args, stdout, stderr)
	}})
	register("sub", command{"sub [--nats URL] [--count N] [--duration D] [--stats] [--quiet] SUBJECT...", cmdSub})
	register("version", command{"version", func(_ context.Context, _ []string, stdout, _ io.Writer) error {
		return cmdVersion(stdout)
	}})
}

func printUsage(w io.Writer) {
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	fmt.Fprint(w, "bciloop: closed-loop brain-computer interface runtime\n\nusage:\n")
	for _, n := range names {
		fmt.Fprintf(w, "  bciloop %s\n", commands[n].usage)
	}
	fmt.Fprint(w, "\nRun \"bciloop COMMAND -h\" for a command's flags.\n")
}

func dispatch(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		printUsage(stderr)
		return usageErr("no command given")
	}
	switch args[0] {
	case "help", "-h", "--help":
		printUsage(stdout)
		return nil
	case "--version", "-version":
		return cmdVersion(stdout)
	}
	c, ok := commands[args[0]]
	if !ok {
		printUsage(stderr)
		return usageErr("unknown command %q", args[0])
	}
	return c.run(ctx, args[1:], stdout, stderr)
}

// parseInterleaved parses flags that may come before or after positional
// arguments ("run CONFIG --duration 10s") and returns the positionals.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, &exitError{code: 2, err: err}
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// newLogger builds the root logger: human-readable on a terminal, JSON
// lines otherwise, on stderr (stdout carries the results).
func newLogger(stderr io.Writer, level string) (zerolog.Logger, error) {
	lv, err := zerolog.ParseLevel(strings.ToLower(level))
	if err != nil || level == "" {
		return zerolog.Nop(), usageErr("--log-level: %q is not one of trace, debug, info, warn, error", level)
	}
	w := stderr
	if f, ok := stderr.(*os.File); ok && isTerminal(f) {
		w = zerolog.ConsoleWriter{Out: f, TimeFormat: "15:04:05.000"}
	}
	return zerolog.New(w).Level(lv).With().Timestamp().Logger(), nil
}

func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func cmdVersion(stdout io.Writer) error {
	v, goV := "(devel)", "unknown"
	if bi, ok := debug.ReadBuildInfo(); ok {
		goV = bi.GoVersion
		if bi.Main.Version != "" {
			v = bi.Main.Version
		}
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				v += " " + s.Value[:12]
			}
		}
	}
	fmt.Fprintf(stdout, "bciloop %s (%s)\n", v, goV)
	return nil
}
