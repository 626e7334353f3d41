package stimulate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/rs/zerolog"
)

// startNATS starts an embedded nats-server (as loop.StartEmbedded does)
// and returns an in-process client connection to it.
func startNATS(t testing.TB) *nats.Conn {
	t.Helper()
	srv, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: server.RANDOM_PORT, NoSigs: true, NoLog: true})
	if err != nil {
		t.Fatal(err)
	}
	go srv.Start()
	if !srv.ReadyForConnections(5 * time.Second) {
		t.Fatal("embedded nats not ready")
	}
	nc, err := nats.Connect("", nats.InProcessServer(srv))
	if err != nil {
		srv.Shutdown()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		nc.Close()
		srv.Shutdown()
		srv.WaitForShutdown()
	})
	return nc
}

// lockedSink is a recordSink safe to read from the test goroutine while a
// NATS handler delivers to it.
type lockedSink struct {
	mu sync.Mutex
	recordSink
}

func (s *lockedSink) Stimulate(ctx context.Context, p *Pattern) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.recordSink.Stimulate(ctx, p)
}

func (s *lockedSink) deliveries() []delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.got)
}

const validCommand = `{"v":1,"seq":7,"sample":1000,"arrived_ns":-5,"pulses":[` +
	`{"electrode":3,"amplitude_ua":50,"phase_us":200,"gap_us":50,"count":10,"freq_hz":100},` +
	`{"electrode":0,"amplitude_ua":12.5,"phase_us":100,"gap_us":0,"count":1,"freq_hz":0}]}`

func TestAppendPatternJSON(t *testing.T) {
	var pat Pattern
	if err := ParseCommand(&pat, []byte(validCommand)); err != nil {
		t.Fatal(err)
	}
	got, err := AppendPatternJSON(nil, &pat)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != validCommand {
		t.Errorf("encoded\n%s\nwant\n%s", got, validCommand)
	}
	// Round trip of awkward numbers, and a single pulse's NaN frequency.
	in := Pattern{Seq: math.MaxUint64, Sample: math.MinInt64, Arrived: math.MaxInt64, Pulses: []Pulse{
		{Electrode: 95, AmplitudeUA: 0.1 + 0.2, PhaseUS: 5e-324, GapUS: 1e300, Count: math.MaxInt, FreqHz: math.MaxFloat64},
		{AmplitudeUA: 1, PhaseUS: 1, Count: 1, FreqHz: math.NaN()},
	}}
	b, err := AppendPatternJSON(nil, &in)
	if err != nil {
		t.Fatal(err)
	}
	var back Pattern
	if err := ParseCommand(&back, b); err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	in.Pulses[1].FreqHz = 0
	if back.Seq != in.Seq || back.Sample != in.Sample || back.Arrived != in.Arrived || !slices.Equal(back.Pulses, in.Pulses) {
		t.Errorf("round trip %+v, want %+v", back, in)
	}
	for _, bad := range []Pulse{{AmplitudeUA: math.NaN(), PhaseUS: 1, Count: 1}, {AmplitudeUA: 1, PhaseUS: 1, Count: 2, FreqHz: math.Inf(1)}} {
		if _, err := AppendPatternJSON(nil, &Pattern{Pulses: []Pulse{bad}}); err == nil {
			t.Errorf("encoded %+v", bad)
		}
	}
	buf := make([]byte, 0, 1024)
	if n := testing.AllocsPerRun(1000, func() { buf, _ = AppendPatternJSON(buf[:0], &pat) }); n != 0 {
		t.Errorf("%v allocs per encoding", n)
	}
}

