package loop

import (
	"encoding/json"
	"math"
	"time"

	"github.com/bciloop/bciloop/acquire"
	"github.com/bciloop/bciloop/stimulate"
)

// Summary is the final report of a run, printed as one JSON line by
// `bciloop run`. Latencies are in µs from the block's arrival stamp.
type Summary struct {
	Rig             string               `json:"rig"`
	Mode            string               `json:"mode"` // "lockstep" or "realtime"
	NATSURL         string               `json:"nats_url"`
	SimSeconds      float64              `json:"sim_s"`
	WallSeconds     float64              `json:"wall_s"`
	Blocks          uint64               `json:"blocks"`
	Dropped         uint64               `json:"dropped"`
	SeqGaps         uint64               `json:"seq_gaps"`
	LostFrames      uint64               `json:"lost_frames"` // frames the source reports lost upstream (device counter gaps, stream gaps) // blocks missing from the sequence the pipeline saw (queue drops included)
	Events          uint64               `json:"events"`      // spikes and threshold crossings binned
	Bins            uint64               `json:"bins"`
	CalibrationBins int                  `json:"calibration_bins"`
	Commands        uint64               `json:"commands"`
	PublishErrors   uint64               `json:"publish_errors"`
	R2Vel           *float64             `json:"r2_vel"`      // mean over vx, vy; null before any decoded bin
	R2VelDims       []float64            `json:"r2_vel_dims"` // vx, vy
	Latency         Quantiles            `json:"latency_us"`  // arrival → command published
	Stages          map[string]Quantiles `json:"stages_us"`
	StimPatterns    uint64               `json:"stim_patterns"`
	StimPulses      uint64               `json:"stim_pulses"` // pulses passed to the sink
	StimRefused     uint64               `json:"stim_refused"`
	StimClipped     uint64               `json:"stim_clipped"`
	StimErrors      uint64               `json:"stim_errors"`
	StimByRule      map[string]uint64    `json:"stim_by_rule,omitempty"`   // refused or clipped pulse trains per safety rule
	WatchdogTrips   uint64               `json:"watchdog_trips,omitempty"` // times stale input turned stimulation off
	RecordPath      string               `json:"record_path,omitempty"`    // run.record.path
	RecordErrors    uint64               `json:"record_errors,omitempty"`  // appends or writes that failed (counted, never silent)
	Experiment      *ExperimentSummary   `json:"experiment,omitempty"`     // the experiment's figures (experiment.type), in the final summary only
	// After warm-up (run.warmup past the decoder being ready; deadline.go):
	Warm               bool    `json:"warm"`                 // the warm-up has ended; latencies count from then
	WarmupS            float64 `json:"warmup_s"`             // stream time at which it ended
	DeadlineUS         float64 `json:"deadline_us"`          // run.deadline; 0: off
	DeadlineMisses     uint64  `json:"deadline_misses"`      // blocks processed later than run.deadline
	DroppedAfterWarmup uint64  `json:"dropped_after_warmup"` // blocks dropped by back-pressure
	GCCycles           *uint64 `json:"gc_cycles"`            // GC cycles completed (runtime/metrics); null before the end of warm-up
	AllocBytes         uint64  `json:"alloc_bytes"`          // heap bytes allocated by the whole process (runtime/metrics)
	Error              string  `json:"error,omitempty"`
	// Task holds the closed-loop task's metrics per phase (task.type not
	// none; see TaskSummary).
	Task *TaskSummary `json:"task,omitempty"`
	// Session holds the JetStream session's figures (session.name set).
	Session *SessionSummary `json:"session,omitempty"`

	// Bins with lost frames (dropped blocks, source losses) and what was done
	// with them (drops.go, decode.PartialRule).
	BinsPartial         uint64 `json:"bins_partial"`         // bins emitted with frames lost
	BinsScaled          uint64 `json:"bins_scaled"`          // decoded from counts scaled to the full bin
	BinsPredicted       uint64 `json:"bins_predicted"`       // too few frames: the decoder's prediction alone
	BinsSkipped         uint64 `json:"bins_skipped"`         // too few frames, decoder without a predict step: no command
	BinsMissed          uint64 `json:"bins_missed"`          // bins wholly lost, stepped over by prediction
	CalibrationScaled   uint64 `json:"calibration_scaled"`   // partial calibration bins, counts scaled to the full bin
	CalibrationExcluded uint64 `json:"calibration_excluded"` // bins with too few frames left out of calibration
}

