package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/bciloop/bciloop/acquire"
)

func init() {
	register("export", command{"export FILE --out DIR", cmdExport})
}

// exportSummary is the JSON line export prints.
type exportSummary struct {
	Out      string   `json:"out"`
	Files    []string `json:"files"`
	Blocks   int      `json:"blocks"`
	Frames   int64    `json:"frames"`
	Spikes   int      `json:"spikes"`
	Commands int      `json:"commands"`
	Stims    int      `json:"stims"`
	Torn     string   `json:"torn,omitempty"` // the torn tail, when the recording did not end cleanly
}

func cmdExport(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("export", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "", "folder for the CSV files (created if needed; existing files are never overwritten)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: bciloop export FILE --out DIR\n\nWrites the bciloop recording FILE as CSV files in DIR: blocks.csv, samples.csv,\nspikes.csv, commands.csv, stim.csv and meta.json. A recording cut short by a\ncrash is exported up to its torn tail, which is reported on stderr.\n\nflags:")
		fs.PrintDefaults()
	}
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	var problems []error
	if len(pos) != 1 {
		problems = append(problems, fmt.Errorf("want exactly one recording FILE, got %d arguments", len(pos)))
	}
	if *out == "" {
		problems = append(problems, errors.New("--out: the output folder is required"))
	}
	if len(problems) > 0 {
		return &exitError{code: 2, err: fmt.Errorf("export: %w", errors.Join(problems...))}
	}
	rr, err := acquire.OpenRecording(pos[0])
	if err != nil {
		return err
	}
	defer rr.Close()
	sum, err := acquire.ExportRecordingCSV(rr, *out)
	if err != nil {
		return err
	}
	res := exportSummary{Out: *out, Files: sum.Files, Blocks: sum.Blocks, Frames: sum.Frames, Spikes: sum.Spikes, Commands: sum.Commands, Stims: sum.Stims}
	if sum.Torn != nil {
		res.Torn = sum.Torn.Error()
		fmt.Fprintf(stderr, "bciloop: warning: %v; exported everything before it\n", sum.Torn)
	}
	return json.NewEncoder(stdout).Encode(res)
}
