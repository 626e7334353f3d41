package sim

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bciloop/bciloop/model"
)

// MotorNetConfig configures a MotorNet. Positions and velocities are in cm
// and cm/s, geometry in µm, currents in pA, conductances in nS.
type MotorNetConfig struct {
	Seed    uint64  `yaml:"seed"`    // seed of every random draw
	RateHz  float64 `yaml:"rate_hz"` // frames per second: the sample clock of spikes and truth
	DtMs    float64 `yaml:"dt_ms"`   // network step; a frame must be a whole number of steps
	Threads int     `yaml:"threads"` // network threads; results do not depend on it

	// Network: Excitatory + Inhibitory conductance-based LIF neurons
	// (model.VogelsAbbottLIF, τ_e = 5 ms, τ_i = 10 ms), every pair
	// connected with probability ConnP (delay DelayMs), weights WeNS from
	// E and WiNS from I; constant currents EBasePA into E and IBasePA into
	// I; every neuron receives BackgroundN independent Poisson inputs at
	// BackgroundHz through BackgroundNS conductances.
	Excitatory   int     `yaml:"excitatory"`
	Inhibitory   int     `yaml:"inhibitory"`
	ConnP        float64 `yaml:"conn_p"`
	WeNS         float64 `yaml:"we_ns"`
	WiNS         float64 `yaml:"wi_ns"`
	DelayMs      float64 `yaml:"delay_ms"`
	EBasePA      float64 `yaml:"e_base_pa"`
	IBasePA      float64 `yaml:"i_base_pa"`
	BackgroundN  int     `yaml:"background_n"`
	BackgroundHz float64 `yaml:"background_hz"`
	BackgroundNS float64 `yaml:"background_ns"`

	// Tuned drive: excitatory neuron i receives afferent input at rate
	// λ_i = max(0, b_i + m_i·(v·d_i)/RefSpeed), taken at its mean, through
	// DriveNS conductances, d_i = (cos θ_i, sin θ_i), with b_i uniform in
	// [DriveMinHz, DriveMaxHz], m_i uniform in [ModulationMinHz,
	// ModulationMaxHz], θ_i uniform in [0, 2π).
	DriveMinHz      float64 `yaml:"drive_min_hz"`
	DriveMaxHz      float64 `yaml:"drive_max_hz"`
	ModulationMinHz float64 `yaml:"modulation_min_hz"`
	ModulationMaxHz float64 `yaml:"modulation_max_hz"`
	DriveNS         float64 `yaml:"drive_ns"`
	RefSpeed        float64 `yaml:"ref_speed"` // v_ref, cm/s

	// Latent intended velocity, as MotorCortex: per axis a second-order
	// low-pass of white noise with time constant VelocityTau and RMS speed
	// SpeedRMS; the position is reflected at ±Workspace.
	SpeedRMS    float64       `yaml:"speed_rms"`
	VelocityTau time.Duration `yaml:"velocity_tau"`
	Workspace   float64       `yaml:"workspace"`

	// Sheet places the neurons and the electrode array (Sheet; Grid 10 is
	// the 96-site Utah-like array). Sheet.StimQueue bounds the pending and
	// ongoing pulse trains of Stimulate.
	Sheet Sheet `yaml:"sheet"`

	// Recording: electrode k records the n_k nearest neurons within
	// RecordRadiusUM not recorded by another electrode, n_k uniform in
	// [UnitsMin, UnitsMax] (at most 3: units 0..2 nearest first); each
	// spike of a recorded neuron is missed with probability MissProb, and
	// each electrode reports false-positive spikes at FalsePositiveHz,
	// assigned to one of its units at random.
	UnitsMin        int     `yaml:"units_min"`
	UnitsMax        int     `yaml:"units_max"`
	RecordRadiusUM  float64 `yaml:"record_radius_um"`
	MissProb        float64 `yaml:"miss_prob"`
	FalsePositiveHz float64 `yaml:"false_positive_hz"`

	// Clock returns the monotonic time in ns used for OnApplied; nil means
	// the runtime's monotonic clock (the same as acquire.Now).
	Clock func() int64 `yaml:"-"`
	// OnApplied, when set, is called from Advance's goroutine once per
	// stimulus, at the end of the frame of its first pulse, with the
	// stimulus's Arrived stamp and applied = Clock(). It must not block and
	// must not call Advance; it may call Stimulate.
	OnApplied func(arrived, applied int64) `yaml:"-"`
}

