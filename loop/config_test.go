package loop

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParseConfigDefaults(t *testing.T) {
	cfg, err := ParseConfig("empty.yaml", []byte(""))
	if err != nil {
		t.Fatalf("empty config: %v", err)
	}
	def := DefaultConfig()
	if cfg.Rig != def.Rig || cfg.Bin.Width != def.Bin.Width || cfg.Decoder.Type != "kalman" {
		t.Fatalf("empty config does not give the defaults: %+v", cfg)
	}
}

func TestParseConfigOverrides(t *testing.T) {
	cfg, err := ParseConfig("ok.yaml", []byte(`
rig: lab-3
source: {type: sim, preset: motor-cortex, units: 48, seed: 7}
bin: {width: 50ms}
decoder: {type: kalman, calibration: 5s}
run: {lockstep: true, duration: 30s}
`))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Rig != "lab-3" || cfg.Source.Units != 48 || cfg.Source.Seed != 7 || cfg.Bin.Width != 50*time.Millisecond ||
		cfg.Decoder.Calibration != 5*time.Second || !cfg.Run.Lockstep || cfg.Run.Duration != 30*time.Second {
		t.Fatalf("overrides not applied: %+v", cfg)
	}
}

// TestParseConfigReportsEveryProblem is the brief's "a config with three
// mistakes reports all three with paths".
func TestParseConfigReportsEveryProblem(t *testing.T) {
	_, err := ParseConfig("bad.yaml", []byte(`
rig: demo
source:
  type: sim
  untis: 96
bin:
  width: fast
decoder:
  type: kalman
  calibration: -1s
`))
	var ce *ConfigError
	if !errors.As(err, &ce) {
		t.Fatalf("want *ConfigError, got %v", err)
	}
	want := []string{
		`source.untis (line 5): unknown key (did you mean "units"?)`,
		"bin.width (line 7):",
		"decoder.calibration: must be > 0",
	}
	if len(ce.Errs) != len(want) {
		t.Fatalf("got %d problems, want %d:\n%v", len(ce.Errs), len(want), err)
	}
	for i, w := range want {
		if !strings.HasPrefix(ce.Errs[i].Error(), w) {
			t.Errorf("problem %d = %q, want prefix %q", i, ce.Errs[i], w)
		}
	}
	if !strings.HasPrefix(err.Error(), "bad.yaml: 3 problems") {
		t.Errorf("message %q does not name the file and count", err)
	}
}

func TestParseConfigProblems(t *testing.T) {
	cases := []struct {
		name, yaml, want string
	}{
		{"not yaml", "rig: [", "not valid YAML"},
		{"top-level unknown", "rgi: x", `rgi (line 1): unknown key (did you mean "rig"?)`},
		{"bad rig", "rig: a.b", "rig: \"a.b\" must be"},
		{"unknown source type", "source: {type: usb}", `source.type: unknown "usb" (one of: nats, replay, serial, sim)`},
		{"replay without path", "source: {type: replay}", "source.path: required with type replay"},
		{"serial without port", "source: {type: serial}", "source.serial.port"},
		{"bad stage", "stages: [{type: bandpass, order: 4, low_hz: 30, high_hz: 7}]", "stages[0].high_hz: must be above low_hz"},
		{"unknown stage", "stages: [{type: wavelet}]", `stages[0].type: unknown "wavelet"`},
		{"stim without decoder", "decoder: {type: none}\nstimulate: {controller: threshold}", "stimulate.controller: threshold needs a decoder"},
		{"unknown decoder", "decoder: {type: lstm}", `decoder.type: unknown "lstm"`},
		{"file without params", "decoder: {fit: file}", "decoder.params: required with fit: file"},
		{"missing params file", "decoder: {fit: file, params: /nonexistent/p.json}", "decoder.params: stat /nonexistent/p.json"},
		{"short calibration", "decoder: {calibration: 100ms}", "decoder.calibration: 100ms gives fewer than 50 bins"},
		{"duplicate key", "rig: a\nrig: b", "rig (line 2): key given twice"},
		{"mapping expected", "bin: 20ms", "bin (line 1): expected a mapping"},
		{"queue", "run: {queue: 1}", "run.queue: must be ≥ 2"},
		{"bad listen", "nats: {listen: nowhere}", "nats.listen:"},
		{"auth without url", "nats: {token: abc}", "nats.url: authentication and TLS options need an external server url"},
		{"unknown sink", "stimulate: {controller: threshold, sink: tens}", `stimulate.sink: unknown "tens" (one of: nats, pulsepal, sim)`},
		{"sim sink needs sim", "source: {type: replay, path: /etc/hostname}\nstimulate: {controller: threshold, sink: sim}", "stimulate.sink: sink sim needs source.type sim"},
		{"bad watchdog", "stimulate: {controller: threshold, watchdog: {stale: 0s}}", "stimulate.watchdog.stale"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseConfig("t.yaml", []byte(c.yaml))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v\ndoes not contain %q", err, c.want)
			}
		})
	}
}

// TestConfigsDirectory builds every config shipped in configs/.
func TestConfigsDirectory(t *testing.T) {
	files, err := filepath.Glob("../configs/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no configs found: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			cfg, err := LoadConfig(f)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := Build(cfg, testLogger(t)); err != nil {
				t.Fatalf("build: %v", err)
			}
		})
	}
}

func TestLoadConfigMissingFile(t *testing.T) {
	_, err := LoadConfig(filepath.Join(t.TempDir(), "nope.yaml"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("want a not-exist error, got %v", err)
	}
}

// ExampleParseConfig shows the strict parser reporting every problem at once.
func ExampleParseConfig() {
	_, err := ParseConfig("rig.yaml", []byte("rig: lab\nbin: {widht: 20ms}\ndecoder: {type: lstm}\n"))
	fmt.Println(err)
	// Output:
	// rig.yaml: 2 problems
	//   bin.widht (line 2): unknown key (did you mean "width"?)
	//   decoder.type: unknown "lstm" (one of: kalman, kalman-ss, none, poisson, popvec, ppf, wiener)
}
