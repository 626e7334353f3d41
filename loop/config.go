package loop

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/bciloop/bciloop/acquire"
	"github.com/bciloop/bciloop/decode"
	"github.com/bciloop/bciloop/stimulate"
)

// Config is a whole loop: one struct per component, each with its defaults
// (DefaultConfig) and its own Validate. README's "Config reference" documents
// every key.
type Config struct {
	Rig       string          `yaml:"rig"`
	Source    SourceConfig    `yaml:"source"`
	Stages    []StageConfig   `yaml:"stages"`
	Bin       BinConfig       `yaml:"bin"`
	Decoder   DecoderConfig   `yaml:"decoder"`
	Publish   PublishConfig   `yaml:"publish"`
	Stimulate StimulateConfig `yaml:"stimulate"`
	// Experiment measures a closed-loop experiment's figures into the
	// summary (experiment.go).
	Experiment ExperimentConfig `yaml:"experiment"`
	NATS       NATSConfig       `yaml:"nats"`
	Run        RunConfig        `yaml:"run"`
	// Task runs a closed-loop cursor task with a simulated user (Task,
	// User); type none (the default) runs none.
	Task TaskConfig `yaml:"task"`
	// Session records the run on JetStream for replay (SessionConfig;
	// README "Sessions"); no name (the default) records none.
	Session SessionConfig `yaml:"session"`
}

// SourceConfig selects the input. Type "sim" is a synthetic brain named by
// preset (acquire.SimPresets): the motor cortex's keys
// (sim.MotorCortexConfig) sit beside type and preset, every other preset's
// under its own key (source.eeg, source.beta, source.seizure,
// source.network; acquire.SimOptions).
type SourceConfig struct {
	Type               string        `yaml:"type"`   // see Components
	Preset             string        `yaml:"preset"` // sim preset, see Components
	Block              time.Duration `yaml:"block"`  // duration of one block (sim)
	acquire.SimOptions `yaml:",inline"`

	// Path is the file a replay source reads: an EDF+/BDF file, an OpenBCI
	// GUI CSV or a bciloop recording (detected by content).
	Path string `yaml:"path"`
	// Replay holds the replay options (block_frames, restamp, signals); a
	// replay runs in real time unless run.lockstep.
	Replay acquire.ReplayConfig `yaml:"replay"`
	// Serial holds the board options (port, protocol, baud, …) of a serial
	// source (package acquire, SerialConfig).
	Serial acquire.SerialConfig `yaml:"serial"`
	// NATS holds the subject of a remote stream (raw or spikes) read over
	// the loop's own NATS connection (nats.url, or the embedded server).
	NATS acquire.NATSSourceConfig `yaml:"nats"`
}

// BinConfig sets the spike-count bins fed to the decoder.
type BinConfig struct {
	Width time.Duration `yaml:"width"`
}

// DecoderConfig selects and fits the decoder.
type DecoderConfig struct {
	Type        string        `yaml:"type"`        // see Components
	Fit         string        `yaml:"fit"`         // "calibrate": from the first Calibration of the run (needs ground truth); "file": load Params
	Calibration time.Duration `yaml:"calibration"` // calibration span with fit: calibrate
	Params      string        `yaml:"params"`      // parameter file to load with fit: file
	Save        string        `yaml:"save"`        // write the fitted parameters here (optional)

	// Kalman holds the fit and filter options of the kalman decoders
	// (ridges, steady-state tolerance); state_names is taken from the
	// source's ground truth when fitting by calibration.
	Kalman decode.KalmanConfig `yaml:"kalman"`
	// PPF, Poisson, PopVec and Wiener hold the options of those decoders
	// (see package decode); their state names come from the ground truth.
	// The Poisson decoder's grid defaults to vx, vy over ±3 RMS speeds.
	PPF     decode.PPFConfig     `yaml:"ppf"`
	Poisson decode.PoissonConfig `yaml:"poisson"`
	PopVec  decode.PopVecConfig  `yaml:"popvec"`
	Wiener  decode.WienerConfig  `yaml:"wiener"`
}

