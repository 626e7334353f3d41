package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/rs/zerolog"

	"github.com/bciloop/bciloop/loop"
)

func init() {
	register("replay", command{"replay --session NAME (--store DIR | --nats URL) [--decoder TYPE] [--params FILE] [--export FILE]", cmdReplay})
}

func cmdReplay(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("replay", flag.ContinueOnError)
	fs.SetOutput(stderr)
	session := fs.String("session", "", "name of the session to replay (session.name of the run that recorded it)")
	store := fs.String("store", "", "JetStream store folder of the embedded server that recorded it (nats.store_dir); a server is started on it. The recording run must have ended")
	natsURL := fs.String("nats", "", "an external NATS server with JetStream holding the session")
	decoder := fs.String("decoder", "", "decoder type to replay through (default: the recorded one, with its recorded parameters)")
	params := fs.String("params", "", "parameter file for --decoder (default: fitted on the session's calibration span)")
	export := fs.String("export", "", "also write the session's blocks, commands and stimulation events to this bciloop recording file (must not exist)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, `usage: bciloop replay --session NAME (--store DIR | --nats URL) [flags]

Re-runs a session recorded on JetStream (config session.name) through the
recorded decoder or another one, deterministically, and prints one JSON
report: R² of the decoded velocity against the recorded ground truth,
agreement with the recorded commands (byte-identical through the recorded
decoder), and every damaged message with its stream sequence (the replay
goes on past it; a warning goes to stderr).

flags:`)
		fs.PrintDefaults()
	}
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	var problems []error
	if len(pos) != 0 {
		problems = append(problems, fmt.Errorf("unexpected arguments %q", pos))
	}
	if *session == "" {
		problems = append(problems, errors.New("--session: the session name is required"))
	}
	if (*store == "") == (*natsURL == "") {
		problems = append(problems, errors.New("--store or --nats: give exactly one (the embedded server's store folder, or an external server)"))
	}
	if _, ok := loop.Components["decoder.type"][*decoder]; *decoder != "" && (!ok || *decoder == "none") {
		problems = append(problems, fmt.Errorf("--decoder: unknown %q", *decoder))
	}
	if *params != "" && *decoder == "" {
		problems = append(problems, errors.New("--params: needs --decoder (the type the file is for)"))
	}
	if *store != "" {
		if fi, err := os.Stat(*store); err != nil || !fi.IsDir() {
			problems = append(problems, fmt.Errorf("--store: %s is not a folder", *store))
		}
	}
	if len(problems) > 0 {
		return &exitError{code: 2, err: fmt.Errorf("replay: %w", errors.Join(problems...))}
	}
	url := *natsURL
	if *store != "" {
		srv, err := loop.StartEmbeddedStore("127.0.0.1:0", *store)
		if err != nil {
			return err
		}
		defer srv.Shutdown()
		url = srv.URL()
	}
	nc, err := loop.Connect(url, &loop.NATSConfig{Name: "bciloop-replay", ConnectWait: loop.DefaultNATSConfig().ConnectWait,
		ReconnectWait: loop.DefaultNATSConfig().ReconnectWait}, zerolog.Nop())
	if err != nil {
		return err
	}
	defer nc.Close()
	rep, err := loop.ReplaySession(ctx, nc, *session, loop.ReplayOptions{Decoder: *decoder, Params: *params, Export: *export})
	if err != nil {
		return fmt.Errorf("replay: %w", err)
	}
	if rep.Damaged > 0 {
		fmt.Fprintf(stderr, "bciloop: warning: session %s: %d damaged messages (first at stream sequence %d: %s); replayed everything else\n",
			*session, rep.Damaged, rep.Damage[0].Seq, rep.Damage[0].Reason)
	}
	return json.NewEncoder(stdout).Encode(rep)
}