func TestParseCommand(t *testing.T) {
	pulse := `{"electrode":1,"amplitude_ua":10,"phase_us":100,"gap_us":0,"count":1,"freq_hz":0}`
	cmd := func(pulses string) string {
		return `{"v":1,"seq":1,"sample":0,"arrived_ns":0,"pulses":[` + pulses + `]}`
	}
	with := func(key, val string) string { // pulse with key set to val
		return cmd(strings.Replace(pulse, `"`+key+`":`+map[string]string{"electrode": "1", "amplitude_ua": "10",
			"phase_us": "100", "gap_us": "0", "count": "1", "freq_hz": "0"}[key], `"`+key+`":`+val, 1))
	}
	malformed, invalid := ErrMalformedCommand, ErrInvalidCommand
	tests := []struct {
		name string
		msg  string
		want error // nil: accepted
	}{
		{"valid", validCommand, nil},
		{"keys in any order", `{"pulses":[` + pulse + `],"arrived_ns":0,"sample":0,"seq":1,"v":1}`, nil},
		{"huge count parses (the Limit refuses it)", cmd(`{"electrode":1,"amplitude_ua":10,"phase_us":100,"gap_us":0,"count":9007199254740993,"freq_hz":1e9}`), nil},
		{"not json", `stimulate!`, malformed},
		{"empty", ``, malformed},
		{"array", `[` + pulse + `]`, malformed},
		{"unknown key", strings.Replace(validCommand, `"v":1`, `"v":1,"x":2`, 1), malformed},
		{"unknown pulse key", with("gap_us", `0,"polarity":"anodic"`), malformed},
		{"anodic amplitude refused", with("gap_us", `0,"anodic_ua":20`), malformed},
		{"key case", strings.Replace(validCommand, `"v":1`, `"V":1`, 1), malformed},
		{"repeated key", strings.Replace(validCommand, `"seq":7`, `"seq":7,"seq":8`, 1), malformed},
		{"repeated pulse key", with("amplitude_ua", `10,"amplitude_ua":1000`), malformed},
		{"trailing data", validCommand + `{}`, malformed},
		{"missing key", `{"v":1,"seq":1,"sample":0,"pulses":[` + pulse + `]}`, malformed},
		{"missing pulse key", cmd(`{"electrode":1,"amplitude_ua":10,"phase_us":100,"count":1,"freq_hz":0}`), malformed},
		{"null", with("amplitude_ua", "null"), malformed},
		{"string amplitude", with("amplitude_ua", `"10"`), malformed},
		{"NaN literal", with("amplitude_ua", "NaN"), malformed},
		{"Infinity literal", with("phase_us", "Infinity"), malformed},
		{"float beyond float64", with("amplitude_ua", "1e999"), malformed},
		{"fractional electrode", with("electrode", "1.5"), malformed},
		{"count beyond int", with("count", "1e30"), malformed},
		{"negative seq", strings.Replace(validCommand, `"seq":7`, `"seq":-7`, 1), malformed},
		{"version 2", strings.Replace(validCommand, `"v":1`, `"v":2`, 1), malformed},
		{"no pulses", cmd(``), malformed},
		{"too many pulses", cmd(strings.Repeat(pulse+",", MaxCommandPulses) + pulse), malformed},
		{"too long", validCommand + strings.Repeat(" ", MaxCommandBytes), malformed},
		{"negative electrode", with("electrode", "-1"), invalid},
		{"zero amplitude", with("amplitude_ua", "0"), invalid},
		{"negative amplitude", with("amplitude_ua", "-50"), invalid},
		{"zero phase", with("phase_us", "0"), invalid},
		{"negative gap", with("gap_us", "-1"), invalid},
		{"zero count", with("count", "0"), invalid},
		{"negative freq", with("freq_hz", "-100"), invalid},
		{"train without freq", with("count", "5"), invalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var pat Pattern
			err := ParseCommand(&pat, []byte(tc.msg))
			if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

// FuzzParseCommand: the parser never panics, and what it accepts is
// well-formed and survives an encode–parse round trip unchanged.
func FuzzParseCommand(f *testing.F) {
	f.Add([]byte(validCommand))
	f.Add([]byte(`{"v":1,"seq":1,"sample":0,"arrived_ns":0,"pulses":[{"electrode":1,"amplitude_ua":1e308,"phase_us":1e-300,"gap_us":0,"count":1,"freq_hz":0}]}`))
	f.Add([]byte(`{"v":1,"seq":1,"seq":2}`))
	f.Add([]byte(`{"pulses":[{"pulses":[]}]}`))
	f.Add([]byte(`[[[[{"a":{"b":[1,2,{"c":null}]}}]]]]`))
	f.Add([]byte(`{"v":1,"seq":18446744073709551615,"sample":-9223372036854775808,"arrived_ns":0,"pulses":[{"electrode":0,"amplitude_ua":-0,"phase_us":1,"gap_us":0,"count":1,"freq_hz":0}]}`))
	f.Fuzz(func(t *testing.T, msg []byte) {
		var pat Pattern
		if err := ParseCommand(&pat, msg); err != nil {
			if !errors.Is(err, ErrMalformedCommand) && !errors.Is(err, ErrInvalidCommand) {
				t.Fatalf("unclassified error %v", err)
			}
			return
		}
		if len(pat.Pulses) < 1 || len(pat.Pulses) > MaxCommandPulses {
			t.Fatalf("accepted %d pulses", len(pat.Pulses))
		}
		for _, q := range pat.Pulses {
			if q.Electrode < 0 || !(q.AmplitudeUA > 0) || !finite(q.AmplitudeUA) || !(q.PhaseUS > 0) || !finite(q.PhaseUS) ||
				!(q.GapUS >= 0) || !finite(q.GapUS) || q.Count < 1 || !(q.FreqHz >= 0) || !finite(q.FreqHz) || q.Count > 1 && q.FreqHz == 0 {
				t.Fatalf("accepted %+v", q)
			}
		}
		b, err := AppendPatternJSON(nil, &pat)
		if err != nil {
			t.Fatal(err)
		}
		var back Pattern
		if err := ParseCommand(&back, b); err != nil {
			t.Fatalf("re-parse of %s: %v", b, err)
		}
		if back.Seq != pat.Seq || back.Sample != pat.Sample || back.Arrived != pat.Arrived || !slices.Equal(back.Pulses, pat.Pulses) {
			t.Fatalf("round trip %+v != %+v", back, pat)
		}
	})
}

func TestNATSPublishSink(t *testing.T) {
	nc := startNATS(t)
	msgs := make(chan *nats.Msg, 512)
	sub, err := nc.ChanSubscribe("bci.stim.>", msgs)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	sink, err := NewNATSPublishSink(nc, "bci.stim.out")
	if err != nil {
		t.Fatal(err)
	}
	l, _, clk := newTestLimit(t, DefaultLimitConfig())
	l.sink = sink // a Limit in front of the NATS sink, clocked by the test
	clk.t = 1e9
	pat := &Pattern{Seq: 4, Sample: 77, Arrived: 123, Pulses: []Pulse{
		{Electrode: 2, AmplitudeUA: 150, PhaseUS: 200, Count: 1}, // refused: amplitude
		{Electrode: 5, AmplitudeUA: 40, PhaseUS: 200, GapUS: 50, Count: 3, FreqHz: 100},
	}}
	if err := l.Stimulate(context.Background(), pat); !errors.Is(err, ErrRefused) {
		t.Fatalf("err = %v", err)
	}
	m := recv(t, msgs)
	var got Pattern
	if err := ParseCommand(&got, m.Data); err != nil || m.Subject != "bci.stim.out" {
		t.Fatalf("%s on %s: %v", m.Data, m.Subject, err)
	}
	if got.Seq != 4 || got.Sample != 77 || got.Arrived != 123 || !slices.Equal(got.Pulses, pat.Pulses[1:]) {
		t.Errorf("published %+v", got)
	}
	if err := sink.StopStimulation(); err != nil {
		t.Fatal(err)
	}
	if m := recv(t, msgs); m.Subject != "bci.stim.out.stop" || string(m.Data) != `{"v":1,"stop":true}` {
		t.Errorf("stop: %s %s", m.Subject, m.Data)
	}
	// Steady state publishes without allocating.
	steady := &Pattern{Pulses: pat.Pulses[1:2]}
	if n := testing.AllocsPerRun(200, func() { _ = sink.Stimulate(context.Background(), steady) }); n != 0 {
		t.Errorf("%v allocs per publish", n)
	}
	if ok, failed := sink.Published(); ok != 202 || failed != 0 {
		t.Errorf("published %d, failed %d", ok, failed)
	}
	for range 201 {
		recv(t, msgs)
	}
	for range 2 {
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if m := recv(t, msgs); m.Subject != "bci.stim.out.stop" {
		t.Errorf("close: %s %s", m.Subject, m.Data)
	}
	if err := sink.Stimulate(context.Background(), steady); !errors.Is(err, ErrClosed) {
		t.Errorf("after Close: %v", err)
	}
	select {
	case m := <-msgs:
		t.Errorf("unexpected %s %s", m.Subject, m.Data)
	case <-time.After(20 * time.Millisecond):
	}
}

func recv(t *testing.T, c chan *nats.Msg) *nats.Msg {
	t.Helper()
	select {
	case m := <-c:
		return m
	case <-time.After(5 * time.Second):
		t.Fatal("no message")
		return nil
	}
}

// hostileCommand draws a command text: mostly plausible pulses (some over
// the limits), and in about a third of cases damaged: NaN or Infinity
// literals, numbers beyond float64, negative values, strings, unknown or
// repeated keys, truncation, or a replayed or zero seq.
func hostileCommand(r *rand.Rand, lastAccepted uint64) (msg string, seq uint64) {
	var b strings.Builder
	seq = lastAccepted + 1 + uint64(r.IntN(3))
	if r.IntN(8) == 0 { // a replay, or seq 0
		seq = lastAccepted - min(lastAccepted, uint64(r.IntN(3)))
	}
	fmt.Fprintf(&b, `{"v":1,"seq":%d,"sample":%d,"arrived_ns":%d,"pulses":[`, seq, r.Int64N(1e6), r.Int64N(1e12))
	num := func(lo, hi float64) string {
		switch r.IntN(40) {
		case 0:
			return "NaN"
		case 1:
			return "-Infinity"
		case 2:
			return "1e999"
		case 3:
			return "-1"
		case 4:
			return `"12"`
		case 5:
			return "1e300"
		}
		return strconv.FormatFloat(lo+(hi-lo)*r.Float64(), 'g', -1, 64)
	}
	for i := range 1 + r.IntN(4) {
		if i > 0 {
			b.WriteByte(',')
		}
		count := 1 + r.IntN(40)
		fmt.Fprintf(&b, `{"electrode":%d,"amplitude_ua":%s,"phase_us":%s,"gap_us":%s,"count":%d,"freq_hz":%s`,
			r.IntN(110)-3, num(1, 200), num(1, 400), num(0, 100), count, num(1, 1000))
		switch r.IntN(30) {
		case 0:
			b.WriteString(`,"extra":1`)
		case 1:
			b.WriteString(`,"count":1`)
		}
		b.WriteByte('}')
	}
	b.WriteString("]}")
	msg = b.String()
	if r.IntN(30) == 0 {
		msg = msg[:r.IntN(len(msg))]
	}
	return msg, seq
}

// TestNATSCommandsProperty sends seeded random commands, malformed, huge,
// negative, NaN and replayed ones included, through a real embedded NATS
// server to ServeNATSCommands, and checks that nothing outside any limit
// reached the sink, that every command was counted under a reason, and
// that the replies name those reasons.
func TestNATSCommandsProperty(t *testing.T) {
	nc := startNATS(t)
	cfg := propertyConfig()
	clk := &atomicClock{}
	cfg.Clock = clk.Now
	sink := &lockedSink{recordSink: recordSink{clock: clk.Now}}
	l, err := NewLimit(sink, cfg, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	src, err := ServeNATSCommands(nc, "bci.stim.cmd", l, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(3, 0x5eed))
	var lastAccepted uint64
	const n = 1500
	start := int64(-1)
	replies := map[string]int{}
	for range n {
		clk.t.Add(int64(r.IntN(30)) * int64(time.Millisecond))
		if start < 0 {
			start = clk.Now()
		}
		msg, seq := hostileCommand(r, lastAccepted)
		m, err := nc.Request("bci.stim.cmd", []byte(msg), 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		var rep struct {
			OK     bool   `json:"ok"`
			Reason string `json:"reason"`
		}
		if err := json.Unmarshal(m.Data, &rep); err != nil {
			t.Fatal(err)
		}
		if rep.OK {
			rep.Reason = "delivered"
		}
		replies[rep.Reason]++
		if rep.Reason != "malformed" && rep.Reason != "invalid" { // parsed: seq must be fresh
			if replay := seq == 0 || seq <= lastAccepted; replay != (rep.Reason == "replayed") {
				t.Errorf("seq %d after %d answered %+v", seq, lastAccepted, rep)
			}
			if rep.Reason != "replayed" {
				lastAccepted = seq
			}
		}
	}
	if err := src.Close(); err != nil {
		t.Fatal(err)
	}
	got := sink.deliveries()
	if bad := complianceErrorsFrom(cfg, start, got); len(bad) > 0 {
		t.Fatalf("%d non-compliant deliveries, first: %v", len(bad), bad[0])
	}
	st := src.Stats()
	var sum uint64
	for reason, k := range st.ByReason {
		sum += k
		if CommandReason(reason) != CommandFailed && k == 0 {
			t.Errorf("no command %v: %+v", CommandReason(reason), st)
		}
		if replies[CommandReason(reason).String()] != int(k) {
			t.Errorf("%v: %d replies, %d counted", CommandReason(reason), replies[CommandReason(reason).String()], k)
		}
	}
	if st.Received != n || sum != n {
		t.Errorf("stats %+v", st)
	}
	ls := l.Stats()
	if ls.Patterns != st.ByReason[CommandDelivered]+st.ByReason[CommandLimited] {
		t.Errorf("limit saw %d patterns, source %+v", ls.Patterns, st)
	}
	checkCounts(t, ls, func() int {
		n := 0
		for _, d := range got {
			n += len(d.pat.Pulses)
		}
		return n
	}())
}