// PublishConfig chooses what goes to NATS under bciloop.<rig>.<stream>.
type PublishConfig struct {
	Commands bool `yaml:"commands"` // JSON commands on .cmd
	Spikes   bool `yaml:"spikes"`   // binary spikes per block on .spikes
	Bins     bool `yaml:"bins"`     // binary bins on .bins
	Probe    bool `yaml:"probe"`    // bare-transport probe after each command on .probe
	Status   bool `yaml:"status"`   // JSON status once per status interval on .status
}

// StimulateConfig closes the loop: a controller turns estimates into
// patterns, which pass through the safety Limit to the sink.
type StimulateConfig struct {
	Controller string                              `yaml:"controller"` // see Components
	Threshold  stimulate.ThresholdControllerConfig `yaml:"threshold"`
	// The feature controllers' sections (controllers.go) and the feature
	// stage they read (features.go).
	RateClamp  stimulate.RateClampConfig       `yaml:"rate_clamp"`
	Responsive stimulate.EventControllerConfig `yaml:"responsive"`
	Adaptive   stimulate.AdaptiveConfig        `yaml:"adaptive"`
	Phase      stimulate.PhaseConfig           `yaml:"phase"`
	Schedule   stimulate.ScheduleConfig        `yaml:"schedule"`
	Features   FeaturesConfig                  `yaml:"features"`
	Limit      stimulate.LimitConfig           `yaml:"limit"`
	// Watchdog turns stimulation off when no fresh block arrived within
	// watchdog.stale (real-time runs).
	Watchdog stimulate.WatchdogConfig `yaml:"watchdog"`
	Sink     string                   `yaml:"sink"` // see Components
	// PulsePal configures the pulsepal sink (a Sanworks Pulse Pal 2 on a
	// serial port).
	PulsePal stimulate.PulsePalConfig `yaml:"pulsepal"`
}

// RunConfig holds run-time settings; CLI flags override them.
type RunConfig struct {
	Duration time.Duration `yaml:"duration"`        // simulated/stream time to run; 0 = until interrupted
	Lockstep bool          `yaml:"lockstep"`        // sim as fast as possible, deterministic
	Queue    int           `yaml:"queue"`           // blocks in the real-time pool; the oldest is dropped when full
	Status   time.Duration `yaml:"status_interval"` // status line interval

	// Deadline, when > 0, is the time from a block's arrival (or, from a
	// self-pacing source, when it was due) within which it must be fully
	// processed; later blocks are counted as deadline misses (Summary).
	Deadline time.Duration `yaml:"deadline"`
	// Warmup is the stream time after the decoder is ready (fitted or
	// loaded) before the latency histograms start over and deadline
	// misses, drops and GC cycles after warm-up are counted.
	Warmup time.Duration `yaml:"warmup"`
	// GC tunes the Go garbage collector for the run (loop/deadline.go).
	GC GCConfig `yaml:"gc"`

	// Record, when Record.Path is set, records every block, command and
	// stimulation pattern of the run to that file in the bciloop recording
	// format (acquire.CreateRecording; an existing file is never
	// overwritten).
	Record RecordConfig `yaml:"record"`

	// Metrics serves Prometheus metrics (and optionally pprof) over HTTP.
	Metrics MetricsConfig `yaml:"metrics"`
}

// RecordConfig is recording from run: the file and the recorder's options.
type RecordConfig struct {
	Path                   string `yaml:"path"`
	acquire.RecorderConfig `yaml:",inline"`
}

