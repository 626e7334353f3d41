package loop

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/rs/zerolog"

	"github.com/bciloop/bciloop/acquire"
	"github.com/bciloop/bciloop/decode"
	"github.com/bciloop/bciloop/sim"
	"github.com/bciloop/bciloop/stimulate"
)

// Stage names of the latency histograms, in pipeline order. Every figure is
// measured from the block's arrival stamp (acquire.Block.Arrived).
const (
	StageQueue   = "queue"   // block taken by the pipeline goroutine
	StageDecode  = "decode"  // estimate ready
	StagePublish = "publish" // command handed to the NATS connection
	StageStim    = "stim"    // stimulation applied in the synthetic brain
)

// Loop is one built pipeline: source → binner → decoder → NATS commands →
// controller → Limit → stimulator. Build sizes everything and opens nothing
// slow; Run connects to NATS and runs until the duration, the end of the
// source, or ctx.
type Loop struct {
	cfg Config
	log zerolog.Logger

	brain    *sim.MotorCortex // the synthetic brain, when the source is one
	src      acquire.Source
	channels int
	rate     float64
	stages   []stage
	evaluate bool // decoded vs true velocity
	binner   *decode.SpikeBinner
	frames   int // frames per bin

	dec        decode.Decoder
	decName    string
	stateNames []string
	truthNames []string
	velState   [2]int // indices of vx, vy in the decoder's state
	velTruth   [2]int // indices of vx, vy in the source's ground truth
	kind       decoderKind
	fitCols    []int // truth columns the decoder is fitted on

	calibBins int
	calib     []decode.Bin // calibration bins: counts and the fitted truth columns

	ctrl     stimulate.Controller // the controller behind a panic guard
	ctrlRaw  stimulate.Controller
	feat     *features              // the feature stage of the feature controllers (controllers.go)
	featEmit func(*decode.Estimate) // l.control, bound once
	exp      *experiment            // the experiment's measurements (experiment.go), or nil
	limit    *stimulate.Limit
	dog      *stimulate.Watchdog  // real time only
	stim     stimulate.Stimulator // the head of the chain: watchdog or limit

	metrics      *metricsServer
	metricsAddr  atomic.Pointer[string]
	decoderReady atomic.Bool
	r2Last       atomic.Uint64 // float64 bits of the last R² computed on the pipeline goroutine

	// session on JetStream (nil when session.name is empty; session.go)
	sess       *sessionRecorder
	subjCursor string

	// recording from run (nil when run.record.path is empty)
	rec     *acquire.Recorder
	stimEv  acquire.StimEvent
	recErrs atomic.Uint64

	// NATS
	srv                                                  *EmbeddedServer
	nc                                                   *nats.Conn
	url                                                  string
	subjCmd, subjSpikes, subjBins, subjProbe, subjStatus string
	cmdEnc                                               *commandEncoder
	probe                                                probeEncoder
	// pending probe: published at sample probeAt, half a bin after its command
	probeSeq  uint64
	probeSize int
	probeAt   int64
	wireBuf   []byte

	// per-iteration scratch, reused
	bin     decode.Bin
	est     decode.Estimate
	pattern stimulate.Pattern
	velPred [2]float64
	velTrue [2]float64
	r2      *decode.R2

	// figures (atomics: read by status publishing from the same goroutine,
	// and by Stats from any)
	blocks, dropped, bins, commands, pubErrs, stimErrs atomic.Uint64
	lastSeq                                            uint64
	seen                                               bool
	seqGaps                                            atomic.Uint64
	events                                             atomic.Uint64 // spikes and threshold crossings binned
	lostFrames                                         atomic.Uint64 // frames the source reports lost upstream (Block.Dropped)
	partial                                            partialCounts // bins with lost frames and how they were handled (drops.go)
	lat                                                map[string]*Latency
	e2e                                                *Latency // arrival → publish
	simSamples                                         atomic.Int64
	timing                                             timing // deadline misses and figures after warm-up (deadline.go)

	task *taskRun // the closed-loop cursor task and its simulated user (task_loop.go), or nil
}