// Summary returns the figures so far; wall is the run's wall-clock time.
//
// Summary reads the decoder's accuracy accumulator, which the pipeline
// goroutine writes: call it from that goroutine, or once Run has returned.
func (l *Loop) Summary(wall time.Duration) Summary {
	s := l.snapshot(wall)
	if l.r2.Count() > 1 {
		s.R2VelDims = l.r2.R2To(nil)
		m := (s.R2VelDims[0] + s.R2VelDims[1]) / 2
		s.R2Vel = &m
		l.r2Last.Store(math.Float64bits(m))
	}
	if l.task != nil {
		s.Task = l.task.task.Summary(l.decName)
	}
	if l.sess != nil {
		s.Session = l.sess.summary()
	}
	return s
}

// snapshot returns the figures any goroutine may read (counters, limit and
// watchdog statistics, latency histograms), with R² as of the last status
// line.
func (l *Loop) snapshot(wall time.Duration) Summary {
	s := Summary{
		Rig: l.cfg.Rig, Mode: "realtime", NATSURL: l.url,
		SimSeconds:  float64(l.simSamples.Load()) / l.rate,
		WallSeconds: wall.Seconds(),
		Blocks:      l.blocks.Load(), Dropped: l.dropped.Load(), SeqGaps: l.seqGaps.Load(), LostFrames: l.lostFrames.Load(), Events: l.events.Load(), Bins: l.bins.Load(),
		CalibrationBins: l.calibBins,
		Commands:        l.commands.Load(), PublishErrors: l.pubErrs.Load(),
		Latency:      l.e2e.Quantiles(),
		Stages:       map[string]Quantiles{},
		StimErrors:   l.stimErrs.Load(),
		RecordPath:   l.cfg.Run.Record.Path,
		RecordErrors: l.recErrs.Load(),
	}
	if l.cfg.Run.Lockstep {
		s.Mode = "lockstep"
	}
	s.BinsPartial, s.BinsScaled, s.BinsPredicted = l.partial.partial.Load(), l.partial.scaled.Load(), l.partial.predicted.Load()
	s.BinsSkipped, s.BinsMissed, s.CalibrationExcluded = l.partial.skipped.Load(), l.partial.missed.Load(), l.partial.calib.Load()
	s.CalibrationScaled = l.partial.calibScaled.Load()
	for k, h := range l.lat {
		s.Stages[k] = h.Quantiles()
	}
	l.afterWarmup(&s)
	if b := l.r2Last.Load(); b != 0 {
		m := math.Float64frombits(b)
		s.R2Vel = &m
	}
	if l.limit != nil {
		ls := l.limit.Stats()
		s.StimPatterns, s.StimPulses, s.StimRefused, s.StimClipped = ls.Patterns, ls.Passed, ls.Refused, ls.Clipped
		s.addByRule(&ls.ByRule)
	}
	if l.dog != nil {
		ws := l.dog.Stats()
		s.WatchdogTrips = ws.Trips
		s.StimRefused += ws.Refused
		s.addByRule(&ws.ByRule)
	}
	return s
}

// statusTicker emits one status line (and, when enabled, one NATS status
// message) per status interval of wall time, checked from the pipeline
// goroutine between blocks: no goroutine, no per-block log.
type statusTicker struct {
	l     *Loop
	every int64
	next  int64
	start time.Time
}

func newStatusTicker(l *Loop) *statusTicker {
	every := l.cfg.Run.Status.Nanoseconds()
	return &statusTicker{l: l, every: every, next: acquire.Now() + every, start: time.Now()}
}

func (t *statusTicker) maybe() {
	now := acquire.Now()
	if now < t.next {
		return
	}
	t.next = now + t.every
	s := t.l.Summary(time.Since(t.start))
	ev := t.l.log.Info().
		Float64("sim_s", s.SimSeconds).
		Uint64("blocks", s.Blocks).
		Uint64("dropped", s.Dropped).
		Uint64("commands", s.Commands).
		Float64("p50_us", s.Latency.P50).
		Float64("p99_us", s.Latency.P99).
		Uint64("stim_pulses", s.StimPulses).
		Uint64("stim_refused", s.StimRefused)
	if s.R2Vel != nil {
		ev = ev.Float64("r2_vel", *s.R2Vel)
	} else {
		ev = ev.Str("decoder", "calibrating")
	}
	ev.Msg("status")
	if t.l.cfg.Publish.Status && t.l.nc != nil {
		if b, err := json.Marshal(s); err == nil {
			t.l.publish(t.l.subjStatus, b)
		}
	}
}

// addByRule adds per-rule counts of refused or clipped pulse trains.
func (s *Summary) addByRule(by *[stimulate.NumRules]uint64) {
	for r, n := range by {
		if n > 0 {
			if s.StimByRule == nil {
				s.StimByRule = map[string]uint64{}
			}
			s.StimByRule[stimulate.Rule(r).String()] += n
		}
	}
}
