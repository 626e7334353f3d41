package loop

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/rs/zerolog"

	"github.com/bciloop/bciloop/acquire"
)

func testLogger(t testing.TB) zerolog.Logger {
	return zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel)
}

// testConfig is a lockstep run against an embedded server on a random port.
func testConfig(t testing.TB, duration time.Duration) Config {
	cfg := DefaultConfig()
	cfg.Rig = "test"
	cfg.Run.Lockstep = true
	cfg.Run.Duration = duration
	cfg.Run.Status = time.Hour
	return cfg
}

// cmdCollector subscribes to a command subject and keeps every command.
type cmdCollector struct {
	mu   sync.Mutex
	cmds []Command
	bad  []string
}

func collect(t *testing.T, url, subject string) (*cmdCollector, *nats.Conn) {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	c := &cmdCollector{}
	if _, err := nc.Subscribe(subject, func(m *nats.Msg) {
		var cmd Command
		c.mu.Lock()
		defer c.mu.Unlock()
		if err := json.Unmarshal(m.Data, &cmd); err != nil {
			c.bad = append(c.bad, string(m.Data))
			return
		}
		c.cmds = append(c.cmds, cmd)
	}); err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	return c, nc
}

func (c *cmdCollector) snapshot() []Command {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Command(nil), c.cmds...)
}