// BuildSource builds the source cfg names (today the synthetic brain, as an
// *acquire.SimSource paced in real time unless cfg.Run.Lockstep).
// onApplied, when not nil, is called with the arrival stamp of each
// stimulus and the time it was applied in the brain. Build uses it; so do
// commands that read a config's source without the rest of the loop
// (bciloop record).
func BuildSource(cfg Config, onApplied func(arrived, applied int64)) (acquire.Source, error) {
	switch cfg.Source.Type {
	case "replay":
		rc := cfg.Source.Replay
		rc.Realtime = !cfg.Run.Lockstep
		r, err := acquire.OpenReplay(cfg.Source.Path, rc)
		if err != nil {
			return nil, fmt.Errorf("source.path: %w", err)
		}
		return r, nil
	case "serial":
		ctx, cancel := context.WithTimeout(context.Background(), 2*cfg.Source.Serial.HandshakeTimeout+5*time.Second)
		defer cancel()
		s, err := acquire.OpenSerial(ctx, cfg.Source.Serial)
		if err != nil {
			return nil, fmt.Errorf("source.serial: %w", err)
		}
		return s, nil
	case "sim":
	default:
		return nil, fmt.Errorf("source.type: cannot build %q sources", cfg.Source.Type)
	}
	brain, err := acquire.BuildSimBrain(cfg.Source.Preset, &cfg.Source.SimOptions, acquire.SimEnv{Clock: acquire.Now, OnApplied: onApplied})
	if err != nil {
		return nil, fmt.Errorf("source: %w", err)
	}
	frames := int(math.Round(cfg.Source.Block.Seconds() * brain.Rate()))
	if frames < 1 {
		return nil, fmt.Errorf("source.block: %v is shorter than one frame at %g Hz", cfg.Source.Block, brain.Rate())
	}
	src, err := acquire.NewSimBrainSource(brain, acquire.SimSourceConfig{BlockFrames: frames, Realtime: !cfg.Run.Lockstep},
		acquire.SimEnv{Clock: acquire.Now, OnApplied: onApplied})
	if err != nil {
		return nil, fmt.Errorf("source: %w", err)
	}
	return src, nil
}

// shapeOf returns the channel count, rate and ground-truth names of a built
// source. The synthetic brain and a serial board know theirs; a replay's
// come from its first block (read now and handed out again by the returned
// source) and its metadata.
func shapeOf(src acquire.Source) (acquire.Source, int, float64, []string, error) {
	switch s := src.(type) {
	case *acquire.SimSource:
		b := s.SimBrain()
		return src, b.Channels(), b.Rate(), b.TruthNames(), nil
	case *acquire.SerialSource:
		return src, s.Channels(), s.Rate(), nil, nil
	case *acquire.Replay:
		p, err := peek(s, time.Time{})
		if err != nil {
			return nil, 0, 0, nil, fmt.Errorf("source.path: reading the first block: %w", err)
		}
		return pacedPeek{p, s}, p.first.Channels, p.first.Rate, truthNames(s.Meta(), p.first.TruthDims), nil
	case *acquire.NATSSource:
		p, err := peek(s, time.Now().Add(natsShapeWait))
		if err != nil {
			return nil, 0, 0, nil, fmt.Errorf("source.nats: no valid block within %v to learn the stream's shape: %w", natsShapeWait, err)
		}
		return p, p.first.Channels, p.first.Rate, nil, nil
	}
	return nil, 0, 0, nil, fmt.Errorf("source: cannot tell the shape of %T", src)
}

// truthNames reads the ground-truth names a recording's metadata gives
// (recordings made by run carry "truth"), naming columns x0, x1, … when it
// gives none.
func truthNames(meta []byte, dims int) []string {
	var m struct {
		Truth  []string `json:"truth"`
		Source string   `json:"source"`
	}
	_ = json.Unmarshal(meta, &m)
	if len(m.Truth) == dims {
		return m.Truth
	}
	if names := sim.MotorCortexTruthNames(); m.Source == "sim" && dims == len(names) {
		return names
	}
	n := make([]string, dims)
	for i := range n {
		n[i] = fmt.Sprintf("x%d", i)
	}
	return n
}

// natsShapeWait bounds the wait for a NATS stream's first block at Build.
const natsShapeWait = 10 * time.Second

// peeked is a source whose first block was read at Build to learn the
// stream's shape; Read hands it out first.
type peeked struct {
	acquire.Source
	first acquire.Block
	have  bool
}

// peek reads the first block of src (before deadline, when not zero).
func peek(src acquire.Source, deadline time.Time) (*peeked, error) {
	ctx := context.Background()
	if !deadline.IsZero() {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, deadline)
		defer cancel()
	}
	p := &peeked{Source: src}
	if err := src.Read(ctx, &p.first); err != nil {
		return nil, err
	}
	p.have = true
	return p, nil
}