// MaxUnitsPerElectrode is the most units an electrode of a MotorNet records
// (unit ids 0..2).
const MaxUnitsPerElectrode = 3

// DefaultMotorNetConfig returns the default motor network: 4000 neurons
// (3200 E, 800 I) on a 4 mm sheet under a 96-site Utah-like array, 1 kHz
// frames of four 0.25 ms steps, 1–3 units per electrode.
//
// Sources of the values. Cell and synapses: Vogels & Abbott (2005,
// J Neurosci 25:10786), as in the COBA preset; 2 % connectivity (80 inputs)
// as COBA. The step of 0.25 ms (τ_m/80; the COBA benchmark's is 0.1 ms)
// gives the same rates, irregularity and tuning as 0.1 ms with 2.5 times
// fewer steps (measured, seed 1, with 60 pA into I and w_i = 10 nS: E 12.4
// vs 12.6 Hz, CV 1.26 vs 1.29, tuning correlation 0.31 in both). Drive: with b_i of 100–400 Hz and m_i of 300–600 Hz through
// 1 nS (mean afferent conductance w·λ·τ_e of 0.5–2 nS at rest, up to about
// 5 nS when moving fast along θ_i, against g_L = 10 nS), 100 background
// inputs at 5 Hz of 1 nS (2.5 nS), and 150 pA into the interneurons, the
// network fires at about 7 Hz (E) and 12 Hz (I; fast-spiking interneurons
// fire faster than pyramidal cells, e.g. Isomura et al. 2009, Nat Neurosci
// 12:1586, in rat motor cortex) with ISI CV ≈ 1.3, and a neuron's 50 ms
// counts correlate with v·d_i at r ≈ 0.3, about the single-unit figure of
// the MotorCortex defaults. Recording radius 100 µm: spikes of neurons within ~50 µm of a
// contact are large enough to isolate and those within ~100–140 µm are
// detectable (Henze et al. 2000, J Neurophysiol 84:390; Buzsáki 2004, Nat
// Neurosci 7:446); 1–3 well-isolated units per Utah-array electrode
// (Nordhausen, Maynard & Normann 1996, Brain Res 726:129). Sorting errors of
// a few per cent, both missed and spurious spikes (Harris et al. 2000,
// J Neurophysiol 84:401): MissProb 0.05, 1 false positive per second per
// electrode. Latent velocity as DefaultMotorCortexConfig. TestMotorNetState
// checks the asynchronous irregular state and the tuning.
func DefaultMotorNetConfig() MotorNetConfig {
	sh := DefaultSheet()
	return MotorNetConfig{
		Seed:            1,
		RateHz:          1000,
		DtMs:            0.25,
		Threads:         1,
		Excitatory:      3200,
		Inhibitory:      800,
		ConnP:           0.02,
		WeNS:            0.5,
		WiNS:            8,
		DelayMs:         0.25,
		BackgroundN:     100,
		BackgroundHz:    5,
		BackgroundNS:    1,
		EBasePA:         0,
		IBasePA:         150,
		DriveMinHz:      100,
		DriveMaxHz:      400,
		ModulationMinHz: 300,
		ModulationMaxHz: 600,
		DriveNS:         1,
		RefSpeed:        10,
		SpeedRMS:        10,
		VelocityTau:     300 * time.Millisecond,
		Workspace:       15,
		Sheet:           sh,
		UnitsMin:        1,
		UnitsMax:        3,
		RecordRadiusUM:  100,
		MissProb:        0.05,
		FalsePositiveHz: 1,
	}
}