// runCollected runs cfg in lockstep against a fresh embedded server with a
// command subscriber, and returns the summary and the commands received
// (waiting until the subscriber has the summary's count).
func runCollected(t *testing.T, cfg Config) (Summary, []Command) {
	t.Helper()
	srv, err := StartEmbedded("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	cfg.NATS.URL = srv.URL()
	col, nc := collect(t, srv.URL(), "bciloop.test.cmd")
	defer nc.Close()
	l, err := Build(cfg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	sum, err := l.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for uint64(len(col.snapshot())) < sum.Commands && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if len(col.bad) > 0 {
		t.Fatalf("%d commands did not parse, first: %s", len(col.bad), col.bad[0])
	}
	return sum, col.snapshot()
}

// TestLockstepEndToEnd is the foundation's acceptance test: 30 s of
// simulated motor cortex (96 units) in lockstep, a 10 s calibration, every
// command received in order with no gap by a NATS subscriber, and decoded
// velocity R² ≥ 0.6 against ground truth.
func TestLockstepEndToEnd(t *testing.T) {
	cfg := testConfig(t, 30*time.Second)
	cfg.Decoder.Calibration = 10 * time.Second
	sum, cmds := runCollected(t, cfg)
	// 30 s at 1 kHz in 1 ms blocks; 20 ms bins; the first 10 s calibrate.
	if sum.Blocks != 30000 || sum.Bins != 1500 || sum.CalibrationBins != 500 {
		t.Fatalf("blocks %d bins %d calibration %d, want 30000, 1500, 500", sum.Blocks, sum.Bins, sum.CalibrationBins)
	}
	if sum.Commands != 1000 || sum.Dropped != 0 || sum.PublishErrors != 0 {
		t.Fatalf("commands %d dropped %d publish errors %d, want 1000, 0, 0", sum.Commands, sum.Dropped, sum.PublishErrors)
	}
	if len(cmds) != 1000 {
		t.Fatalf("subscriber received %d commands, want 1000", len(cmds))
	}
	for i, c := range cmds {
		if c.Seq != uint64(i+1) {
			t.Fatalf("command %d has seq %d: out of order or gap", i, c.Seq)
		}
		if c.V != CommandVersion || c.Rig != "test" || c.Decoder != "kalman" || len(c.State) != 4 {
			t.Fatalf("command %d malformed: %+v", i, c)
		}
		if i > 0 && c.Sample != cmds[i-1].Sample+20 {
			t.Fatalf("command %d at sample %d, previous at %d: bins must be 20 frames apart", i, c.Sample, cmds[i-1].Sample)
		}
	}
	if sum.R2Vel == nil || *sum.R2Vel < 0.6 {
		t.Fatalf("decoded velocity R² = %v, want ≥ 0.6 (per axis %v)", sum.R2Vel, sum.R2VelDims)
	}
	t.Logf("R² vel %.3f (vx %.3f, vy %.3f); arrival→publish p50 %.1f µs p99 %.1f µs", *sum.R2Vel, sum.R2VelDims[0], sum.R2VelDims[1], sum.Latency.P50, sum.Latency.P99)
}

// TestLockstepDeterministic: the same seed gives the same commands, bit for bit.
func TestLockstepDeterministic(t *testing.T) {
	cfg := testConfig(t, 12*time.Second)
	cfg.Decoder.Calibration = 10 * time.Second
	_, a := runCollected(t, cfg)
	_, b := runCollected(t, cfg)
	if len(a) != 100 || len(b) != 100 {
		t.Fatalf("got %d and %d commands, want 100 each", len(a), len(b))
	}
	for i := range a {
		for k, v := range a[i].State {
			if b[i].State[k] != v {
				t.Fatalf("command %d state %s: %v vs %v", i, k, v, b[i].State[k])
			}
		}
	}
}

// discardSubscriber subscribes to subject over a raw NATS protocol
// connection and reads everything into a fixed buffer: a real subscriber
// (so the server routes every message as in use, through its cached-match
// path) that allocates nothing per message, so that allocation counts,
// which are process-wide, measure the pipeline alone.
func discardSubscriber(t testing.TB, url, subject string) func() {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(url, "nats://"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fmt.Fprintf(conn, "CONNECT {\"verbose\":false,\"pedantic\":false}\r\nSUB %s 1\r\nPING\r\n", subject); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(conn)
	for { // INFO first, then our PONG: the subscription is in place
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(line, "PONG") {
			break
		}
	}
	go func() { _, _ = io.Copy(io.Discard, r) }()
	return func() { conn.Close() }
}

// warmLoop builds a lockstep loop on an embedded server (in this process,
// or in a child process with childNATS), with a subscriber to every subject
// of the rig, and runs it past calibration, so that Process is on its
// steady-state path.
func warmLoop(t testing.TB, mutate func(*Config)) (*Loop, *acquire.Block, func()) {
	return warmLoopOn(t, false, mutate)
}

func warmLoopOn(t testing.TB, childNATS bool, mutate func(*Config)) (*Loop, *acquire.Block, func()) {
	var url string
	var stopSrv func()
	if childNATS {
		url, stopSrv = childServer(t)
	} else {
		srv, err := StartEmbedded("127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		url, stopSrv = srv.URL(), srv.Shutdown
	}
	stopSub := discardSubscriber(t, url, "bciloop.test.>")
	cfg := testConfig(t, 0)
	cfg.NATS.URL = url
	cfg.Decoder.Calibration = 4 * time.Second
	if mutate != nil {
		mutate(&cfg)
	}
	l, err := Build(cfg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Connect(); err != nil {
		t.Fatal(err)
	}
	if err := l.startRecording(); err != nil {
		t.Fatal(err)
	}
	var b acquire.Block
	for i := 0; i < 5000; i++ { // 4 s calibration + 1 s of decoding
		if err := l.src.Read(context.Background(), &b); err != nil {
			t.Fatal(err)
		}
		if err := l.Process(&b); err != nil {
			t.Fatal(err)
		}
	}
	if l.dec == nil {
		t.Fatal("decoder not calibrated after warm-up")
	}
	return l, &b, func() { l.shutdown(); stopSub(); stopSrv() }
}

// TestProcessAllocs proves the hot path allocation-free after warm-up: one
// iteration is a 1 ms sim block → bin → decode → encode → publish (spikes,
// bins, command, probe) → controller → Limit → sim stimulation.
func TestProcessAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector (sync.Pool drops items); run without -race")
	}
	// The server runs in a child process: allocation counts are
	// process-wide, and nats-server allocates in its own delivery path.
	l, b, done := warmLoopOn(t, true, func(c *Config) {
		c.Run.Record.Path = filepath.Join(t.TempDir(), "allocs.bcl")
		c.Publish.Probe = true
		c.Stimulate.Controller = "threshold"
	})
	defer done()
	ctx := context.Background()
	// 40 blocks per run so that every run decodes two bins.
	allocs := testing.AllocsPerRun(50, func() {
		for range 40 {
			if err := l.src.Read(ctx, b); err != nil {
				t.Fatal(err)
			}
			if err := l.Process(b); err != nil {
				t.Fatal(err)
			}
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per 40 loop iterations after warm-up, want 0", allocs)
	}
}

// BenchmarkLoopIteration measures one loop iteration: a 1 ms sim block (96
// units) through bin, decode (every 20th block completes a bin), spikes,
// bins and command encoding and publish to an in-process NATS server with a
// subscriber, and (controller=threshold) control, Limit and stimulation.
//
// nats=inproc is the embedded server in this process, as `bciloop run`
// uses it; its delivery path allocates (nats-server's processMsgResults
// moves a 128-byte scratch array to the heap per delivered message), and
// ReportAllocs counts process-wide. nats=child runs the same server in a
// child process, so the figure is the pipeline's own.
func BenchmarkLoopIteration(b *testing.B) {
	for _, child := range []bool{false, true} {
		for _, stim := range []string{"none", "threshold"} {
			name := "nats=inproc/controller=" + stim
			if child {
				name = "nats=child/controller=" + stim
			}
			b.Run(name, func(b *testing.B) {
				l, blk, done := warmLoopOn(b, child, func(c *Config) { c.Stimulate.Controller = stim })
				defer done()
				ctx := context.Background()
				b.ReportAllocs()
				b.ResetTimer()
				for b.Loop() {
					if err := l.src.Read(ctx, blk); err != nil {
						b.Fatal(err)
					}
					if err := l.Process(blk); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

func TestConnectUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens here now
	cfg := DefaultNATSConfig()
	cfg.ConnectWait = 500 * time.Millisecond
	_, err = Connect("nats://"+addr, &cfg, zerolog.Nop())
	if err == nil || !strings.Contains(err.Error(), "cannot connect to nats://"+addr) {
		t.Fatalf("want a clear connect error naming the URL, got %v", err)
	}
}

func TestRedactURL(t *testing.T) {
	if got := redactURL("nats://alice:secret@host:4222"); got != "nats://***@host:4222" {
		t.Fatalf("got %q", got)
	}
	if got := redactURL("nats://host:4222"); got != "nats://host:4222" {
		t.Fatalf("got %q", got)
	}
}

// TestReconnect: the server goes away mid-run and comes back on the same
// port; the loop keeps running and commands flow again afterwards.
func TestReconnect(t *testing.T) {
	srv, err := StartEmbedded("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := srv.URL()
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(url, "nats://"))
	cfg := testConfig(t, 0)
	cfg.Run.Lockstep = false // real time, so the run spans the outage
	cfg.Decoder.Calibration = 3 * time.Second
	cfg.NATS.URL = url
	cfg.NATS.ReconnectWait = 50 * time.Millisecond
	l, err := Build(cfg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	type result struct {
		s   Summary
		err error
	}
	res := make(chan result, 1)
	go func() { s, err := l.Run(ctx); res <- result{s, err} }()

	waitCommands := func(min uint64) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for l.commands.Load() < min {
			if time.Now().After(deadline) {
				t.Fatalf("only %d commands, want ≥ %d", l.commands.Load(), min)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitCommands(10)
	srv.Shutdown()
	time.Sleep(300 * time.Millisecond)
	srv2, err := StartEmbedded("127.0.0.1:" + port)
	if err != nil {
		t.Fatal(err)
	}
	defer srv2.Shutdown()
	col, nc := collect(t, srv2.URL(), "bciloop.test.cmd")
	defer nc.Close()
	deadline := time.Now().Add(10 * time.Second)
	for len(col.snapshot()) < 10 {
		if time.Now().After(deadline) {
			t.Fatalf("no commands after the server came back (loop commands %d)", l.commands.Load())
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	r := <-res
	if r.err != nil {
		t.Fatalf("run ended with %v", r.err)
	}
	cmds := col.snapshot()
	for i := 1; i < len(cmds); i++ {
		if cmds[i].Seq <= cmds[i-1].Seq {
			t.Fatalf("commands out of order after reconnect: %d then %d", cmds[i-1].Seq, cmds[i].Seq)
		}
	}
	t.Logf("commands %d, publish errors %d, after reconnect received %d (first seq %s)",
		r.s.Commands, r.s.PublishErrors, len(cmds), strconv.FormatUint(cmds[0].Seq, 10))
}

// TestClosedLoopStimulation: with the threshold controller on, decoded
// speed crossings become pulse trains that pass the Limit, are applied in
// the synthetic brain, and change the spikes that follow on the stimulated
// electrode, against the same seed without stimulation.
func TestClosedLoopStimulation(t *testing.T) {
	spikesOn := func(controller string) (ch44 int, l *Loop) {
		l, b, done := warmLoop(t, func(c *Config) {
			c.Publish.Spikes, c.Publish.Bins = false, false
			c.Stimulate.Controller = controller
			c.Stimulate.Threshold.Quantity = "speed"
			c.Stimulate.Threshold.Threshold = 12
			c.Stimulate.Threshold.Electrode = 44
		})
		defer done()
		for range 20000 { // 20 s after warm-up
			if err := l.src.Read(context.Background(), b); err != nil {
				t.Fatal(err)
			}
			for _, s := range b.Spikes {
				if s.Channel == 44 {
					ch44++
				}
			}
			if err := l.Process(b); err != nil {
				t.Fatal(err)
			}
		}
		return ch44, l
	}
	base, _ := spikesOn("none")
	stim, l := spikesOn("threshold")
	st := l.limit.Stats()
	if st.Patterns == 0 || st.Passed != st.Pulses || st.Refused != 0 {
		t.Fatalf("limit stats %+v: want patterns, all passed", st)
	}
	if n := l.lat[StageStim].Quantiles().Count; n != int64(st.Passed) {
		t.Fatalf("%d trains applied in the brain, %d passed the limit", n, st.Passed)
	}
	// Each 40 µA train of 5 pulses adds about 5 × g·τ·(40/50) = 4 expected
	// spikes at the electrode's own unit (sim.DefaultMotorCortexConfig).
	if stim < base+2*int(st.Passed) {
		t.Fatalf("electrode 44: %d spikes with %d trains vs %d without: stimulation did not show", stim, st.Passed, base)
	}
	t.Logf("electrode 44: %d spikes without, %d with %d trains", base, stim, st.Passed)
}

// TestDecoderTypes runs every decoder of the component table in closed
// loop on the synthetic motor cortex (10 s calibration, 10 s decoding) and
// checks commands flow with its state and velocity R² reaches the floor
// each decoder should clear on this cortex (decode's own tests measure them
// on longer data: Kalman 0.90, PPF 0.89, Wiener 0.89, population vector
// 0.66 over 120 s of calibration).
func TestDecoderTypes(t *testing.T) {
	cases := []struct {
		typ   string
		state []string
		minR2 float64
	}{
		{"kalman", []string{"px", "py", "vx", "vy"}, 0.6},
		{"kalman-ss", []string{"px", "py", "vx", "vy"}, 0.6},
		{"ppf", []string{"px", "py", "vx", "vy"}, 0.6},
		{"wiener", []string{"px", "py", "vx", "vy"}, 0.6},
		{"popvec", []string{"vx", "vy"}, 0.5},
		{"poisson", []string{"vx", "vy"}, 0.5},
	}
	for _, c := range cases {
		t.Run(c.typ, func(t *testing.T) {
			cfg := testConfig(t, 20*time.Second)
			cfg.Decoder.Type = c.typ
			cfg.Decoder.Calibration = 10 * time.Second
			cfg.Decoder.Wiener.Lags = 3 // 3 × 96 weights per state fit on 500 bins
			sum, cmds := runCollected(t, cfg)
			if sum.Commands != 500 || len(cmds) != 500 {
				t.Fatalf("%d commands published, %d received; want 500", sum.Commands, len(cmds))
			}
			if cmds[0].Decoder != c.typ || len(cmds[0].State) != len(c.state) {
				t.Fatalf("command %+v, want decoder %s with state %v", cmds[0], c.typ, c.state)
			}
			for _, n := range c.state {
				if _, ok := cmds[0].State[n]; !ok {
					t.Fatalf("command state %v lacks %s", cmds[0].State, n)
				}
			}
			if sum.R2Vel == nil || *sum.R2Vel < c.minR2 {
				t.Fatalf("R² %v, want ≥ %v", sum.R2Vel, c.minR2)
			}
			t.Logf("%s: R² vel %.3f", c.typ, *sum.R2Vel)
		})
	}
}