func (p *peeked) Read(ctx context.Context, b *acquire.Block) error {
	if p.have {
		p.have = false
		p.first.CopyTo(b)
		return nil
	}
	return p.Source.Read(ctx, b)
}

// pacedPeek keeps a peeked replay's pacing (acquire.Paced), so the loop
// reads it on the pipeline goroutine.
type pacedPeek struct {
	*peeked
	r *acquire.Replay
}

func (p pacedPeek) Due() int64 { return p.r.Due() }

// Build validates cfg and builds the loop. It opens nothing slow (no network,
// no device); a parameter file named by the config is read.
func Build(cfg Config, log zerolog.Logger) (_ *Loop, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, &ConfigError{Name: "config", Errs: flatten(err)}
	}
	l := &Loop{cfg: cfg, log: log.With().Str("component", "loop").Logger(),
		lat: map[string]*Latency{StageQueue: NewLatency(), StageDecode: NewLatency(), StagePublish: NewLatency(), StageStim: NewLatency(),
			StagePace: NewLatency(), StageStages: NewLatency(), StageBin: NewLatency(), StageBlock: NewLatency()},
		e2e: NewLatency(),
	}
	// Source.
	stimLat := l.lat[StageStim]
	var src acquire.Source
	if cfg.Source.Type == "nats" {
		// A remote stream: connect now, to learn its shape from its
		// first block.
		if err := l.Connect(); err != nil {
			return nil, err
		}
		src, err = acquire.NewNATSSource(l.nc, cfg.Source.NATS)
	} else {
		src, err = BuildSource(cfg, func(arrived, applied int64) {
			if arrived > 0 {
				stimLat.Record(applied - arrived)
			}
		})
	}
	if err != nil {
		l.shutdownNATS()
		return nil, err
	}
	src, channels, rate, truth, err := shapeOf(src)
	if err != nil {
		l.shutdownNATS()
		return nil, err
	}
	if ss, ok := src.(*acquire.SimSource); ok {
		l.brain = ss.Brain()
	}
	l.src, l.channels, l.rate, l.truthNames = src, channels, rate, truth
	l.timing = newTiming(cfg.Run, rate)
	if l.stages, err = buildStages(cfg.Stages, channels, rate); err != nil {
		_ = src.Close()
		return nil, err
	}
	defer func() {
		if l.src != nil && err != nil {
			_ = l.src.Close()
		}
	}()

	// Binner.
	l.frames = int(math.Round(cfg.Bin.Width.Seconds() * rate))
	if l.frames < 1 {
		return nil, fmt.Errorf("bin.width: %v is shorter than one frame at %g Hz", cfg.Bin.Width, rate)
	}
	if l.binner, err = decode.NewSpikeBinner(channels, l.frames); err != nil {
		return nil, fmt.Errorf("bin: %w", err)
	}

	// Decoder: loaded now, or fitted during the run.
	l.decName = cfg.Decoder.Type
	l.kind = decoderKinds[cfg.Decoder.Type]
	if cfg.Decoder.Type == "poisson" && len(cfg.Decoder.Poisson.Axes) == 0 && len(cfg.Decoder.Poisson.Classes) == 0 {
		l.cfg.Decoder.Poisson.Axes = defaultPoissonAxes(poissonSpeed(&cfg))
	}
	// The truth columns the decoder is fitted on.
	l.fitCols = make([]int, 0, len(l.truthNames))
	for i, n := range l.truthNames {
		if !(l.kind.velocityOnly || taskVelocityOnly(&cfg)) || n == "vx" || n == "vy" {
			l.fitCols = append(l.fitCols, i)
		}
	}
	switch {
	case cfg.Decoder.Type == "none":
		// Stream only: stages, bins and spikes are published, nothing decoded.
	case cfg.Decoder.Fit == "file":
		p, err := loadDecoderParams(l.kind, cfg.Decoder.Params)
		if err != nil {
			return nil, fmt.Errorf("decoder.params: %w", err)
		}
		if n, ok := paramUnits(p); ok && n != channels {
			return nil, fmt.Errorf("decoder.params: %s fits %d channels but the source has %d", cfg.Decoder.Params, n, channels)
		}
		if l.dec, err = l.kind.build(&l.cfg.Decoder, p); err != nil {
			return nil, fmt.Errorf("decoder: %w", err)
		}
		l.decoderReady.Store(true)
		if sn, ok := l.dec.(decode.StateNamer); ok {
			l.stateNames = sn.StateNames()
		}
	case cfg.Decoder.Fit == "calibrate":
		if l.velTruthMissing() {
			return nil, fmt.Errorf("decoder.fit: calibrate needs ground truth with vx and vy, and this source has %v; fit from a parameter file (fit: file)", l.truthNames)
		}
		for _, c := range l.fitCols {
			l.stateNames = append(l.stateNames, l.truthNames[c])
		}
		if cfg.Decoder.Type == "poisson" {
			l.stateNames = l.stateNames[:0]
			for _, a := range l.cfg.Decoder.Poisson.Axes {
				l.stateNames = append(l.stateNames, a.Name)
			}
		}
		l.calibBins = int(cfg.Decoder.Calibration.Seconds() * rate / float64(l.frames))
		// Wu et al.'s Q (n×n, divisor T) is full rank only when T exceeds
		// channels + states; fail now rather than after the calibration.
		if need := channels + len(l.fitCols); strings.HasPrefix(cfg.Decoder.Type, "kalman") && l.calibBins <= need && cfg.Decoder.Kalman.QRidge == 0 {
			return nil, fmt.Errorf("decoder.calibration: %v gives %d bins of %v; fitting %d channels and %d states needs more than %d (or set decoder.kalman.q_ridge)",
				cfg.Decoder.Calibration, l.calibBins, cfg.Bin.Width, channels, len(l.fitCols), need)
		}
		l.calib = make([]decode.Bin, 0, l.calibBins)
	}
	l.velState = [2]int{index(l.stateNames, "vx"), index(l.stateNames, "vy")}
	// Decoded velocity is evaluated against the ground truth when both
	// have vx and vy.
	l.evaluate = l.velState[0] >= 0 && l.velState[1] >= 0 && !l.velTruthMissing()
	l.r2 = decode.NewR2(2)

	if err := l.buildTask(); err != nil {
		return nil, err
	}

	// Stimulation: controller → (watchdog) → Limit → sink. The NATS sink
	// needs the connection, so that chain is finished in Connect.
	if l.exp, err = newExperiment(l); err != nil {
		return nil, err
	}
	if cfg.Stimulate.Controller != "none" {
		ctl, err := l.buildController()
		if err != nil {
			return nil, err
		}
		l.ctrlRaw = ctl
		switch cfg.Stimulate.Sink {
		case "sim":
			target, electrodes, err := l.simTarget()
			if err != nil {
				return nil, err
			}
			if n := cfg.Stimulate.Limit.Electrodes; n > electrodes {
				return nil, fmt.Errorf("stimulate.limit.electrodes: %d, but the sim has %d electrodes", n, electrodes)
			}
			err = l.buildStim(l.exp.wrapSink(stimulate.NewSimSink(target)))
		case "pulsepal":
			var pp *stimulate.PulsePalSink
			if pp, err = stimulate.OpenPulsePal(cfg.Stimulate.PulsePal); err != nil {
				return nil, fmt.Errorf("stimulate.pulsepal: %w", err)
			}
			err = l.buildStim(pp)
		}
		if err != nil {
			return nil, err
		}
	}

	prefix := "bciloop." + cfg.Rig + "."
	l.subjCmd, l.subjSpikes, l.subjBins, l.subjProbe, l.subjStatus = prefix+"cmd", prefix+"spikes", prefix+"bins", prefix+"probe", prefix+"status"
	l.cmdEnc = newCommandEncoder(cfg.Rig, l.decName, l.stateNames)
	l.wireBuf = make([]byte, 0, acquire.WireHeaderSize+4096*12)
	l.pattern.Pulses = make([]stimulate.Pulse, 0, 8)
	return l, nil
}