// Components is the explicit component table: every type name a config may
// use, per slot, with what it is.
var Components = map[string]map[string]string{
	"source.type": {"sim": "the synthetic brain (real time or lockstep)", "replay": "a file: EDF+/BDF, OpenBCI GUI CSV or bciloop recording",
		"serial": "an acquisition board on a serial port (Cyton, Cyton+Daisy, ModularEEG, ThinkGear, SpikerBox)",
		"nats":   "a remote raw or spikes stream on NATS (bciloop acquire on another machine)"},
	"source.preset": func() map[string]string { // the table of synthetic brains, acquire.SimPresets
		m := map[string]string{}
		for _, n := range acquire.SimPresets() {
			p, _ := acquire.SimPresetInfo(n)
			m[n] = p.Doc
		}
		return m
	}(),
	"decoder.type": {
		"kalman": "Kalman filter (Wu et al. 2006)", "kalman-ss": "steady-state Kalman filter",
		"ppf": "point-process filter (Eden et al. 2004)", "poisson": "Poisson population decoder over a velocity grid (Zhang et al. 1998)",
		"popvec": "population vector (Georgopoulos et al. 1986)", "wiener": "Wiener filter (linear regression on lagged counts)",
		"none": "no decoder: acquire, preprocess, bin and publish the streams only",
	},
	"task.type": {"none": "no task", "centre-out": "centre-out-and-back to evenly spaced targets", "center-out": "the same as centre-out",
		"random": "random targets in the workspace"},
	"task.control": {"velocity": "the cursor integrates the decoded velocity", "position": "the cursor is the decoded position"},
	"decoder.fit":  {"calibrate": "fit from the first seconds of the run", "file": "load a parameter file"},
	"stimulate.controller": {"none": "no stimulation", "threshold": "pattern when a decoded quantity crosses a threshold, with lockout",
		"rate_clamp": "PI clamp of the population rate to a target (Newman et al. 2015)",
		"responsive": "line-length event detector with lockout and refractory (responsive neurostimulation)",
		"adaptive":   "beta-power dual-threshold adaptive DBS (Little et al. 2013; Velisar et al. 2019)",
		"phase":      "phase-locked pulses by AR forward prediction of a band (Chen et al. 2013)",
		"schedule":   "open-loop periodic or Poisson trains (sham, comparison)"},
	"experiment.type": {"none": "no experiment figures", "rate_clamp": "rate clamp: target steps, steady-state error and settling",
		"phase_locked": "phase-locked: circular SD of the stimulated phase", "adaptive_beta": "adaptive beta: burst duration and charge",
		"responsive": "responsive: detection latency and event duration"},
	"stimulate.sink": {"sim": "the synthetic brain's stimulation input", "nats": "JSON patterns on bciloop.<rig>.stim for external stimulators",
		"pulsepal": "a Sanworks Pulse Pal 2 on a serial port"},
}

// DefaultConfig returns a config with every default filled in.
func DefaultConfig() Config {
	return Config{
		Rig: "demo",
		Source: SourceConfig{
			Type: "sim", Preset: "motor-cortex", Block: time.Millisecond,
			SimOptions: acquire.DefaultSimOptions(),
			Replay:     acquire.DefaultReplayConfig(),
			Serial:     acquire.DefaultSerialConfig(),
			NATS:       acquire.DefaultNATSSourceConfig(),
		},
		Bin: BinConfig{Width: 20 * time.Millisecond},
		Decoder: DecoderConfig{Type: "kalman", Fit: "calibrate", Calibration: 5 * time.Second, Kalman: decode.DefaultKalmanConfig(),
			PPF: decode.DefaultPPFConfig(), Poisson: decode.DefaultPoissonConfig(), PopVec: decode.DefaultPopVecConfig(), Wiener: decode.DefaultWienerConfig()},
		Publish: PublishConfig{Commands: true, Spikes: true, Bins: true, Status: true},
		Stimulate: StimulateConfig{
			Controller: "none",
			Threshold:  stimulate.DefaultThresholdControllerConfig(),
			RateClamp:  stimulate.DefaultRateClampConfig(),
			Responsive: stimulate.DefaultEventControllerConfig(),
			Adaptive:   stimulate.DefaultAdaptiveConfig(),
			Phase:      stimulate.DefaultPhaseConfig(),
			Schedule:   stimulate.DefaultScheduleConfig(),
			Features:   DefaultFeaturesConfig(),
			Limit:      stimulate.DefaultLimitConfig(),
			Watchdog:   stimulate.DefaultWatchdogConfig(),
			PulsePal:   stimulate.DefaultPulsePalConfig(),
			Sink:       "sim",
		},
		Experiment: DefaultExperimentConfig(),
		NATS:       DefaultNATSConfig(),
		Task:       DefaultTaskConfig(),
		Session:    DefaultSessionConfig(),
		Run:        RunConfig{Queue: 16, Status: time.Second, Record: RecordConfig{RecorderConfig: acquire.DefaultRecorderConfig()}},
	}
}