// Validate reports every problem of c at once, each as "key: message",
// including those of the spiking network it describes.
func (c *MotorNetConfig) Validate() error {
	var ck checker
	ck.positive("rate_hz", c.RateHz)
	ck.positive("dt_ms", c.DtMs)
	if c.RateHz > 0 && c.DtMs > 0 && finite(c.RateHz) && finite(c.DtMs) {
		if spf := 1000 / c.RateHz / c.DtMs; math.Abs(spf-math.Round(spf)) > 1e-9*spf || math.Round(spf) < 1 {
			ck.bad("dt_ms", "a frame of %v ms must be a whole number (≥ 1) of %v ms steps", 1000/c.RateHz, c.DtMs)
		}
	}
	ck.atLeast("excitatory", c.Excitatory, 1)
	ck.atLeast("inhibitory", c.Inhibitory, 1)
	ck.closed("conn_p", c.ConnP, 0, 1)
	if !(c.DelayMs >= c.DtMs) || !finite(c.DelayMs) {
		ck.bad("delay_ms", "must be finite and ≥ dt_ms (%v), got %v", c.DtMs, c.DelayMs)
	}
	ck.nonNegative("we_ns", c.WeNS)
	ck.nonNegative("wi_ns", c.WiNS)
	ck.atLeast("background_n", c.BackgroundN, 0)
	ck.nonNegative("background_hz", c.BackgroundHz)
	ck.nonNegative("background_ns", c.BackgroundNS)
	ck.finite("e_base_pa", c.EBasePA)
	ck.finite("i_base_pa", c.IBasePA)
	ck.nonNegative("drive_min_hz", c.DriveMinHz)
	ck.nonNegative("drive_max_hz", c.DriveMaxHz)
	ck.notBelow("drive_max_hz", c.DriveMaxHz, "drive_min_hz", c.DriveMinHz)
	ck.nonNegative("modulation_min_hz", c.ModulationMinHz)
	ck.nonNegative("modulation_max_hz", c.ModulationMaxHz)
	ck.notBelow("modulation_max_hz", c.ModulationMaxHz, "modulation_min_hz", c.ModulationMinHz)
	ck.nonNegative("drive_ns", c.DriveNS)
	ck.positive("ref_speed", c.RefSpeed)
	ck.nonNegative("speed_rms", c.SpeedRMS)
	ck.duration("velocity_tau", c.VelocityTau)
	ck.positive("workspace", c.Workspace)
	ck.intRange("threads", c.Threads, 1, maxThreads)
	if c.Sheet.Grid < 1 {
		ck.bad("sheet.grid", "must be ≥ 1 (the recording electrodes), got %d", c.Sheet.Grid)
	} else {
		ck.add(c.Sheet.validate("sheet")...)
	}
	ck.intRange("units_min", c.UnitsMin, 0, MaxUnitsPerElectrode)
	if c.UnitsMax < 1 || c.UnitsMax > MaxUnitsPerElectrode || c.UnitsMax < c.UnitsMin {
		ck.bad("units_max", "must be in [max(1, units_min = %d), %d], got %d", c.UnitsMin, MaxUnitsPerElectrode, c.UnitsMax)
	}
	ck.positive("record_radius_um", c.RecordRadiusUM)
	ck.closed("miss_prob", c.MissProb, 0, 1)
	ck.nonNegative("false_positive_hz", c.FalsePositiveHz)
	if c.RateHz > 0 {
		ck.notAbove("false_positive_hz", c.FalsePositiveHz, "rate_hz", c.RateHz)
	}
	if ck.ok() {
		nc := c.network()
		if err := nc.Validate(); err != nil {
			ck.add(fmt.Errorf("network: %w", err))
		}
	}
	return ck.err()
}

// network returns the spiking network c describes.
func (c *MotorNetConfig) network() NetworkConfig {
	nc := DefaultNetworkConfig()
	nc.Name = "motor-net"
	nc.DtMs, nc.Seed, nc.Threads = c.DtMs, c.Seed, c.Threads
	pop := func(name string, n int, iext float64) Population {
		return Population{Name: name, N: n, Model: ModelLIFCond, LIF: model.VogelsAbbottLIF(),
			TauEMs: 5, TauIMs: 10, IExtPA: iext}
	}
	nc.Populations = []Population{pop("E", c.Excitatory, c.EBasePA), pop("I", c.Inhibitory, c.IBasePA)}
	for _, from := range []string{"E", "I"} {
		for _, to := range []string{"E", "I"} {
			pr := Projection{From: from, To: to, Receptor: Exc, Rule: ConnProb, P: c.ConnP, Weight: c.WeNS, DelayMs: c.DelayMs}
			if from == "I" {
				pr.Receptor, pr.Weight = Inh, c.WiNS
			}
			if pr.P > 0 && pr.Weight > 0 {
				nc.Projections = append(nc.Projections, pr)
			}
		}
	}
	if c.BackgroundN > 0 && c.BackgroundHz > 0 && c.BackgroundNS > 0 {
		for _, to := range []string{"E", "I"} {
			nc.Inputs = append(nc.Inputs, PoissonInput{To: to, Receptor: Exc, N: c.BackgroundN, RateHz: c.BackgroundHz, Weight: c.BackgroundNS})
		}
	}
	nc.Sheet = c.Sheet
	return nc
}