// buildStim builds the chain in front of sink: the safety Limit, in real
// time the watchdog before it, and the controller wrapped so that a panic
// turns stimulation off.
func (l *Loop) buildStim(sink stimulate.Stimulator) error {
	lc := l.cfg.Stimulate.Limit
	lc.Clock = acquire.Now
	if ss, ok := l.src.(*acquire.SimSource); ok && l.cfg.Run.Lockstep {
		// Deterministic rate accounting: time from the sample clock.
		brain, rate := ss.SimBrain(), l.rate
		lc.Clock = func() int64 { return int64(float64(brain.Sample()) * 1e9 / rate) }
	}
	limit, err := stimulate.NewLimit(sink, lc, l.log.With().Str("component", "limit").Logger())
	if err != nil {
		_ = sink.Close()
		return fmt.Errorf("stimulate.limit: %w", err)
	}
	l.limit, l.stim = limit, limit
	if !l.cfg.Run.Lockstep {
		// A lockstep run has no wall clock to go stale against.
		dog, err := stimulate.NewWatchdog(limit, l.cfg.Stimulate.Watchdog, acquire.Now, l.log.With().Str("component", "watchdog").Logger())
		if err != nil {
			_ = limit.Close()
			return fmt.Errorf("stimulate.watchdog: %w", err)
		}
		l.dog, l.stim = dog, dog
	}
	safe, err := stimulate.NewSafeController(l.ctrlRaw, l.stim, l.log.With().Str("component", "controller").Logger())
	if err != nil {
		return fmt.Errorf("stimulate: %w", err)
	}
	l.ctrl = safe
	return nil
}

