package loop

import (
	"bufio"
	"context"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestPythonEffector runs docs/examples/effector.py, the external effector
// example (Python, standard library only), against a real lockstep run: it
// must receive every command, in order, and drive its cursor to the
// position the same commands give here.
func TestPythonEffector(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not found on PATH: the external effector example (docs/examples/effector.py) is not exercised")
	}
	_, file, _, _ := runtime.Caller(0)
	script := filepath.Join(filepath.Dir(file), "..", "docs", "examples", "effector.py")
	srv, err := StartEmbedded("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	cfg := testConfig(t, 7*time.Second)
	cfg.NATS.URL = srv.URL()
	cfg.Decoder.Calibration = 5 * time.Second
	col, nc := collect(t, srv.URL(), "bciloop.test.cmd")
	defer nc.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	// 7 s with a 5 s calibration: 100 commands of 20 ms.
	cmd := exec.CommandContext(ctx, py, script, "--url", srv.URL(), "--rig", "test", "--count", "100", "--duration", "30")
	cmd.Env = append(os.Environ(), "PYTHONDONTWRITEBYTECODE=1") // no __pycache__ in the source tree
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewScanner(stdout)
	if !lines.Scan() || lines.Text() != "ready" {
		_ = cmd.Wait()
		t.Fatalf("effector did not get ready: %q, stderr %s", lines.Text(), stderr.String())
	}
	l, err := Build(cfg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	sum, err := l.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Commands != 100 {
		t.Fatalf("%d commands, want 100", sum.Commands)
	}
	if !lines.Scan() {
		_ = cmd.Wait()
		t.Fatalf("no summary from the effector; stderr %s", stderr.String())
	}
	var got struct {
		Received, Missing, Malformed int
		LastSeq                      uint64 `json:"last_seq"`
		X, Y                         float64
		Latency                      map[string]*float64 `json:"latency_us"`
	}
	if err := json.Unmarshal(lines.Bytes(), &got); err != nil {
		t.Fatalf("effector summary %q: %v", lines.Text(), err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("effector: %v; stderr %s", err, stderr.String())
	}
	t.Logf("effector: %s", lines.Text())
	if got.Received != 100 || got.Missing != 0 || got.Malformed != 0 || got.LastSeq != 100 || got.Latency["p50"] == nil {
		t.Fatalf("effector summary %+v", got)
	}
	// The cursor law of effector.py over the commands received here.
	deadline := time.Now().Add(5 * time.Second)
	for len(col.snapshot()) < 100 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	cmds := col.snapshot()
	var x, y float64
	for i := 1; i < len(cmds); i++ {
		vx, vy := cmds[i].State["vx"], cmds[i].State["vy"]
		if s := math.Sqrt(vx*vx + vy*vy); s > 50 {
			vx, vy = vx*50/s, vy*50/s
		}
		dt := float64(cmds[i].Sample-cmds[i-1].Sample) / 1000
		x = math.Min(math.Max(x+vx*dt, -10), 10)
		y = math.Min(math.Max(y+vy*dt, -10), 10)
	}
	if math.Abs(got.X-x) > 1e-9 || math.Abs(got.Y-y) > 1e-9 {
		t.Fatalf("effector cursor at (%g, %g), the commands give (%g, %g)", got.X, got.Y, x, y)
	}
}