// UnitEvent is one spike of a MotorNet: the frame, the electrode (Channel)
// and the sorted unit on it (0..2, nearest neuron first). It is
// pointer-free.
type UnitEvent struct {
	Sample  int64
	Channel int32
	Unit    int32
}

// Streams of the MotorNet's own generators (the network's are its own).
const (
	streamNetTuning = 0x6d6e657474756e65 // per-neuron tuning
	streamNetRecord = 0x6d6e65747265636f // units per electrode
	streamNetLatent = 0x6d6e65746c617465 // latent velocity noise
	streamNetNoise  = 0x6d6e65746e6f6973 // false positives, one draw per electrode per frame
	streamNetMiss   = 0x6d6e65746d697373 // key of the missed-spike hash
)

// unitHit is a spike of a unit in the frame being recorded: its slot
// (electrode·3 + unit) and its step within the frame, or −1 for a false
// positive.
type unitHit struct{ slot, sub int32 }

// netTrain is the bookkeeping of one pulse train of Stimulate.
type netTrain struct {
	firstFrame int64 // frame of its first pulse
	lastStep   int64 // network step of its last pulse
	arrived    int64
	reported   bool
}

// MotorNet is the motor cortex as a spiking network: an E/I network of
// conductance-based LIF neurons (Network) whose excitatory neurons are
// driven by a latent 2-D intended velocity through cosine-tuned afferent
// input, recorded by a Utah-like electrode array on the sheet, each
// electrode picking up 1–3 nearby neurons with sorting noise, and
// stimulated through the same electrodes.
//
// Network. N_E excitatory and N_I inhibitory neurons of Vogels & Abbott
// (2005, J Neurosci 25:10786), randomly connected (probability ConnP,
// conductance jumps WeNS, WiNS), every neuron receiving BackgroundN
// Poisson inputs: an input-driven network in which recurrent
// inhibition tracks the excitation, which keeps the activity asynchronous
// and irregular (van Vreeswijk & Sompolinsky 1996, Science 274:1724;
// Brunel 2000, J Comput Neurosci 8:183; Renart et al. 2010, Science
// 327:587).
//
// Tuning (cosine tuning, Georgopoulos et al. 1982, J Neurosci 2:1527;
// its population coding of movement direction, Georgopoulos, Schwartz &
// Kettner 1986, Science 233:1416; the velocity form of Moran & Schwartz
// 1999, J Neurophysiol 82:2676): excitatory neuron i receives a tuned
// afferent input (from the premotor and parietal areas upstream) of rate
//
//	λ_i(t) = max(0, b_i + m_i·(v(t)·d_i)/v_ref),   d_i = (cos θ_i, sin θ_i)
//
// through synapses of DriveNS, with b_i, m_i, θ_i drawn per neuron
// (MotorNetConfig). It enters at its mean: per frame of width Δ the
// conductance DriveNS·λ_i·Δ is added at one step of the frame
// (Network.AddInput), which the synapse (τ_e = 5 ms ≥ Δ) smooths; the
// excitatory neurons take it at the frame's S steps in S equal index
// blocks, so that the population has no frame-locked input (taken all at
// the first step, it made 4.2 % more spikes fall in a frame's first step
// than uniform, at S = 4); the
// Poisson fluctuations of afferent input come from the stationary
// background inputs (BackgroundN at BackgroundHz into every neuron, drawn
// by the network at step resolution). Drawing the tuned input's own
// Poisson counts per neuron and frame would cost more than the network
// itself. The recurrent network turns the input into spikes, so each
// neuron's firing is cosine-tuned with the variability, lags and
// correlations the network gives.
//
// Latent velocity: the process of MotorCortex (smooth, second-order, RMS
// speed SpeedRMS, position reflected at the workspace). With an Intent set
// (SetIntent) the velocity of each frame is the intent's (non-finite: 0),
// the position its plain integral without walls, and the latent process
// is frozen until the intent is removed, as in MotorCortex.
//
// Recording. Electrode k (Sheet: row-major, corners removed) records the
// n_k ∈ [UnitsMin, UnitsMax] nearest neurons within RecordRadiusUM that no
// earlier electrode records, as units 0, 1, 2 nearest first (fewer when
// fewer are in range). A spike of a recorded neuron in a frame becomes a
// UnitEvent of that frame unless missed: it is missed when a hash of
// (seed, neuron, step) falls below MissProb, so misses do not depend on
// other spikes. Per frame each electrode takes one uniform draw (common
// random numbers): below FalsePositiveHz/RateHz it adds a spurious spike
// to one of its units.
//
// Stimulation: Stimulate passes the pulse train to the network's electrode
// (Network.Stimulate: each pulse makes every non-refractory neuron within
// √(I/K) of the contact fire in its step, Stoney et al. 1968, J
// Neurophysiol 31:659), the first pulse at the first step of frame
// max(s.Sample, next frame), later ones at step resolution; the recurrent
// network carries the evoked activity on.
//
// Concurrency: Advance, SetIntent and the accessors are for one goroutine
// at a time; Stimulate, StopStimulation and Sample may be called from any
// goroutine concurrently with Advance.
type MotorNet struct {
	cfg  MotorNetConfig
	nw   *Network
	spf  int     // steps per frame
	rate float64 // frames per second
	nel  int     // electrodes

	sample atomic.Int64 // next frame

	// Tuning of the excitatory neurons [eLo, eLo+len(base)), precomputed:
	// w·λ_i·Δ = max(0, base_i + cx_i·v_x + cy_i·v_y).
	eLo          int
	base, cx, cy []float64
	theta        []float64
	kick         []float64 // afferent conductance of a frame, nS
	stagger      []int     // spf+1 bounds: E neurons [stagger[j], stagger[j+1]) take their kick at step j

	lat    latentVelocity
	intent Intent

	// Recording: slot = electrode·3 + unit.
	slotOf  []int32   // per neuron: its slot, or −1
	nunits  []int32   // per electrode
	neuron  []int32   // per slot: the neuron, or −1
	hits    []unitHit // scratch of record
	noise   rand.PCG
	fpTh    uint64 // false positive when the 53-bit draw is below
	missTh  uint64 // missed when the 53-bit hash is below
	missKey uint64
	steps   []Event // the network's spikes of one frame

	// keepSubs: Advance records, per unit event, its step within the frame
	// (−1 for a false positive) in subs (MotorNetBroadband).
	keepSubs bool
	subs     []int32

	mu        sync.Mutex
	nextFrame int64 // first frame not yet begun; guarded by mu
	trains    []netTrain
	firsts    []int64 // Arrived stamps to report at the end of a frame
	clock     func() int64
}