// velTruthMissing reports whether the source's ground truth lacks vx or vy.
func (l *Loop) velTruthMissing() bool {
	l.velTruth = [2]int{index(l.truthNames, "vx"), index(l.truthNames, "vy")}
	return l.velTruth[0] < 0 || l.velTruth[1] < 0
}

func index(names []string, n string) int {
	for i, s := range names {
		if s == n {
			return i
		}
	}
	return -1
}

// URL returns the NATS URL in use once Run has connected.
func (l *Loop) URL() string { return l.url }

// Connect starts the embedded server (no URL configured) or connects to the
// external one. Run calls it when it has not been called.
func (l *Loop) Connect() error {
	if l.nc != nil {
		return nil
	}
	url := l.cfg.NATS.URL
	var extra []nats.Option
	if url == "" {
		srv, err := StartEmbeddedStore(l.cfg.NATS.Listen, l.cfg.NATS.StoreDir)
		if err != nil {
			return err
		}
		l.srv, url = srv, srv.URL()
		l.log.Info().Str("url", url).Msg("embedded nats-server listening")
		// No write deadline on the in-memory pipe: net.Pipe arms a timer
		// (an allocation) per deadline, i.e. per flush, and a pipe to the
		// server in this very process does not stall on the network.
		extra = append(extra, srv.InProcess(), nats.FlusherTimeout(0))
	}
	nc, err := Connect(url, &l.cfg.NATS, l.log, extra...)
	if err != nil {
		if l.srv != nil {
			l.srv.Shutdown()
			l.srv = nil
		}
		return err
	}
	l.nc, l.url = nc, url
	if l.cfg.Stimulate.Controller != "none" && l.cfg.Stimulate.Sink == "nats" && l.stim == nil {
		sink, err := stimulate.NewNATSPublishSink(nc, "bciloop."+l.cfg.Rig+".stim")
		if err != nil {
			return err
		}
		if err := l.buildStim(sink); err != nil {
			return err
		}
	}
	return nil
}

// Run runs the loop until cfg.Run.Duration of stream time has passed, the
// source ends, or ctx is done (a clean stop, not an error). On the way out
// it zeroes the stimulator, flushes NATS and returns the summary.
func (l *Loop) Run(ctx context.Context) (Summary, error) {
	if err := l.Connect(); err != nil {
		return l.Summary(0), err
	}
	if err := l.startRecording(); err != nil {
		l.shutdown()
		return l.Summary(0), err
	}
	defer l.tuneGC()()
	if err := l.startSession(); err != nil {
		l.shutdown()
		return l.Summary(0), err
	}
	if mc := l.cfg.Run.Metrics; mc.Listen != "" && l.metrics == nil {
		m, err := startMetrics(l, mc)
		if err != nil {
			l.shutdown()
			return l.Summary(0), err
		}
		l.metrics = m
		addr := m.addr.String()
		l.metricsAddr.Store(&addr)
		l.log.Info().Str("url", "http://"+m.addr.String()+"/metrics").Bool("pprof", mc.Pprof).Msg("serving metrics")
	}
	start := time.Now()
	runErr := l.run(ctx)
	wall := time.Since(start)
	l.shutdown()
	s := l.Summary(wall)
	if l.exp != nil {
		// Offline figures (filtering the whole run): in the final summary
		// only, never in the status lines of the pipeline goroutine.
		s.Experiment = l.exp.summary()
	}
	if runErr != nil {
		s.Error = runErr.Error()
	}
	return s, runErr
}

