package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bciloop/bciloop/loop"
)

// TestMain lets the tests run this very binary as the bciloop command in a
// child process (BCILOOP_TEST_MAIN=1), so that separate processes, signals
// and exit codes are tested for real without a separate build.
func TestMain(m *testing.M) {
	if os.Getenv("BCILOOP_TEST_MAIN") == "1" {
		os.Exit(mainErr(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// child returns the bciloop command line as a child process.
func child(ctx context.Context, args ...string) *exec.Cmd {
	c := exec.CommandContext(ctx, os.Args[0], args...)
	c.Env = append(os.Environ(), "BCILOOP_TEST_MAIN=1")
	return c
}

func run(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = mainErr(args, &out, &errb)
	return code, out.String(), errb.String()
}

func writeConfig(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func TestCheckReportsAllProblems(t *testing.T) {
	p := writeConfig(t, "rig: demo\nsource: {type: sim, untis: 96}\nbin: {width: 0s}\ndecoder: {type: lstm}\n")
	code, out, errs := run(t, "check", p)
	if code != 2 {
		t.Fatalf("exit %d, want 2; stderr:\n%s", code, errs)
	}
	for _, want := range []string{"3 problems", "source.untis (line 2): unknown key", "bin.width: must be > 0", `decoder.type: unknown "lstm"`} {
		if !strings.Contains(errs, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errs)
		}
	}
	if out != "" {
		t.Errorf("nothing should reach stdout, got %q", out)
	}
}

func TestCheckShippedConfigs(t *testing.T) {
	files, _ := filepath.Glob("../../configs/*.yaml")
	if len(files) == 0 {
		t.Fatal("no configs")
	}
	for _, f := range files {
		if code, _, errs := run(t, "check", f); code != 0 {
			t.Errorf("check %s: exit %d\n%s", f, code, errs)
		}
	}
}

func TestUsageErrors(t *testing.T) {
	cases := [][]string{
		{},
		{"frobnicate"},
		{"run"},
		{"run", "a.yaml", "b.yaml"},
		{"run", "--bogus", "x.yaml"},
		{"run", "x.yaml", "--nats", "nats://h:1", "--nats-listen", "127.0.0.1:0"},
		{"check"},
		{"sub"},
	}
	for _, args := range cases {
		if code, _, _ := run(t, args...); code != 2 {
			t.Errorf("%q: exit %d, want 2", args, code)
		}
	}
}

func TestVersion(t *testing.T) {
	code, out, _ := run(t, "version")
	if code != 0 || !strings.HasPrefix(out, "bciloop ") {
		t.Fatalf("exit %d, output %q", code, out)
	}
}

func TestRunUnreachableNATS(t *testing.T) {
	addr := freePort(t) // closed again: nothing listens there
	code, _, errs := run(t, "run", "../../configs/sim-cursor.yaml", "--lockstep", "--duration", "1s", "--nats", "nats://"+addr)
	if code != 1 || !strings.Contains(errs, "cannot connect to nats://"+addr) {
		t.Fatalf("exit %d, stderr:\n%s", code, errs)
	}
}

// TestRunAndSubProcesses runs `bciloop run` in real time in one process and
// `bciloop sub` in another: the subscriber receives the commands and the run
// ends with its JSON summary.
func TestRunAndSubProcesses(t *testing.T) {
	addr := freePort(t)
	cfg := writeConfig(t, "rig: t\ndecoder: {calibration: 3s}\n")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	runCmd := child(ctx, "run", cfg, "--duration", "6s", "--nats-listen", addr, "--log-level", "warn")
	var runOut, runErr bytes.Buffer
	runCmd.Stdout, runCmd.Stderr = &runOut, &runErr
	if err := runCmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Wait for the embedded server, then subscribe from a second process.
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("embedded server never listened on %s; run stderr:\n%s", addr, runErr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	subCmd := child(ctx, "sub", "--nats", "nats://"+addr, "--count", "20", "--stats", "bciloop.t.cmd")
	var subOut, subErr bytes.Buffer
	subCmd.Stdout, subCmd.Stderr = &subOut, &subErr
	if err := subCmd.Run(); err != nil {
		t.Fatalf("sub: %v\n%s", err, subErr.String())
	}
	if err := runCmd.Wait(); err != nil {
		t.Fatalf("run: %v\n%s", err, runErr.String())
	}
	lines := strings.Split(strings.TrimSpace(subOut.String()), "\n")
	if len(lines) != 21 {
		t.Fatalf("sub printed %d lines, want 20 commands and the stats:\n%s", len(lines), subOut.String())
	}
	var first struct {
		Subject string       `json:"subject"`
		Msg     loop.Command `json:"msg"`
	}
	if err := json.Unmarshal([]byte(lines[0]), &first); err != nil || first.Subject != "bciloop.t.cmd" || first.Msg.Seq == 0 {
		t.Fatalf("first line %q: %v", lines[0], err)
	}
	var stats struct {
		Stats map[string]struct {
			Messages int `json:"messages"`
			Gaps     int `json:"gaps"`
		} `json:"stats"`
	}
	if err := json.Unmarshal([]byte(lines[20]), &stats); err != nil || stats.Stats["bciloop.t.cmd"].Messages != 20 || stats.Stats["bciloop.t.cmd"].Gaps != 0 {
		t.Fatalf("stats line %q: %v", lines[20], err)
	}
	var sum loop.Summary
	if err := json.Unmarshal(runOut.Bytes(), &sum); err != nil {
		t.Fatalf("run's stdout is not the JSON summary: %v\n%s", err, runOut.String())
	}
	// Every block is processed or counted as dropped (a loaded machine may
	// make the real-time loop drop stale blocks; it must say so).
	if sum.Mode != "realtime" || sum.Commands < 20 || sum.Blocks+sum.Dropped != 6000 || sum.R2Vel == nil {
		t.Fatalf("summary %+v", sum)
	}
}

// TestRunSIGINT interrupts a real-time run with stimulation on: it exits 0,
// zeroes the stimulator and prints the summary.
func TestRunSIGINT(t *testing.T) {
	cfg := writeConfig(t, "rig: t\ndecoder: {calibration: 3s}\nstimulate: {controller: threshold}\n")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c := child(ctx, "run", cfg, "--duration", "10m")
	var out bytes.Buffer
	c.Stdout = &out
	stderr, err := c.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	sc := bufio.NewScanner(io.TeeReader(stderr, &logs))
	for sc.Scan() {
		if strings.Contains(sc.Text(), "decoder calibrated") {
			break
		}
	}
	time.Sleep(300 * time.Millisecond)
	if err := c.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(&logs, stderr) // the rest of the log, after what the scanner read
	if err := c.Wait(); err != nil {
		t.Fatalf("exit after SIGINT: %v\n%s", err, logs.String())
	}
	if !strings.Contains(logs.String(), "stimulator zeroed") {
		t.Errorf("no shutdown line in the log:\n%s", logs.String())
	}
	var sum loop.Summary
	if err := json.Unmarshal(out.Bytes(), &sum); err != nil {
		t.Fatalf("no JSON summary after SIGINT: %v\n%q", err, out.String())
	}
	if sum.Commands == 0 || sum.Error != "" {
		t.Fatalf("summary %+v", sum)
	}
}
