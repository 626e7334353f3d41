package sim

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
	_ "unsafe" // for go:linkname
)

// nanotime is the runtime's monotonic clock (CLOCK_MONOTONIC on Linux), the
// same clock as acquire.Now, so stamps from the default MotorCortex clock
// compare with block arrival stamps.
//
//go:linkname nanotime runtime.nanotime
func nanotime() int64

// Event is one spike of a synthetic brain: the frame index on the brain's
// sample clock and the channel (unit, which is also its electrode) that
// fired. It is pointer-free.
type Event struct {
	Sample  int64
	Channel int32
}

// CosineTuning is the encoding model of one MotorCortex unit (cosine tuning,
// Georgopoulos et al. 1982, J Neurosci 2:1527): its rate is
// λ = max(0, BaselineHz + ModulationHz·(v·d)/v_ref) with
// d = (cos PreferredRad, sin PreferredRad).
type CosineTuning struct {
	BaselineHz   float64 // b_i, rate at zero velocity
	ModulationHz float64 // m_i, rate change for a velocity of v_ref along d_i
	PreferredRad float64 // θ_i, preferred direction in radians, in [0, 2π)
}

// Sentinel errors of the stimulation input.
var (
	// ErrStimQueueFull is wrapped by Stimulate when the fixed-capacity queue
	// of pending and ongoing pulse trains is full.
	ErrStimQueueFull = errors.New("sim: stimulation queue full")
	// ErrBadStimulus is wrapped by Stimulate for a stimulus with invalid
	// fields.
	ErrBadStimulus = errors.New("sim: invalid stimulus")
)

// MotorCortexConfig configures a MotorCortex. Positions and velocities are in
// cm and cm/s; electrode geometry in µm.
type MotorCortexConfig struct {
	Units  int     `yaml:"units"`   // units, one per electrode (≤ 65536 so that channels fit acquire.Spike)
	Seed   uint64  `yaml:"seed"`    // seed of every random draw
	RateHz float64 `yaml:"rate_hz"` // frames per second

	// Latent intended velocity: per axis a second-order low-pass of white
	// noise with time constant VelocityTau, scaled so that the RMS speed
	// sqrt(E|v|²) is SpeedRMS; the position is reflected at ±Workspace.
	SpeedRMS    float64       `yaml:"speed_rms"`    // cm/s
	VelocityTau time.Duration `yaml:"velocity_tau"` // time constant of each low-pass stage
	Workspace   float64       `yaml:"workspace"`    // half-width of the square workspace, cm

	// Cosine tuning: b_i uniform in [BaselineMinHz, BaselineMaxHz], m_i
	// uniform in [ModulationMinHz, ModulationMaxHz], θ_i uniform in [0, 2π).
	RefSpeed        float64 `yaml:"ref_speed"` // v_ref, cm/s
	BaselineMinHz   float64 `yaml:"baseline_min_hz"`
	BaselineMaxHz   float64 `yaml:"baseline_max_hz"`
	ModulationMinHz float64 `yaml:"modulation_min_hz"`
	ModulationMaxHz float64 `yaml:"modulation_max_hz"`

	// Electrode array: a square grid at PitchUM without its four corners
	// (a Utah-like 10×10 array gives 96 sites).
	PitchUM float64 `yaml:"pitch_um"`

	// Evoked response to a pulse of amplitude I on an electrode at distance
	// d from unit j: Δλ_j = StimGainHz·(I/StimRefUA)·exp(−d²/(2·StimSigmaUM²)),
	// truncated to 0 beyond StimRadiusUM, decaying with StimTau.
	StimGainHz   float64       `yaml:"stim_gain_hz"`
	StimRefUA    float64       `yaml:"stim_ref_ua"`
	StimSigmaUM  float64       `yaml:"stim_sigma_um"`
	StimRadiusUM float64       `yaml:"stim_radius_um"`
	StimTau      time.Duration `yaml:"stim_tau"`
	StimQueue    int           `yaml:"stim_queue"` // pending plus ongoing pulse trains

	// Clock returns the monotonic time in ns used for OnApplied; nil means
	// the runtime's monotonic clock (the same as acquire.Now).
	Clock func() int64 `yaml:"-"`
	// OnApplied, when set, is called from Advance's goroutine once per
	// stimulus, right after its first pulse was applied, with the stimulus's
	// Arrived stamp and applied = Clock(). It must not block and must not
	// call Advance; it may call Stimulate.
	OnApplied func(arrived, applied int64) `yaml:"-"`
}

