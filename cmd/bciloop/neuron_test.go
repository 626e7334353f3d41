package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestNeuronCommand(t *testing.T) {
	dir := t.TempDir()
	png, csvPath := filepath.Join(dir, "v.png"), filepath.Join(dir, "v.csv")
	code, out, errs := run(t, "neuron", "--model", "fhn", "--current", "0.5", "--duration", "200ms", "--plot", png, "--csv", csvPath)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var sum struct {
		Spikes int       `json:"spikes"`
		ISI    []float64 `json:"isi_ms"`
	}
	if err := json.Unmarshal([]byte(out), &sum); err != nil {
		t.Fatalf("summary %q: %v", out, err)
	}
	// I = 0.5 is above the Hopf onset of the classic FitzHugh–Nagumo
	// parameters (model tests: I_c ≈ 0.331), so the cell oscillates.
	if sum.Spikes < 3 {
		t.Fatalf("FitzHugh–Nagumo at I = 0.5 gave %d spikes; above the Hopf onset it must oscillate", sum.Spikes)
	}
	img, err := os.ReadFile(png)
	if err != nil || !bytes.HasPrefix(img, []byte("\x89PNG\r\n\x1a\n")) {
		t.Fatalf("plot is not a PNG: %v", err)
	}
	csvData, err := os.ReadFile(csvPath)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(csvData)), "\n")
	if lines[0] != "t_ms,v,w" || len(lines) != 2002 { // 200 ms at 0.1 ms: 2001 samples
		t.Fatalf("csv header %q and %d lines", lines[0], len(lines))
	}
}

func TestNeuronCommandErrors(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--model", "squid"}, `--model "squid" is not one of adex, fhn, hh, izhikevich, lif`},
		{[]string{"--model", "lif", "--param", "bogus=1"}, `has no parameter "bogus" (have: C, GL`},
		{[]string{"--model", "lif", "--param", "C=abc"}, `"abc" is not a number`},
		{[]string{"--model", "lif", "--param", "C=-1"}, "lif parameters:"},
		{[]string{"--model", "izhikevich", "--class", "XX"}, "XX"},
		{[]string{"--model", "lif", "--duration", "0s"}, "--duration > 0"},
	}
	for _, c := range cases {
		code, _, errs := run(t, append([]string{"neuron"}, c.args...)...)
		if code != 2 || !strings.Contains(errs, c.want) {
			t.Errorf("%q: exit %d, stderr %q; want 2 and %q", c.args, code, errs, c.want)
		}
	}
}