// NewMotorNet validates cfg and builds the network, the tuning and the
// recording from cfg.Seed.
func NewMotorNet(cfg MotorNetConfig) (*MotorNet, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("sim: motor net config: %w", err)
	}
	nw, err := NewNetwork(cfg.network())
	if err != nil {
		return nil, fmt.Errorf("sim: motor net: %w", err)
	}
	dt := 1 / cfg.RateHz
	m := &MotorNet{
		cfg:    cfg,
		nw:     nw,
		spf:    int(math.Round(1000 / cfg.RateHz / cfg.DtMs)),
		rate:   cfg.RateHz,
		nel:    nw.Electrodes(),
		lat:    newLatentVelocity(cfg.SpeedRMS, cfg.VelocityTau, cfg.Workspace, dt, cfg.Seed, streamNetLatent),
		trains: make([]netTrain, 0, cfg.Sheet.StimQueue),
		firsts: make([]int64, 0, cfg.Sheet.StimQueue),
		clock:  cfg.Clock,
	}
	if m.clock == nil {
		m.clock = nanotime
	}
	eLo, ne, _ := nw.PopulationRange("E")
	m.eLo = eLo
	m.base, m.cx, m.cy = make([]float64, ne), make([]float64, ne), make([]float64, ne)
	m.theta, m.kick = make([]float64, ne), make([]float64, ne)
	m.stagger = make([]int, m.spf+1)
	for j := range m.stagger {
		m.stagger[j] = j * ne / m.spf
	}
	tr := rand.New(rand.NewPCG(cfg.Seed, streamNetTuning))
	for i := range ne {
		b := cfg.DriveMinHz + (cfg.DriveMaxHz-cfg.DriveMinHz)*tr.Float64()
		mod := cfg.ModulationMinHz + (cfg.ModulationMaxHz-cfg.ModulationMinHz)*tr.Float64()
		th := 2 * math.Pi * tr.Float64()
		m.theta[i] = th
		w := cfg.DriveNS * dt
		m.base[i] = w * b
		m.cx[i] = w * mod * math.Cos(th) / cfg.RefSpeed
		m.cy[i] = w * mod * math.Sin(th) / cfg.RefSpeed
	}
	m.buildRecording()
	m.noise.Seed(cfg.Seed, streamNetNoise)
	m.fpTh = uint64(math.Round(cfg.FalsePositiveHz / cfg.RateHz * (1 << 53)))
	m.missTh = uint64(math.Round(cfg.MissProb * (1 << 53)))
	m.missKey = hashNet(cfg.Seed ^ streamNetMiss)
	m.steps = make([]Event, 0, nw.Neurons())
	return m, nil
}