func (l *Loop) run(ctx context.Context) error {
	maxSamples := int64(math.MaxInt64)
	if d := l.cfg.Run.Duration; d > 0 {
		maxSamples = int64(math.Round(d.Seconds() * l.rate))
	}
	st := newStatusTicker(l)
	if l.cfg.Run.Lockstep {
		var b acquire.Block
		for l.simSamples.Load() < maxSamples {
			if ctx.Err() != nil {
				return nil
			}
			if err := l.src.Read(ctx, &b); err != nil {
				return l.sourceEnd(ctx, err)
			}
			if err := l.Process(&b); err != nil {
				return err
			}
			st.maybe()
		}
		return nil
	}
	if paced, ok := l.src.(acquire.Paced); ok {
		return l.runPaced(ctx, paced, maxSamples, st)
	}
	// Real time: the source runs on its own goroutine (its I/O boundary)
	// through a fixed pool of blocks; when the pipeline falls behind, the
	// oldest queued block is dropped and counted.
	q := newBlockQueue(l.cfg.Run.Queue)
	rctx, cancel := context.WithCancel(ctx)
	readErr := make(chan error, 1)
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		runtime.LockOSThread() // precise pacing sleeps on a dedicated thread
		defer runtime.UnlockOSThread()
		_ = acquire.PrecisePacing() // best effort: only the wake-up tail depends on it
		readErr <- q.fill(rctx, l.src, &l.dropped)
	}()
	defer func() { cancel(); <-readerDone }()
	for l.simSamples.Load() < maxSamples {
		select {
		case b := <-q.full:
			err := l.Process(b)
			q.free <- b
			if err != nil {
				return err
			}
			st.maybe()
		case err := <-readErr:
			return l.sourceEnd(ctx, err)
		case <-ctx.Done():
			return nil
		}
	}
	return nil
}

// runPaced runs a self-pacing source (the synthetic brain in real time) on
// the pipeline goroutine, locked to its OS thread so that the source's
// precise sleeps wake this very goroutine: no goroutine hop between a
// block's generation and its command. Back-pressure is drop-oldest as with
// the queue: a block already older than the queue's span when it is read
// (the pipeline fell behind by more than run.queue blocks) is dropped and
// counted; the binner sees the gap.
func (l *Loop) runPaced(ctx context.Context, src acquire.Paced, maxSamples int64, st *statusTicker) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	_ = acquire.PrecisePacing() // best effort: only the wake-up tail depends on it
	var b acquire.Block
	maxLate := int64(-1)
	for l.simSamples.Load() < maxSamples {
		if ctx.Err() != nil {
			return nil
		}
		if err := src.Read(ctx, &b); err != nil {
			return l.sourceEnd(ctx, err)
		}
		if maxLate < 0 {
			maxLate = int64(float64(l.cfg.Run.Queue) * float64(b.Frames) / b.Rate * 1e9)
		}
		if b.Arrived-src.Due() > maxLate {
			l.dropped.Add(1)
			l.lastSeq, l.seen = b.Seq, true // a counted drop, not a gap
			l.simSamples.Store(b.End())
			continue
		}
		l.timing.due = src.Due()
		if err := l.Process(&b); err != nil {
			return err
		}
		st.maybe()
	}
	return nil
}

func (l *Loop) sourceEnd(ctx context.Context, err error) error {
	if errors.Is(err, io.EOF) || ctx.Err() != nil {
		return nil
	}
	return fmt.Errorf("source: %w", err)
}