// DefaultMotorCortexConfig returns the default configuration: 96 units on a
// Utah-like array at 1 kHz, mean rates of about 10–27 Hz.
//
// Stimulation defaults: σ = 200 µm follows the current–distance relation
// I = K·r² of Stoney et al. (1968, J Neurophysiol 31:659) with
// K ≈ 1250 µA/mm², inside the 100–4000 µA/mm² range reported for cortical
// neurons (Tehovnik 1996, J Neurosci Methods 65:1), which gives r = 200 µm
// at the 50 µA reference current;
// Histed et al. (2009, Neuron 63:508) found intracortical microstimulation
// at tens of µA to activate neurons within a few hundred µm with short
// latency. A gain of 200 Hz with τ = 5 ms gives g·τ = 1 extra expected spike
// per 50 µA pulse at the electrode's own unit, 0.14 at the 400 µm
// neighbours. The kernel is truncated at 4σ = 800 µm (weight 3.4·10⁻⁴).
func DefaultMotorCortexConfig() MotorCortexConfig {
	return MotorCortexConfig{
		Units:           96,
		Seed:            1,
		RateHz:          1000,
		SpeedRMS:        10,
		VelocityTau:     300 * time.Millisecond,
		Workspace:       15,
		RefSpeed:        10,
		BaselineMinHz:   10,
		BaselineMaxHz:   25,
		ModulationMinHz: 5,
		ModulationMaxHz: 15,
		PitchUM:         400,
		StimGainHz:      200,
		StimRefUA:       50,
		StimSigmaUM:     200,
		StimRadiusUM:    800,
		StimTau:         5 * time.Millisecond,
		StimQueue:       16,
	}
}

// maxUnits keeps channel indices within acquire.Spike's uint16.
const maxUnits = 1 << 16

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

// Validate reports every problem of c at once, each as "key: message".
func (c *MotorCortexConfig) Validate() error {
	var ck checker
	ck.intRange("units", c.Units, 1, maxUnits)
	ck.positive("rate_hz", c.RateHz)
	ck.nonNegative("speed_rms", c.SpeedRMS)
	ck.duration("velocity_tau", c.VelocityTau)
	ck.positive("workspace", c.Workspace)
	ck.positive("ref_speed", c.RefSpeed)
	ck.nonNegative("baseline_min_hz", c.BaselineMinHz)
	ck.nonNegative("baseline_max_hz", c.BaselineMaxHz)
	ck.notBelow("baseline_max_hz", c.BaselineMaxHz, "baseline_min_hz", c.BaselineMinHz)
	ck.nonNegative("modulation_min_hz", c.ModulationMinHz)
	ck.nonNegative("modulation_max_hz", c.ModulationMaxHz)
	ck.notBelow("modulation_max_hz", c.ModulationMaxHz, "modulation_min_hz", c.ModulationMinHz)
	ck.positive("pitch_um", c.PitchUM)
	ck.nonNegative("stim_gain_hz", c.StimGainHz)
	ck.positive("stim_ref_ua", c.StimRefUA)
	ck.positive("stim_sigma_um", c.StimSigmaUM)
	ck.nonNegative("stim_radius_um", c.StimRadiusUM)
	ck.duration("stim_tau", c.StimTau)
	ck.intRange("stim_queue", c.StimQueue, 1, maxUnits)
	return ck.err()
}

// Streams of the seeded PCG generators (the second PCG word), one per use so
// that the draws of one never shift another.
const (
	streamTuning = 0x6d6f746f72747531 // unit parameters
	streamLatent = 0x6d6f746f726c6174 // latent velocity noise
	streamSpikes = 0x6d6f746f72737069 // one uniform per unit per frame
)