// buildRecording assigns the units of every electrode.
func (m *MotorNet) buildRecording() {
	n := m.nw.Neurons()
	pos := m.nw.Positions()
	el := m.nw.ElectrodePositions()
	r := rand.New(rand.NewPCG(m.cfg.Seed, streamNetRecord))
	m.slotOf = make([]int32, n)
	for i := range m.slotOf {
		m.slotOf[i] = -1
	}
	m.nunits = make([]int32, m.nel)
	m.neuron = make([]int32, m.nel*MaxUnitsPerElectrode)
	m.hits = make([]unitHit, 0, 4*len(m.neuron))
	for i := range m.neuron {
		m.neuron[i] = -1
	}
	type cand struct {
		d2 float64
		i  int32
	}
	var buf []cand
	r2 := m.cfg.RecordRadiusUM * m.cfg.RecordRadiusUM
	lo, hi := m.cfg.UnitsMin, m.cfg.UnitsMax
	for k, e := range el {
		want := lo + r.IntN(hi-lo+1)
		buf = buf[:0]
		for i, p := range pos {
			dx, dy := p[0]-e[0], p[1]-e[1]
			if d2 := dx*dx + dy*dy; d2 <= r2 && m.slotOf[i] < 0 {
				buf = append(buf, cand{d2, int32(i)})
			}
		}
		slices.SortFunc(buf, func(a, b cand) int {
			if c := cmp.Compare(a.d2, b.d2); c != 0 {
				return c
			}
			return cmp.Compare(a.i, b.i)
		})
		u := 0
		for _, c := range buf {
			if u == want {
				break
			}
			slot := int32(k*MaxUnitsPerElectrode + u)
			m.slotOf[c.i] = slot
			m.neuron[slot] = c.i
			u++
		}
		m.nunits[k] = int32(u)
	}
}