// Process runs one block through the pipeline on the calling goroutine:
// bin, decode every completed bin, publish, control, stimulate. After
// warm-up (and calibration) it does not allocate.
func (l *Loop) Process(b *acquire.Block) error {
	now := acquire.Now()
	l.lat[StageQueue].Record(now - b.Arrived)
	l.blocks.Add(1)
	if l.seen && b.Seq != l.lastSeq+1 {
		// Blocks missing from the sequence: dropped by the real-time queue
		// (also counted in dropped) or lost upstream by the source.
		l.seqGaps.Add(b.Seq - l.lastSeq - 1)
	}
	l.lastSeq, l.seen = b.Seq, true
	l.simSamples.Store(b.End())
	if l.probeSeq != 0 && b.End() >= l.probeAt {
		l.publish(l.subjProbe, l.probe.encode(l.probeSeq, acquire.Now(), l.probeSize))
		l.probeSeq = 0
	}
	for _, st := range l.stages {
		if err := st.apply(b); err != nil {
			return fmt.Errorf("stage: %w", err)
		}
	}
	if len(l.stages) > 0 {
		l.lat[StageStages].Record(acquire.Now() - b.Arrived)
	}
	if l.dog != nil {
		l.dog.Feed(b.Arrived)
	}
	l.events.Add(uint64(len(b.Spikes)))
	l.lostFrames.Add(b.Dropped)
	if err := l.binner.Add(b); err != nil {
		return fmt.Errorf("bin: %w", err)
	}
	if l.exp != nil {
		l.exp.block(b)
	}
	if l.feat != nil && l.ctrl != nil {
		l.feat.process(b, l.featEmit)
	}
	if l.rec != nil {
		l.record(l.rec.AppendBlock(b))
	}
	if l.cfg.Publish.Spikes {
		l.wireBuf = acquire.AppendSpikesMessage(l.wireBuf[:0], b)
		l.publish(l.subjSpikes, l.wireBuf)
	}
	for l.binner.Next(&l.bin) {
		l.bins.Add(1)
		l.partial.note(&l.bin)
		l.lat[StageBin].Record(acquire.Now() - l.bin.Arrived)
		if l.cfg.Publish.Bins {
			l.wireBuf = AppendBinsMessage(l.wireBuf[:0], &l.bin)
			l.publish(l.subjBins, l.wireBuf)
		}
		if l.dec == nil {
			if l.calibBins == 0 {
				continue // decoder.type none
			}
			if l.excludeFromCalibration() {
				continue
			}
			if err := l.calibrate(); err != nil {
				return err
			}
			if l.task != nil {
				l.taskOpenLoop()
			}
			continue
		}
		if err := l.decodeBin(); err != nil {
			return err
		}
	}
	if l.sess != nil {
		// After its bins: a decoder fitted on this block's bins is in the
		// session before the block (session_replay.go relies on it).
		l.sess.block(b)
	}
	l.endBlock(b)
	return nil
}

func (l *Loop) decodeBin() error {
	ok, err := l.decodePartial()
	if err != nil || !ok {
		return err
	}
	arrived := l.est.Arrived
	l.lat[StageDecode].Record(acquire.Now() - arrived)
	if l.evaluate && len(l.bin.Truth) > 0 {
		l.velPred = [2]float64{l.est.State[l.velState[0]], l.est.State[l.velState[1]]}
		l.velTrue = [2]float64{l.bin.Truth[l.velTruth[0]], l.bin.Truth[l.velTruth[1]]}
		l.r2.Add(l.velPred[:], l.velTrue[:])
	}
	if l.task != nil {
		if err := l.taskClosedLoop(); err != nil {
			return err
		}
	}
	if l.cfg.Publish.Commands {
		seq := l.commands.Add(1)
		sent := acquire.Now()
		msg := l.cmdEnc.encode(seq, &l.est, sent)
		l.publish(l.subjCmd, msg)
		done := acquire.Now()
		if l.rec != nil {
			l.record(l.rec.AppendCommand(msg))
		}
		l.lat[StagePublish].Record(done - arrived)
		l.e2e.Record(done - arrived)
		if l.cfg.Publish.Probe {
			// The probe goes out on its own, half a bin later, so that it
			// shares no flush with the command it is compared with.
			l.probeSeq, l.probeSize = seq, len(msg)
			l.probeAt = l.est.Sample + int64(l.frames/2)
		}
	}
	if l.ctrl != nil && l.feat == nil {
		l.control(&l.est)
	}
	return nil
}

func (l *Loop) publish(subj string, data []byte) {
	if l.sess != nil {
		l.tee(subj, data)
	}
	if err := l.nc.Publish(subj, data); err != nil {
		if l.pubErrs.Add(1) == 1 {
			l.log.Warn().Err(err).Str("subject", subj).Msg("publish failed (counted; further failures are only counted)")
		}
	}
}

