package loop

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestMain lets a test run this binary as a NATS server in a child process
// (BCILOOP_NATS_CHILD=1): the server then allocates in its own process, so
// that allocation counts in this one (which are process-wide) measure the
// pipeline alone.
func TestMain(m *testing.M) {
	if os.Getenv("BCILOOP_NATS_CHILD") == "1" {
		srv, err := StartEmbedded("127.0.0.1:0")
		if err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		fmt.Println(srv.URL())
		_, _ = io.Copy(io.Discard, os.Stdin) // until the parent closes stdin
		srv.Shutdown()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// childServer starts a NATS server in a child process and returns its URL
// and a stop function.
func childServer(t testing.TB) (string, func()) {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "BCILOOP_NATS_CHILD=1")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "nats://") {
		t.Fatalf("child server: %q, %v", line, err)
	}
	return strings.TrimSpace(line), func() { stdin.Close(); _ = cmd.Wait() }
}