// hashNet is the SplitMix64 finalizer (Steele, Lea & Flood 2014, OOPSLA),
// a bijective 64-bit mix.
func hashNet(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// Network returns the spiking network (for inspection: its populations,
// positions, potentials). Advance it only through the MotorNet.
func (m *MotorNet) Network() *Network { return m.nw }

// Config returns the configuration the model was built with.
func (m *MotorNet) Config() MotorNetConfig { return m.cfg }

// Rate returns the frame rate in Hz.
func (m *MotorNet) Rate() float64 { return m.rate }

// StepsPerFrame returns the network steps per frame.
func (m *MotorNet) StepsPerFrame() int { return m.spf }

// Sample returns the index of the next frame Advance will generate.
func (m *MotorNet) Sample() int64 { return m.sample.Load() }

// Electrodes returns the number of electrodes, the channels of its spike
// events (each may carry up to three units).
func (m *MotorNet) Electrodes() int { return m.nel }

// ElectrodePositions returns the (x, y) position in µm of each electrode.
func (m *MotorNet) ElectrodePositions() [][2]float64 { return m.nw.ElectrodePositions() }

// RecordedNeuron returns the network neuron recorded as unit u of electrode
// k, or −1 when there is none.
func (m *MotorNet) RecordedNeuron(k, u int) int {
	if k < 0 || k >= m.nel || u < 0 || u >= MaxUnitsPerElectrode {
		return -1
	}
	return int(m.neuron[k*MaxUnitsPerElectrode+u])
}

// UnitsOn returns the number of units electrode k records.
func (m *MotorNet) UnitsOn(k int) int { return int(m.nunits[k]) }

// PreferredDirection returns the preferred direction θ_i (radians) of
// network neuron i, and false when i is not a tuned (excitatory) neuron.
func (m *MotorNet) PreferredDirection(i int) (float64, bool) {
	if i < m.eLo || i >= m.eLo+len(m.theta) {
		return 0, false
	}
	return m.theta[i-m.eLo], true
}

// TruthDims returns the ground-truth values per frame: 4.
func (m *MotorNet) TruthDims() int { return len(truthNames) }

// TruthNames returns px, py (cm), vx, vy (cm/s), as MotorCortex.
func (m *MotorNet) TruthNames() []string { return MotorCortexTruthNames() }

// SetIntent makes in the source of the intended velocity from the next
// frame on (see MotorNet); nil returns to the latent process. Call it from
// the goroutine advancing the brain, between Advance calls.
func (m *MotorNet) SetIntent(in Intent) { m.intent = in }

// Advance generates the next frames frames. It appends their unit spikes to
// spikes, sorted by frame, electrode and unit (a unit firing twice in a
// frame gives two events), and TruthDims() values per frame
// [px, py, vx, vy] to truth, the velocity that drove the frame and the
// position. It does not allocate when spikes and truth have room. Frames
// ≤ 0 do nothing.
func (m *MotorNet) Advance(frames int, spikes []UnitEvent, truth []float64) ([]UnitEvent, []float64) {
	s := m.sample.Load()
	m.subs = m.subs[:0]
	for range frames {
		if m.intent != nil {
			m.lat.intended(m.intent.Velocity(s))
		} else {
			m.lat.step()
		}
		vx, vy := m.lat.v[0], m.lat.v[1]
		m.afferents(vx, vy)

		m.mu.Lock()
		m.nextFrame = s + 1
		m.mu.Unlock()
		t0 := m.nw.Sample()
		m.steps = m.steps[:0]
		for j := range m.spf {
			if lo, hi := m.stagger[j], m.stagger[j+1]; hi > lo {
				if err := m.nw.AddInput(Exc, m.eLo+lo, m.kick[lo:hi]); err != nil {
					panic(err) // cannot happen: the range is E, the kicks finite and ≥ 0
				}
			}
			m.steps = m.nw.Advance(1, m.steps)
		}
		spikes = m.record(s, t0, spikes)
		truth = append(truth, m.lat.p[0], m.lat.p[1], vx, vy)
		m.endFrame(s)
		s++
		m.sample.Store(s)
	}
	return spikes, truth
}

// afferents sets the afferent conductance of every excitatory neuron for
// one frame: DriveNS·λ_i·Δ.
func (m *MotorNet) afferents(vx, vy float64) {
	base, cx, cy, kick := m.base, m.cx[:len(m.base)], m.cy[:len(m.base)], m.kick[:len(m.base)]
	for i := range base {
		kick[i] = max(0, base[i]+cx[i]*vx+cy[i]*vy)
	}
}

// record turns the network spikes of frame f (steps from t0) into unit
// events, sorted by electrode and unit, a unit's own spikes in time order
// and its false positive last.
func (m *MotorNet) record(f, t0 int64, spikes []UnitEvent) []UnitEvent {
	hits := m.hits[:0]
	for _, e := range m.steps {
		slot := m.slotOf[e.Channel]
		if slot < 0 {
			continue
		}
		if hashNet(m.missKey^uint64(e.Channel)<<40^uint64(e.Sample))>>11 >= m.missTh {
			hits = append(hits, unitHit{slot: slot, sub: int32(e.Sample - t0)})
		}
	}
	for k := range m.nel {
		u := m.noise.Uint64()
		if nu := m.nunits[k]; u>>11 < m.fpTh && nu > 0 {
			hits = append(hits, unitHit{slot: int32(k*MaxUnitsPerElectrode) + int32(uint32(u)%uint32(nu)), sub: -1})
		}
	}
	// Stable insertion sort by slot: a few to a few tens of hits per frame.
	for i := 1; i < len(hits); i++ {
		for j := i; j > 0 && hits[j].slot < hits[j-1].slot; j-- {
			hits[j], hits[j-1] = hits[j-1], hits[j]
		}
	}
	for _, h := range hits {
		spikes = append(spikes, UnitEvent{Sample: f, Channel: h.slot / MaxUnitsPerElectrode, Unit: h.slot % MaxUnitsPerElectrode})
		if m.keepSubs {
			m.subs = append(m.subs, h.sub)
		}
	}
	m.hits = hits
	return spikes
}

// endFrame reports the stimuli whose first pulse fell in frame f and drops
// the trains that ended before step done.
func (m *MotorNet) endFrame(f int64) {
	done := m.nw.Sample()
	m.mu.Lock()
	m.firsts = m.firsts[:0]
	j := 0
	for _, t := range m.trains {
		if !t.reported && t.firstFrame <= f {
			t.reported = true
			m.firsts = append(m.firsts, t.arrived)
		}
		if t.reported && t.lastStep < done {
			continue
		}
		m.trains[j] = t
		j++
	}
	m.trains = m.trains[:j]
	m.mu.Unlock()
	if len(m.firsts) > 0 && m.cfg.OnApplied != nil {
		now := m.clock()
		for _, a := range m.firsts {
			m.cfg.OnApplied(a, now)
		}
	}
}

// Stimulate queues the pulse train s on electrode s.Electrode: its first
// pulse at the first step of frame s.Sample, or of the next frame Advance
// generates when s.Sample is not in the future; pulse k at step
// round(k·steps_per_second/s.FreqHz) after it (Network.Stimulate). It
// returns an error wrapping ErrBadStimulus for invalid fields (electrode
// out of range, amplitude not in (0, Sheet.MaxUA], phase width not finite
// and > 0, count < 1, frequency not in (0, rate] or making biphasic pulses
// overlap when count > 1), and one wrapping ErrStimQueueFull when
// Sheet.StimQueue trains are pending or ongoing. It does not allocate on
// success.
func (m *MotorNet) Stimulate(s Stimulus) error {
	if err := checkStimulus(&s, m.nel, m.rate, m.cfg.Sheet.MaxUA); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.trains) == cap(m.trains) {
		return fmt.Errorf("%w: %d trains pending or ongoing", ErrStimQueueFull, cap(m.trains))
	}
	f := max(s.Sample, m.nextFrame)
	ns := s
	ns.Sample = f * int64(m.spf)
	period := 0.0
	if s.Count > 1 {
		period = m.nw.Rate() / s.FreqHz
	}
	if err := m.nw.Stimulate(ns); err != nil {
		return err
	}
	m.trains = append(m.trains, netTrain{firstFrame: f, arrived: s.Arrived,
		lastStep: ns.Sample + int64(math.Floor(float64(s.Count-1)*period+0.5))})
	return nil
}

// StopStimulation cancels every pending and ongoing pulse train: no pulse
// is applied from the next network step prepared (Network.StopStimulation).
// Activity already evoked runs its course in the network.
func (m *MotorNet) StopStimulation() {
	m.mu.Lock()
	m.nw.StopStimulation()
	m.trains = m.trains[:0]
	m.mu.Unlock()
}

// Close stops the network's worker goroutines (Threads > 1). The model
// must not be advanced afterwards.
func (m *MotorNet) Close() { m.nw.Close() }

var _ Stimulable = (*MotorNet)(nil)