var rigName = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// Validate reports every problem in c, each as a *FieldError with its path.
func (c *Config) Validate() error {
	var errs []error
	add := func(path, format string, args ...any) {
		errs = append(errs, &FieldError{Path: path, Msg: fmt.Sprintf(format, args...)})
	}
	// nest prefixes a component's own "key: message" errors with its path.
	nest := func(prefix string, err error) {
		for _, e := range flatten(err) {
			key, msg, ok := strings.Cut(e.Error(), ": ")
			if !ok || strings.ContainsAny(key, " ") {
				errs = append(errs, &FieldError{Path: prefix, Msg: e.Error()})
				continue
			}
			errs = append(errs, &FieldError{Path: prefix + "." + key, Msg: msg})
		}
	}
	oneOf := func(path, v string) bool {
		if _, ok := Components[path][v]; !ok {
			add(path, "unknown %q (one of: %s)", v, names(Components[path]))
			return false
		}
		return true
	}
	if !rigName.MatchString(c.Rig) {
		add("rig", "%q must be letters, digits, '-' or '_' (it is a NATS subject token)", c.Rig)
	}
	if oneOf("source.type", c.Source.Type) {
		switch c.Source.Type {
		case "sim":
			if oneOf("source.preset", c.Source.Preset) {
				nest("source", c.Source.SimOptions.Validate(c.Source.Preset))
			}
		case "replay":
			if c.Source.Path == "" {
				add("source.path", "required with type replay")
			} else if _, err := os.Stat(c.Source.Path); err != nil {
				add("source.path", "%v", err)
			}
			nest("source.replay", c.Source.Replay.Validate())
		case "serial":
			nest("source.serial", c.Source.Serial.Validate())
		case "nats":
			nest("source.nats", c.Source.NATS.Validate())
		}
	}
	for i := range c.Stages {
		nest(fmt.Sprintf("stages[%d]", i), c.Stages[i].validate(0))
	}
	if c.Source.Block <= 0 {
		add("source.block", "must be > 0")
	}
	frame := time.Duration(0)
	simRate := c.Source.SimOptions.RateHz(c.Source.Preset)
	if c.Source.Type == "sim" && simRate > 0 {
		frame = time.Duration(float64(time.Second) / simRate)
	}
	if c.Bin.Width <= 0 {
		add("bin.width", "must be > 0")
	} else if frame > 0 && c.Bin.Width < frame {
		add("bin.width", "%v is shorter than one frame (%v at %g Hz)", c.Bin.Width, frame, simRate)
	}
	oneOf("decoder.type", c.Decoder.Type)
	if oneOf("decoder.fit", c.Decoder.Fit) && c.Decoder.Type != "none" {
		switch c.Decoder.Fit {
		case "calibrate":
			if c.Decoder.Calibration <= 0 {
				add("decoder.calibration", "must be > 0 with fit: calibrate")
			} else if c.Bin.Width > 0 && c.Decoder.Calibration < 50*c.Bin.Width {
				add("decoder.calibration", "%v gives fewer than 50 bins of %v; too few to fit a decoder", c.Decoder.Calibration, c.Bin.Width)
			}
		case "file":
			if c.Decoder.Params == "" {
				add("decoder.params", "required with fit: file")
			} else if _, err := os.Stat(c.Decoder.Params); err != nil {
				add("decoder.params", "%v", err)
			}
		}
	}
	switch c.Decoder.Type {
	case "kalman", "kalman-ss":
		nest("decoder.kalman", c.Decoder.Kalman.Validate())
	case "ppf":
		nest("decoder.ppf", c.Decoder.PPF.Validate())
	case "popvec":
		nest("decoder.popvec", c.Decoder.PopVec.Validate())
	case "wiener":
		nest("decoder.wiener", c.Decoder.Wiener.Validate())
	case "poisson":
		pc := c.Decoder.Poisson
		if len(pc.Axes) == 0 && len(pc.Classes) == 0 {
			pc.Axes = defaultPoissonAxes(max(poissonSpeed(c), 1))
		}
		nest("decoder.poisson", pc.Validate())
	}
	if oneOf("stimulate.controller", c.Stimulate.Controller) && c.Stimulate.Controller != "none" {
		if c.Decoder.Type == "none" && !controllerKinds[c.Stimulate.Controller].features {
			add("stimulate.controller", "%s needs a decoder (decoder.type is none)", c.Stimulate.Controller)
		}
		if oneOf("stimulate.sink", c.Stimulate.Sink) && c.Stimulate.Sink == "sim" && c.Source.Type != "sim" {
			add("stimulate.sink", "sink sim needs source.type sim")
		}
		nest("stimulate", c.Stimulate.validateController())
		nest("stimulate.limit", c.Stimulate.Limit.Validate())
		nest("stimulate.watchdog", c.Stimulate.Watchdog.Validate())
		if c.Stimulate.Sink == "pulsepal" {
			nest("stimulate.pulsepal", c.Stimulate.PulsePal.Validate())
		}
	}
	if oneOf("experiment.type", c.Experiment.Type) {
		nest("experiment", c.Experiment.Validate())
	}
	nest("nats", c.NATS.Validate())
	nest("session", c.Session.Validate())
	if c.Session.Name != "" && c.NATS.URL == "" && c.NATS.StoreDir == "" {
		add("session.name", "a session needs JetStream: set nats.store_dir (the embedded server) or nats.url (an external server with JetStream)")
	}
	nest("task", c.Task.Validate())
	if c.Task.Type != "none" {
		if c.Source.Type != "sim" {
			add("task.type", "a task needs the synthetic brain's simulated user (source.type sim)")
		}
		if c.Decoder.Type == "none" {
			add("task.type", "a task needs a decoder (decoder.type is none)")
		}
		if c.Task.Refit.Enabled && c.Decoder.Type != "kalman" && c.Decoder.Type != "kalman-ss" {
			add("task.refit.enabled", "ReFIT refits a Kalman decoder (kalman, kalman-ss), not %s", c.Decoder.Type)
		}
	}
	if c.Run.Duration < 0 {
		add("run.duration", "must be ≥ 0")
	}
	if c.Run.Queue < 2 {
		add("run.queue", "must be ≥ 2")
	}
	if c.Run.Status <= 0 {
		add("run.status_interval", "must be > 0")
	}
	if c.Run.Deadline < 0 {
		add("run.deadline", "must be ≥ 0 (0: off)")
	}
	if c.Run.Warmup < 0 {
		add("run.warmup", "must be ≥ 0")
	}
	nest("run.gc", c.Run.GC.Validate())
	nest("run.metrics", c.Run.Metrics.Validate())
	if c.Run.Record.Path != "" {
		nest("run.record", c.Run.Record.RecorderConfig.Validate())
		if _, err := os.Stat(c.Run.Record.Path); err == nil {
			add("run.record.path", "%s exists; a recording never overwrites a file", c.Run.Record.Path)
		}
	}
	return errors.Join(errs...)
}

