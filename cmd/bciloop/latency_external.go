package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/bciloop/bciloop/loop"
)

// externalRun is the external decoder of `bciloop latency --external`: the
// command, run with sh -c, and the loop's side of it (loop.External).
//
// The command is started with these variables in its environment:
//
//	BCILOOP_NATS_URL   the NATS server (the tool's embedded one)
//	BCILOOP_RIG        the rig name
//	BCILOOP_BINS       the subject of the binned stream it reads
//	BCILOOP_STIM       the subject it publishes stimulation commands on
//
// and must print one line "ready" on stdout once subscribed; the run
// starts then. It is sent SIGTERM when the run ends.
type externalRun struct {
	ext  *loop.External
	cmd  *exec.Cmd
	recv *loop.Latency
	done chan struct{}
}

func startExternal(ctx context.Context, l *loop.Loop, rig, cmdline string, stderr io.Writer) (*externalRun, error) {
	ext, err := l.ServeExternal()
	if err != nil {
		return nil, err
	}
	c := exec.Command("sh", "-c", cmdline)
	c.Env = append(os.Environ(), "BCILOOP_NATS_URL="+l.URL(), "BCILOOP_RIG="+rig,
		"BCILOOP_BINS=bciloop."+rig+".bins", "BCILOOP_STIM="+ext.Subject)
	c.Stderr = stderr
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // SIGTERM reaches what sh starts
	out, err := c.StdoutPipe()
	if err != nil {
		ext.Close()
		return nil, err
	}
	if err := c.Start(); err != nil {
		ext.Close()
		return nil, fmt.Errorf("latency: --external: %w", err)
	}
	r := &externalRun{ext: ext, cmd: c, recv: ext.Received(), done: make(chan struct{})}
	ready := make(chan error, 1)
	go func() {
		br := bufio.NewReader(out)
		line, err := br.ReadString('\n')
		if err == nil && strings.TrimSpace(line) != "ready" {
			err = fmt.Errorf("printed %q before ready", strings.TrimSpace(line))
		}
		ready <- err
		_, _ = io.Copy(stderr, br) // anything else it prints
		close(r.done)
	}()
	select {
	case err = <-ready:
	case <-time.After(30 * time.Second):
		err = errors.New("did not print ready within 30 s")
	case <-ctx.Done():
		err = ctx.Err()
	}
	if err != nil {
		r.stop()
		return nil, fmt.Errorf("latency: --external %q: %w", cmdline, err)
	}
	return r, nil
}

// stop ends the external process (SIGTERM to its process group, SIGKILL
// after 5 s) and closes the loop's side.
func (r *externalRun) stop() {
	if r.cmd.Process != nil {
		_ = syscall.Kill(-r.cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-r.done:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(-r.cmd.Process.Pid, syscall.SIGKILL)
		}
		_ = r.cmd.Wait()
	}
	r.ext.Close()
}