// calibrate collects the bin for calibration (its counts and the fitted
// truth columns) and fits the decoder once enough bins are in. Fitting
// allocates, once.
func (l *Loop) calibrate() error {
	if len(l.bin.Truth) == 0 {
		return errors.New("decoder: fit: calibrate needs ground truth from the source, and this source has none")
	}
	b := l.bin
	b.Counts = append([]float64(nil), l.bin.Counts...)
	b.Truth = make([]float64, len(l.fitCols))
	for i, c := range l.fitCols {
		b.Truth[i] = l.bin.Truth[c]
	}
	l.calib = append(l.calib, b)
	if len(l.calib) < l.calibBins {
		return nil
	}
	t0 := time.Now()
	p, err := l.kind.fit(&l.cfg.Decoder, l.calib, l.stateNames)
	if err != nil {
		return fmt.Errorf("decoder: fitting %s on %d calibration bins: %w", l.decName, len(l.calib), err)
	}
	dec, err := l.kind.build(&l.cfg.Decoder, p)
	if err != nil {
		return fmt.Errorf("decoder: %w", err)
	}
	if l.cfg.Decoder.Save != "" {
		if err := decode.WriteFileAtomic(l.cfg.Decoder.Save, func(w io.Writer) error { return l.kind.write(w, p) }); err != nil {
			return fmt.Errorf("decoder.save: %w", err)
		}
	}
	l.dec = dec
	l.decoderReady.Store(true)
	l.calib = nil
	l.log.Info().Str("decoder", l.decName).Int("bins", l.calibBins).Dur("fit", time.Since(t0)).Msg("decoder calibrated")
	return nil
}

// startRecording creates the run.record file (when configured); Run calls
// it after connecting.
func (l *Loop) startRecording() error {
	rc := l.cfg.Run.Record
	if rc.Path == "" || l.rec != nil {
		return nil
	}
	meta, err := json.Marshal(map[string]any{"format": "bciloop recording", "version": acquire.RecordingVersion,
		"created": time.Now().UTC().Format(time.RFC3339Nano), "rig": l.cfg.Rig, "source": l.cfg.Source.Type,
		"decoder": l.decName, "state": l.stateNames, "truth": l.truthNames, "lockstep": l.cfg.Run.Lockstep})
	if err != nil {
		return err
	}
	if l.rec, err = acquire.CreateRecording(rc.Path, meta, rc.RecorderConfig); err != nil {
		return fmt.Errorf("run.record: %w", err)
	}
	l.stimEv.Pulses = make([]acquire.StimPulse, 0, 8)
	return nil
}

// shutdownNATS flushes and closes the connection and stops the embedded
// server.
func (l *Loop) shutdownNATS() {
	if l.nc != nil {
		if err := l.nc.FlushTimeout(2 * time.Second); err != nil {
			l.log.Warn().Err(err).Msg("flushing nats")
		}
		l.nc.Close()
		l.nc = nil
	}
	if l.srv != nil {
		l.srv.Shutdown()
		l.srv = nil
	}
}

// record counts a recorder error (the recorder falling behind the disk, or
// a failed write): the loop goes on, the loss is reported, never silent.
func (l *Loop) record(err error) {
	if err != nil && l.recErrs.Add(1) == 1 {
		l.log.Warn().Err(err).Msg("recording: append failed (counted; further failures are only counted)")
	}
}

// recordStim records the pattern the controller asked for, with what the
// safety Limit made of it.
func (l *Loop) recordStim(outcome acquire.StimOutcome) {
	ev := &l.stimEv
	ev.Seq, ev.Sample, ev.Arrived, ev.Outcome = l.pattern.Seq, l.pattern.Sample, l.pattern.Arrived, outcome
	ev.Pulses = ev.Pulses[:0]
	for _, p := range l.pattern.Pulses {
		ev.Pulses = append(ev.Pulses, acquire.StimPulse{Electrode: int32(p.Electrode), Count: int32(p.Count),
			AmplitudeUA: p.AmplitudeUA, PhaseUS: p.PhaseUS, GapUS: p.GapUS, FreqHz: p.FreqHz})
	}
	if l.rec != nil {
		l.record(l.rec.AppendStim(ev))
	}
	if l.sess != nil {
		l.sess.stim(acquire.Now(), ev)
	}
}

// shutdown zeroes the stimulator, then flushes and closes NATS and the
// recording, and stops serving metrics.
func (l *Loop) shutdown() {
	if l.metrics != nil {
		defer l.metrics.close()
	}
	if l.stim != nil {
		if err := l.stim.Close(); err != nil {
			l.log.Warn().Err(err).Msg("closing the stimulator")
		}
	}
	_ = l.src.Close()
	if l.sess != nil {
		l.sess.close() // every message acknowledged, or drain_timeout
	}
	l.shutdownNATS()
	if l.rec != nil {
		if err := l.rec.Close(); err != nil {
			l.record(err)
		}
	}
}