func names(m map[string]string) string {
	var s []string
	for k := range m {
		s = append(s, k)
	}
	slices.Sort(s)
	return strings.Join(s, ", ")
}

func flatten(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, flatten(e)...)
		}
		return out
	}
	return []error{err}
}

// ParseConfig reads a YAML config over the defaults, strictly: unknown keys,
// wrong types and invalid values are all reported at once, each with its
// path (and line where it has one). name labels the errors (a file path).
func ParseConfig(name string, data []byte) (Config, error) {
	cfg := DefaultConfig()
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil && err != io.EOF {
		return cfg, &ConfigError{Name: name, Errs: []error{fmt.Errorf("not valid YAML: %w", err)}}
	}
	// A value that failed to decode keeps its (valid) default, so Validate
	// does not report the same mistake twice.
	errs := decodeStrict(&doc, &cfg)
	errs = append(errs, flatten(cfg.Validate())...)
	if len(errs) > 0 {
		return cfg, &ConfigError{Name: name, Errs: errs}
	}
	return cfg, nil
}

// LoadConfig reads and parses the config file at path.
func LoadConfig(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return DefaultConfig(), &ConfigError{Name: path, Errs: []error{err}}
	}
	return ParseConfig(path, data)
}

// ConfigError lists every problem found in one config.
type ConfigError struct {
	Name string
	Errs []error
}

func (e *ConfigError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d problem", e.Name, len(e.Errs))
	if len(e.Errs) != 1 {
		b.WriteString("s")
	}
	for _, err := range e.Errs {
		b.WriteString("\n  ")
		b.WriteString(err.Error())
	}
	return b.String()
}

// Unwrap returns the individual problems.
func (e *ConfigError) Unwrap() []error { return e.Errs }