// evokedFloorHz is the evoked rate below which a decaying transient is set
// to exactly 0, which keeps the arithmetic out of subnormal numbers; its
// effect on a spike probability is below 10⁻⁹ per frame at 1 kHz.
const evokedFloorHz = 1e-6

// truthNames names the ground-truth values of each frame.
var truthNames = [...]string{"px", "py", "vx", "vy"}

// train is one queued or ongoing stimulus (pointer-free).
type train struct {
	electrode int32
	count     int
	next      int     // index of the next pulse to apply
	gain      float64 // StimGainHz·I/StimRefUA
	period    float64 // samples between pulses
	first     int64   // sample of pulse 0; resolved to the current frame when in the past
	arrived   int64
}

// MotorCortex is a fast synthetic motor cortex: N cosine-tuned units driven
// by a latent 2-D intended velocity, spiking as inhomogeneous Poisson
// processes, on a Utah-like electrode array that accepts stimulation.
//
// Latent velocity. Each axis is a cascade of two first-order low-pass
// stages of white noise with a = exp(−Δt/τ), the first an exact
// Ornstein–Uhlenbeck update (Uhlenbeck & Ornstein 1930, Phys Rev 36:823;
// exact discretisation of Gillespie 1996, Phys Rev E 54:2084):
//
//	x₁ ← a·x₁ + √(1−a²)·ξ,   ξ ~ N(0, 1)
//	x₂ ← a·x₂ + (1−a)·x₁
//	v  = (s/√2)·x₂/√V₂,      V₂ = (1+a²)/(1+a)²
//
// V₂ is the exact stationary variance of x₂ given unit-variance x₁, so the
// RMS speed sqrt(E|v|²) is s = SpeedRMS; the spectrum of v is that of
// 1/(1+iωτ)² (smooth, second-order). The state starts in its stationary
// distribution (x₁ = z₁, x₂ = (z₁ + a·z₂)/(1+a)).
//
// Position. p ← p + v·Δt. The workspace is the square |p_x|, |p_y| ≤ W: a
// position past a wall is reflected back inside (p ← 2W − p) and that
// axis's state (x₁, x₂, hence v) changes sign, which leaves the stationary
// statistics of v unchanged (the process is symmetric) and keeps the truth
// consistent: the reported v is the velocity after the bounce.
//
// Tuning (cosine tuning, Georgopoulos et al. 1982, J Neurosci 2:1527; the
// population vector of Georgopoulos, Schwartz & Kettner 1986, Science
// 233:1416, decodes it):
//
//	λ_i(t) = max(0, b_i + m_i·(v(t)·d_i)/v_ref) + e_i(t)
//
// with e_i the evoked stimulation rate below.
//
// Spiking. Per frame of width Δt, unit i spikes with probability
// 1 − exp(−λ_i·Δt) (Poisson process with rate λ_i held over the frame,
// at most one spike per unit per frame), decided by one uniform draw per unit
// per frame whatever λ_i is: common random numbers, so that runs with and
// without stimulation from one seed see the same draws and differ only where
// the rates differ (a higher rate never removes a spike).
//
// External intent. With an Intent set (SetIntent), v(t) is the intent's
// velocity for each frame instead of the latent process, and the position is
// its plain integral p ← p + v·Δt, without walls (the user of a closed-loop
// task keeps it bounded by aiming at targets); a non-finite velocity counts
// as 0. The latent process is frozen meanwhile and resumes from the same
// state when the intent is removed. The truth [px, py, vx, vy] then reports
// the intended velocity and its integral.
//
// Electrodes. Unit i sits on electrode i. Sites are those of the smallest
// s×s grid (s ≥ 3) at PitchUM with s²−4 ≥ N, corners removed, taken in
// row-major order; site (row r, column c) is at (c·pitch, r·pitch) µm. With
// N = 96 that is a full 10×10 Utah-like array at 400 µm.
//
// Stimulation. Each pulse of amplitude I on electrode k adds to every unit j
// with d_jk ≤ StimRadiusUM
//
//	Δe_j = g·(I/I_ref)·exp(−d_jk²/(2σ²))
//
// at the pulse's frame, before that frame's spikes are drawn; e_j then decays
// as e_j ← e_j·exp(−Δt/τ_s) per frame, and is set to 0 once below
// 10⁻⁶ Hz. Units beyond the radius are exactly untouched. Phase width does not enter the model (validated only).
//
// Concurrency: Advance, and everything but Stimulate, StopStimulation and
// Sample, is for one goroutine at a time. Stimulate, StopStimulation and
// Sample may be called from any goroutine, concurrently with Advance.
type MotorCortex struct {
	cfg  MotorCortexConfig
	n    int
	dt   float64 // s per frame
	rate float64

	sample atomic.Int64 // next frame index

	// Tuning, precomputed: λ_i = max(0, base_i + cx_i·v_x + cy_i·v_y) with
	// cx_i = m_i·cos θ_i/v_ref, cy_i = m_i·sin θ_i/v_ref.
	base, cx, cy []float64
	tuning       []CosineTuning
	ex, ey       []float64 // electrode positions, µm

	// Latent velocity and position, per axis.
	lat latentVelocity

	spikes rand.PCG

	// Evoked rates and the truncated stimulation kernel in CSR form:
	// electrode k touches units kUnit[kOff[k]:kOff[k+1]] with weights kW.
	evoked []float64
	decay  float64
	kOff   []int32
	kUnit  []int32
	kW     []float64

	mu      sync.Mutex
	trains  []train // fixed capacity StimQueue; guarded by mu
	ntrains atomic.Int32
	firsts  []int64 // Arrived stamps of trains started this frame (for OnApplied)
	clock   func() int64

	intent Intent // external intended velocity, or nil for the latent process
}

