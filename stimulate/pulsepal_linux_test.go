package stimulate

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/bciloop/bciloop/acquire/serialtest"
	"github.com/bciloop/bciloop/stimulate/pulsepaltest"
)

// fakePulsePal starts a fake Pulse Pal reporting firmware behind a
// pseudo-terminal.
func fakePulsePal(t *testing.T, firmware uint32) (*pulsepaltest.PulsePal, *serialtest.Device) {
	t.Helper()
	pp := pulsepaltest.New(firmware)
	dev, err := serialtest.NewDevice(pp, serialtest.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = dev.Close() })
	return pp, dev
}

// waitReport polls the fake until ok holds (bytes without a reply are
// parsed asynchronously).
func waitReport(t *testing.T, pp *pulsepaltest.PulsePal, ok func(r *pulsepaltest.Report) bool) pulsepaltest.Report {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		r := pp.Report()
		if ok(&r) {
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("fake pulse pal never reached the expected state: %+v", r)
		}
		time.Sleep(time.Millisecond)
	}
}

// fakeReplyTimeout replaces the firmware's 500 ms reply timeout in these
// tests: the fake answers from a goroutine of this test process, which a
// loaded machine under -race can keep off the CPU for longer than that.
const fakeReplyTimeout = 10 * time.Second

func TestPulsePalOpen(t *testing.T) {
	pp, dev := fakePulsePal(t, 21)
	cfg := DefaultPulsePalConfig()
	cfg.Port = dev.Path
	cfg.Timeout = fakeReplyTimeout
	s, err := OpenPulsePal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	r := pp.Report()
	if s.Firmware() != 21 || r.Handshakes != 1 || r.Programs != 32 || len(r.Errors) != 0 {
		t.Fatalf("firmware %d, report %+v", s.Firmware(), r)
	}
	for i, c := range r.Channels {
		if c.Biphasic != 1 || c.RestingVoltage != 32768 || c.LinkTrigger1 != 0 || c.LinkTrigger2 != 0 || c.BurstDuration != 0 || c.CustomTrainID != 0 {
			t.Errorf("channel %d: %+v", i+1, c)
		}
	}

	v1, dev1 := fakePulsePal(t, 5)
	cfg.Port = dev1.Path
	if _, err := OpenPulsePal(cfg); err == nil || !strings.Contains(err.Error(), "Pulse Pal 1") {
		t.Errorf("Pulse Pal 1: %v", err)
	}
	if r := v1.Report(); r.Programs != 0 {
		t.Errorf("Pulse Pal 1 programmed: %+v", r)
	}
	cfg.Port = filepath.Join(t.TempDir(), "nothing")
	if _, err := OpenPulsePal(cfg); err == nil {
		t.Error("opened a missing port")
	}
	bad := PulsePalConfig{UAPerVolt: -1}
	if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), "port:") || !strings.Contains(err.Error(), "ua_per_volt:") ||
		!strings.Contains(err.Error(), "timeout:") {
		t.Errorf("validate: %v", err)
	}
}

