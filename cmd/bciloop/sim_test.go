package main

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestSimCommand(t *testing.T) {
	code, out, errOut := run(t, "sim", "--preset", "cuba", "--neurons", "400", "--duration", "100ms", "--seed", "3", "--threads", "2")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if strings.Count(out, "\n") != 1 {
		t.Fatalf("want one line, got %q", out)
	}
	var s simSummary
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatal(err)
	}
	// CUBA at 400 neurons: 320 E + 80 I, about 80 inputs each; 0.1 s at
	// dt = 0.1 ms. The cells fire from the start (E_L above threshold).
	if s.Preset != "cuba" || s.Neurons != 400 || s.Seed != 3 || s.Threads != 2 || s.DurationS != 0.1 ||
		s.Synapses < 400*60 || s.Synapses > 400*100 || s.Spikes <= 0 || s.RateEHz <= 0 || s.RateIHz <= 0 ||
		s.WallS <= 0 || s.RTF <= 0 || s.BuildS <= 0 {
		t.Errorf("summary %+v", s)
	}
	// The same seed gives the same spikes whatever the thread count.
	_, out1, _ := run(t, "sim", "--preset", "cuba", "--neurons", "400", "--duration", "100ms", "--seed", "3", "--threads", "1")
	var s1 simSummary
	if err := json.Unmarshal([]byte(out1), &s1); err != nil {
		t.Fatal(err)
	}
	if s1.Spikes != s.Spikes || s1.RateEHz != s.RateEHz || *s1.CVISI != *s.CVISI {
		t.Errorf("one thread %+v, two threads %+v", s1, s)
	}
}

func TestSimCommandUsage(t *testing.T) {
	tests := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"sim"}, 2, "--preset is required"},
		{[]string{"sim", "--preset", "hh"}, 2, `unknown preset "hh"`},
		{[]string{"sim", "--preset", "coba", "--duration", "0s"}, 2, "--duration must be > 0"},
		{[]string{"sim", "--preset", "coba", "--neurons", "-5"}, 2, "--neurons must be ≥ 0"},
		{[]string{"sim", "--preset", "coba", "--threads", "0"}, 2, "--threads must be ≥ 1"},
		{[]string{"sim", "--preset", "coba", "extra"}, 2, "unexpected arguments"},
		{[]string{"sim", "--preset", "brunel-c", "--neurons", "8"}, 2, "leave no inputs"},
		{[]string{"sim", "--bogus"}, 2, "flag provided but not defined"},
		{[]string{"sim", "-h"}, 0, "coba-4-51"},
	}
	for _, tc := range tests {
		code, _, errOut := run(t, tc.args...)
		if code != tc.code || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", tc.args, code, errOut, tc.code, tc.want)
		}
	}
}