// NewMotorCortex validates cfg and builds the model, drawing every unit's
// tuning from cfg.Seed.
func NewMotorCortex(cfg MotorCortexConfig) (*MotorCortex, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("sim: motor cortex config: %w", err)
	}
	n := cfg.Units
	m := &MotorCortex{
		cfg:    cfg,
		n:      n,
		rate:   cfg.RateHz,
		dt:     1 / cfg.RateHz,
		base:   make([]float64, n),
		cx:     make([]float64, n),
		cy:     make([]float64, n),
		tuning: make([]CosineTuning, n),
		ex:     make([]float64, n),
		ey:     make([]float64, n),
		evoked: make([]float64, n),
		trains: make([]train, 0, cfg.StimQueue),
		firsts: make([]int64, cfg.StimQueue),
		clock:  cfg.Clock,
	}
	if m.clock == nil {
		m.clock = nanotime
	}
	m.spikes.Seed(cfg.Seed, streamSpikes)

	tr := rand.New(rand.NewPCG(cfg.Seed, streamTuning))
	for i := range n {
		b := cfg.BaselineMinHz + (cfg.BaselineMaxHz-cfg.BaselineMinHz)*tr.Float64()
		mod := cfg.ModulationMinHz + (cfg.ModulationMaxHz-cfg.ModulationMinHz)*tr.Float64()
		th := 2 * math.Pi * tr.Float64()
		m.tuning[i] = CosineTuning{BaselineHz: b, ModulationHz: mod, PreferredRad: th}
		m.base[i] = b
		m.cx[i] = mod * math.Cos(th) / cfg.RefSpeed
		m.cy[i] = mod * math.Sin(th) / cfg.RefSpeed
	}

	// Sites on the grid, row-major without corners; site[r*side+c] is the
	// unit on (r, c), or -1.
	side := 3
	for side*side-4 < n {
		side++
	}
	site := make([]int32, side*side)
	i := 0
	for r := range side {
		for c := range side {
			site[r*side+c] = -1
			if i == n || (r == 0 || r == side-1) && (c == 0 || c == side-1) {
				continue
			}
			site[r*side+c] = int32(i)
			m.ex[i], m.ey[i] = float64(c)*cfg.PitchUM, float64(r)*cfg.PitchUM
			i++
		}
	}

	// The stimulation kernel, searching only the grid cells within the
	// radius so that construction is O(N·(R/pitch)²), not O(N²).
	m.decay = math.Exp(-m.dt / cfg.StimTau.Seconds())
	m.kOff = make([]int32, n+1)
	r2 := cfg.StimRadiusUM * cfg.StimRadiusUM
	s2 := 2 * cfg.StimSigmaUM * cfg.StimSigmaUM
	reach := side
	if k := cfg.StimRadiusUM / cfg.PitchUM; k < float64(side) {
		reach = int(k)
	}
	for k := range n {
		rk, ck := int(math.Round(m.ey[k]/cfg.PitchUM)), int(math.Round(m.ex[k]/cfg.PitchUM))
		for r := max(0, rk-reach); r <= min(side-1, rk+reach); r++ {
			for c := max(0, ck-reach); c <= min(side-1, ck+reach); c++ {
				j := site[r*side+c]
				if j < 0 {
					continue
				}
				dx, dy := m.ex[j]-m.ex[k], m.ey[j]-m.ey[k]
				if d2 := dx*dx + dy*dy; d2 <= r2 {
					m.kUnit = append(m.kUnit, j)
					m.kW = append(m.kW, math.Exp(-d2/s2))
				}
			}
		}
		m.kOff[k+1] = int32(len(m.kUnit))
	}

	m.lat = newLatentVelocity(cfg.SpeedRMS, cfg.VelocityTau, cfg.Workspace, m.dt, cfg.Seed, streamLatent)
	return m, nil
}