// TestPulsePalStimulate drives the fake through a Limit (4 electrodes) and
// checks what each pattern programmed and triggered. 10 µA/V: 50 µA is
// 5 V, k = ⌊5·65535/20⌋ = 16383, so phase 1 is 32768 − 16383 and phase 2
// 32768 + 16383; times are in 50 µs cycles.
func TestPulsePalStimulate(t *testing.T) {
	pp, dev := fakePulsePal(t, 21)
	cfg := DefaultPulsePalConfig()
	cfg.Port = dev.Path
	cfg.Timeout = fakeReplyTimeout
	sink, err := OpenPulsePal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	lc := DefaultLimitConfig()
	lc.Electrodes = 4
	clk := &atomicClock{}
	lc.Clock = clk.Now
	l, err := NewLimit(sink, lc, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	icms := Pulse{Electrode: 0, AmplitudeUA: 50, PhaseUS: 200, GapUS: 50, Count: 10, FreqHz: 100}
	ch := func(v1, v2 uint16, p1, gap, inter, dur uint32) pulsepaltest.Channel {
		return pulsepaltest.Channel{Biphasic: 1, RestingVoltage: 32768, Phase1Voltage: v1, Phase2Voltage: v2,
			Phase1Duration: p1, InterPhaseInterval: gap, Phase2Duration: p1, InterPulseInterval: inter, PulseTrainDuration: dur}
	}
	icmsCh := ch(16385, 49151, 4, 1, 191, 1809) // 9-cycle pulses every 200 cycles; 9·200 + 9
	tests := []struct {
		name     string
		wait     time.Duration // before the pattern (lets trains end)
		pulses   []Pulse
		wantErr  string // substring; "" = none
		bits     byte   // trigger sent; 0 = none
		programs int    // parameters programmed by this pattern
		channels map[int]pulsepaltest.Channel
	}{
		{"icms train", 0, []Pulse{icms}, "", 0b1, 7, map[int]pulsepaltest.Channel{0: icmsCh}},
		{"channel busy for the 90.45 ms train", 0, []Pulse{icms}, "still delivering", 0, 0, nil},
		{"two channels, 100 uA single pulse is 10 V", 0, []Pulse{
			{Electrode: 1, AmplitudeUA: 50, PhaseUS: 200, GapUS: 50, Count: 10, FreqHz: 100},
			{Electrode: 2, AmplitudeUA: 100, PhaseUS: 100, Count: 1},
		}, "", 0b110, 14, map[int]pulsepaltest.Channel{1: icmsCh, 2: ch(1, 65535, 2, 0, 1, 4)}},
		{"same train again reprograms nothing", 95 * time.Millisecond, []Pulse{icms}, "", 0b1, 0, map[int]pulsepaltest.Channel{0: icmsCh}},
		// 230 µs → 4 cycles (down), 70 µs gap → 1 (nearest), 1/300 Hz =
		// 66.7 cycles → 67 (up), 33 µA → k = ⌊3.3·3276.75⌋ = 10813 (down):
		// voltages, interpulse and duration change, phases and gap do not.
		{"rounding towards less", 95 * time.Millisecond, []Pulse{{Electrode: 0, AmplitudeUA: 33, PhaseUS: 230, GapUS: 70, Count: 3, FreqHz: 300}},
			"", 0b1, 4, map[int]pulsepaltest.Channel{0: ch(32768-10813, 32768+10813, 4, 1, 58, 2*67+9)}},
		{"phase under a cycle", 0, []Pulse{{Electrode: 3, AmplitudeUA: 50, PhaseUS: 30, Count: 1}}, "50 µs cycle", 0, 0, nil},
		{"amplitude under a DAC step", 0, []Pulse{{Electrode: 3, AmplitudeUA: 1e-3, PhaseUS: 100, Count: 1}}, "DAC step", 0, 0, nil},
		{"limit refuses electrode 5", 0, []Pulse{{Electrode: 5, AmplitudeUA: 10, PhaseUS: 100, Count: 1}}, "electrode", 0, 0, nil},
	}
	ctx := context.Background()
	for i, tc := range tests {
		time.Sleep(tc.wait)
		clk.t.Add(int64(time.Second)) // keep the rate rules out of the way
		before := pp.Report()
		err := l.Stimulate(ctx, &Pattern{Seq: uint64(i + 1), Pulses: tc.pulses})
		if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
			t.Errorf("%s: err = %v, want %q", tc.name, err, tc.wantErr)
		}
		// Programs are acknowledged, so they are in place; a trigger is
		// not, so wait for it.
		want := len(before.Triggers)
		if tc.bits != 0 {
			want++
		}
		r := waitReport(t, pp, func(r *pulsepaltest.Report) bool { return len(r.Triggers) >= want })
		if len(r.Triggers) != want || r.Programs-before.Programs != tc.programs || len(r.Errors) != 0 {
			t.Errorf("%s: %d triggers (want %d), %d programs (want %d), errors %v", tc.name,
				len(r.Triggers), want, r.Programs-before.Programs, tc.programs, r.Errors)
			continue
		}
		if tc.bits != 0 {
			tr := r.Triggers[len(r.Triggers)-1]
			if tr.Bits != tc.bits {
				t.Errorf("%s: trigger bits %04b, want %04b", tc.name, tr.Bits, tc.bits)
			}
			for c, want := range tc.channels {
				if tr.Channels[c] != want {
					t.Errorf("%s: channel %d\n got %+v\nwant %+v", tc.name, c+1, tr.Channels[c], want)
				}
			}
		}
	}

	// Stop aborts and frees the channel at once.
	if err := l.StopStimulation(); err != nil {
		t.Fatal(err)
	}
	waitReport(t, pp, func(r *pulsepaltest.Report) bool { return r.Aborts == 1 })
	clk.t.Add(int64(time.Second))
	if err := l.Stimulate(ctx, &Pattern{Pulses: []Pulse{icms}}); err != nil {
		t.Errorf("after stop: %v", err)
	}
	// Steady state: stimulate and stop without allocating.
	step := func() {
		clk.t.Add(int64(time.Second))
		_ = l.StopStimulation()
		if err := l.Stimulate(ctx, &Pattern{Pulses: []Pulse{icms}}); err != nil {
			t.Fatal(err)
		}
	}
	if n := testing.AllocsPerRun(50, step); n != 0 {
		t.Errorf("%v allocs per Stimulate", n)
	}
	// Close aborts, disconnects, and nothing reaches the device after.
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	r := waitReport(t, pp, func(r *pulsepaltest.Report) bool { return r.Disconnects == 1 })
	if err := sink.Stimulate(ctx, &Pattern{Pulses: []Pulse{icms}}); !errors.Is(err, ErrClosed) {
		t.Errorf("after Close: %v", err)
	}
	if err := sink.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if r.Aborts != 1+51+1 || len(r.Errors) != 0 || r.Pending != 0 {
		t.Errorf("at close: aborts %d, errors %v, pending %d", r.Aborts, r.Errors, r.Pending)
	}
}
