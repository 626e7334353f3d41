package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bciloop/bciloop/loop"
)

// TestReplayCommand records a session with `bciloop run` (embedded server,
// JetStream in nats.store_dir), then replays it with `bciloop replay` in a
// child process: through the recorded decoder every command is reproduced
// byte for byte; through another decoder it runs, reports, and exports the
// session to a recording file.
func TestReplayCommand(t *testing.T) {
	store := t.TempDir()
	cfg := writeConfig(t, "rig: t\nrun: {lockstep: true, duration: 7s, status_interval: 1h}\ndecoder: {calibration: 5s}\n"+
		"nats: {store_dir: "+store+"}\nsession: {name: cli}\n")
	code, out, errs := run(t, "run", cfg, "--log-level", "warn")
	if code != 0 {
		t.Fatalf("run: exit %d\n%s", code, errs)
	}
	var sum loop.Summary
	if err := json.Unmarshal([]byte(out), &sum); err != nil || sum.Session == nil || sum.Session.Acked != sum.Session.Messages {
		t.Fatalf("run summary %s (%v)", out, err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	replay := func(args ...string) loop.ReplayReport {
		t.Helper()
		c := child(ctx, append([]string{"replay", "--session", "cli", "--store", store}, args...)...)
		var stderr strings.Builder
		c.Stderr = &stderr
		b, err := c.Output()
		if err != nil {
			t.Fatalf("replay %v: %v\n%s", args, err, stderr.String())
		}
		var rep loop.ReplayReport
		if err := json.Unmarshal(b, &rep); err != nil {
			t.Fatalf("replay report %s: %v", b, err)
		}
		return rep
	}
	rep := replay()
	if rep.Decoder != "kalman" || rep.Fit != "recorded" || rep.CommandsRecorded != sum.Commands || rep.CommandsIdentical != sum.Commands || rep.Damaged != 0 || rep.Blocks != 7000 {
		t.Fatalf("replay through the recorded decoder: %+v (run: %d commands)", rep, sum.Commands)
	}
	out2 := filepath.Join(t.TempDir(), "cli.bcl")
	rep = replay("--decoder", "popvec", "--export", out2)
	if rep.Decoder != "popvec" || rep.Fit != "calibrate" || rep.Decoded == 0 || rep.R2Vel == nil || rep.ExportedChunks != 7000+sum.Commands {
		t.Fatalf("replay through popvec: %+v", rep)
	}
	if fi, err := os.Stat(out2); err != nil || fi.Size() == 0 {
		t.Fatalf("export: %v", err)
	}
	// The export is itself a source: check validates a config replaying it.
	if code, _, errs := run(t, "check", writeConfig(t, "source: {type: replay, path: "+out2+"}\n")); code != 0 {
		t.Fatalf("check of a config replaying the export: %s", errs)
	}
}

func TestReplayUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"replay"}, "--session: the session name is required"},
		{[]string{"replay", "--session", "x"}, "--store or --nats"},
		{[]string{"replay", "--session", "x", "--store", "/nonexistent"}, "--store: /nonexistent is not a folder"},
		{[]string{"replay", "--session", "x", "--nats", "nats://127.0.0.1:1", "--decoder", "lstm"}, `--decoder: unknown "lstm"`},
		{[]string{"replay", "--session", "x", "--nats", "nats://127.0.0.1:1", "--params", "p.json"}, "--params: needs --decoder"},
	} {
		code, _, errs := run(t, tc.args...)
		if code != 2 || !strings.Contains(errs, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tc.args, code, errs, tc.want)
		}
	}
	// A session that does not exist is a run-time failure naming it.
	store := t.TempDir()
	code, _, errs := run(t, "replay", "--session", "nope", "--store", store)
	if code != 1 || !strings.Contains(errs, `session "nope": no stream BCILOOP_SESSION_nope`) {
		t.Errorf("missing session: exit %d, %q", code, errs)
	}
	// A store a server is running on (a run still recording) is refused.
	srv, err := loop.StartEmbeddedStore("127.0.0.1:0", store)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	code, _, errs = run(t, "replay", "--session", "x", "--store", store)
	if code != 1 || !strings.Contains(errs, "in use by another server") {
		t.Errorf("store in use: exit %d, %q", code, errs)
	}
}