// Units returns the number of units (and electrodes).
func (m *MotorCortex) Units() int { return m.n }

// Rate returns the frame rate in Hz.
func (m *MotorCortex) Rate() float64 { return m.rate }

// Sample returns the index of the next frame Advance will generate.
func (m *MotorCortex) Sample() int64 { return m.sample.Load() }

// Config returns the configuration the model was built with.
func (m *MotorCortex) Config() MotorCortexConfig { return m.cfg }

// TruthDims returns the ground-truth values per frame: 4.
func (m *MotorCortex) TruthDims() int { return len(truthNames) }

// MotorCortexTruthNames returns the names of the motor cortex's ground-truth
// values per frame, as TruthNames does, without a brain at hand (for
// example to name the truth columns of a recording).
func MotorCortexTruthNames() []string { return append([]string(nil), truthNames[:]...) }

// TruthNames returns the names of the ground-truth values of a frame:
// px, py (cm) and vx, vy (cm/s).
func (m *MotorCortex) TruthNames() []string { return append([]string(nil), truthNames[:]...) }

// Electrodes returns the number of electrodes, one per unit: the
// stimulation sites.
func (m *MotorCortex) Electrodes() int { return m.n }

// ElectrodePositions returns the (x, y) position in µm of each electrode;
// electrode i carries unit i.
func (m *MotorCortex) ElectrodePositions() [][2]float64 {
	out := make([][2]float64, m.n)
	for i := range out {
		out[i] = [2]float64{m.ex[i], m.ey[i]}
	}
	return out
}

// SetIntent makes it the source of the intended velocity from the next frame
// on (see MotorCortex, "External intent"); nil returns to the latent
// process. Call it from the goroutine advancing the brain, between Advance
// calls.
func (m *MotorCortex) SetIntent(it Intent) { m.intent = it }

// Tuning appends the tuning of every unit to dst and returns it.
func (m *MotorCortex) Tuning(dst []CosineTuning) []CosineTuning { return append(dst, m.tuning...) }

// Advance generates the next frames frames. It appends their spikes to
// spikes, sorted by sample and, within a frame, by channel, and
// TruthDims() values per frame [px, py, vx, vy] to truth, and returns both.
// It does not allocate when spikes and truth have room. Frames ≤ 0 do
// nothing.
func (m *MotorCortex) Advance(frames int, spikes []Event, truth []float64) ([]Event, []float64) {
	s := m.sample.Load()
	n := m.n
	base, cx, cy, ev := m.base[:n], m.cx[:n], m.cy[:n], m.evoked[:n]
	dt, decay := m.dt, m.decay
	for range frames {
		if m.ntrains.Load() > 0 {
			m.deliver(s)
		}
		if m.intent != nil {
			m.lat.intended(m.intent.Velocity(s))
		} else {
			m.lat.step()
		}
		vx, vy := m.lat.v[0], m.lat.v[1]
		for i := range base {
			lam := base[i] + cx[i]*vx + cy[i]*vy
			if lam < 0 {
				lam = 0
			}
			if e := ev[i]; e != 0 {
				lam += e
				e *= decay
				if e < evokedFloorHz {
					e = 0
				}
				ev[i] = e
			}
			if spike(float64(m.spikes.Uint64()>>11)*0x1p-53, lam*dt) {
				spikes = append(spikes, Event{Sample: s, Channel: int32(i)})
			}
		}
		truth = append(truth, m.lat.p[0], m.lat.p[1], vx, vy)
		s++
	}
	m.sample.Store(s)
	return spikes, truth
}

// spike reports whether the uniform draw u in [0, 1) falls below the spike
// probability 1 − e^{−x} of a frame with x = λΔt ≥ 0. It uses the bounds
// x − x²/2 ≤ 1 − e^{−x} ≤ x to decide without a transcendental function in
// nearly every frame (u ≥ x when x is small), which does not change the
// decision.
func spike(u, x float64) bool {
	switch {
	case u >= x:
		return false
	case u < x-0.5*x*x:
		return true
	default:
		return u < -math.Expm1(-x)
	}
}

// deliver applies the pulses due at frame s and drops finished trains,
// keeping queue order (so that evoked sums are deterministic).
func (m *MotorCortex) deliver(s int64) {
	nf := 0
	m.mu.Lock()
	j := 0
	for i := range m.trains {
		t := m.trains[i]
		if t.next == 0 && t.first < s {
			t.first = s
		}
		for t.next < t.count && t.first+int64(math.Floor(float64(t.next)*t.period+0.5)) <= s {
			for k := m.kOff[t.electrode]; k < m.kOff[t.electrode+1]; k++ {
				m.evoked[m.kUnit[k]] += t.gain * m.kW[k]
			}
			if t.next == 0 {
				m.firsts[nf] = t.arrived
				nf++
			}
			t.next++
		}
		if t.next < t.count {
			m.trains[j] = t
			j++
		}
	}
	m.trains = m.trains[:j]
	m.ntrains.Store(int32(j))
	m.mu.Unlock()
	if nf > 0 && m.cfg.OnApplied != nil {
		now := m.clock()
		for _, arrived := range m.firsts[:nf] {
			m.cfg.OnApplied(arrived, now)
		}
	}
}

// Stimulate queues the pulse train s. Its first pulse is applied at frame
// s.Sample, or at the next frame Advance generates when s.Sample is not in
// the future; pulse k at s.Sample + round(k·rate/s.FreqHz). It returns an
// error wrapping ErrBadStimulus for invalid fields (electrode out of range,
// amplitude or phase width not finite and > 0, count < 1, frequency not in
// (0, rate] or so high that pulses would overlap when count > 1), and one
// wrapping ErrStimQueueFull when StimQueue trains are already pending or
// ongoing. It does not allocate on success.
func (m *MotorCortex) Stimulate(s Stimulus) error {
	if err := m.checkStimulus(&s); err != nil {
		return err
	}
	t := train{electrode: int32(s.Electrode), count: s.Count, gain: m.cfg.StimGainHz * s.AmplitudeUA / m.cfg.StimRefUA,
		first: s.Sample, arrived: s.Arrived}
	if s.Count > 1 {
		t.period = m.rate / s.FreqHz
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.trains) == cap(m.trains) {
		return fmt.Errorf("%w: %d trains pending or ongoing", ErrStimQueueFull, cap(m.trains))
	}
	m.trains = append(m.trains, t)
	m.ntrains.Store(int32(len(m.trains)))
	return nil
}

func (m *MotorCortex) checkStimulus(s *Stimulus) error {
	return checkStimulus(s, m.n, m.rate, 0)
}

// StopStimulation cancels every pending and ongoing pulse train at once: no
// pulse is applied after it returns. Evoked transients already in the
// tissue decay on their own.
func (m *MotorCortex) StopStimulation() {
	m.mu.Lock()
	m.trains = m.trains[:0]
	m.ntrains.Store(0)
	m.mu.Unlock()
}

var _ Stimulable = (*MotorCortex)(nil)
