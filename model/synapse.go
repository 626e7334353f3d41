package model

import (
	"fmt"
	"math"
)

// SynKind selects a synaptic kernel.
type SynKind int

const (
	// SynExp is the exponential kernel K(t) = e^(−t/τ_d): dg/dt = −g/τ_d + Σ_k w δ(t − t_k).
	SynExp SynKind = iota
	// SynAlpha is the alpha kernel K(t) = (t/τ_d) e^(1 − t/τ_d), peaking at τ_d.
	SynAlpha
	// SynDualExp is the difference of exponentials K(t) = N(e^(−t/τ_d) − e^(−t/τ_r)),
	// normalized to unit peak.
	SynDualExp
)

// String returns the kernel's name.
func (k SynKind) String() string {
	switch k {
	case SynExp:
		return "exp"
	case SynAlpha:
		return "alpha"
	case SynDualExp:
		return "dual-exp"
	}
	return fmt.Sprintf("SynKind(%d)", int(k))
}

// Synapse describes the time course of a synaptic conductance or current
// after one presynaptic spike (Dayan & Abbott 2001, §5.8, eqs. 5.34–5.35;
// Gerstner et al. 2014, §3.1). Every kernel K(t), t ≥ 0, is normalized to a
// peak of 1, so a spike of weight w produces a conductance (nS) or current
// (pA) peaking at w:
//
//	exp:       K(t) = e^(−t/τ_d)                    peak at 0,   ∫K = τ_d
//	alpha:     K(t) = (t/τ_d) e^(1 − t/τ_d)         peak at τ_d, ∫K = e·τ_d
//	dual-exp:  K(t) = N (e^(−t/τ_d) − e^(−t/τ_r))   peak at t_p = τ_d τ_r ln(τ_d/τ_r)/(τ_d − τ_r),
//	           N = 1/(e^(−t_p/τ_d) − e^(−t_p/τ_r)),  ∫K = N(τ_d − τ_r)
//
// A conductance synapse carries the current I_syn = g(t)(V − E_rev)
// (outward positive; the membrane receives −I_syn), whose sign flips at
// E_rev; a current synapse injects w·K(t) directly.
type Synapse struct {
	Kind     SynKind
	TauRise  float64 // τ_r, ms (dual-exp only; 0 < τ_r < τ_d)
	TauDecay float64 // τ_d, ms (for alpha: the time to peak)
	ERev     float64 // reversal potential, mV (conductance synapses)
}

// Validate reports every invalid parameter.
func (s Synapse) Validate() error {
	var c paramCheck
	c.pos("TauDecay", s.TauDecay)
	c.finite("ERev", s.ERev)
	switch s.Kind {
	case SynExp, SynAlpha:
	case SynDualExp:
		c.pos("TauRise", s.TauRise)
		if isFiniteNum(s.TauRise) && isFiniteNum(s.TauDecay) && s.TauRise >= s.TauDecay {
			c.addf("TauRise: %v must be below TauDecay %v", s.TauRise, s.TauDecay)
		}
	default:
		c.addf("Kind: unknown %d", int(s.Kind))
	}
	return c.err()
}

// PeakTime returns the time of the kernel's maximum after the spike (ms).
func (s Synapse) PeakTime() float64 {
	switch s.Kind {
	case SynAlpha:
		return s.TauDecay
	case SynDualExp:
		td, tr := s.TauDecay, s.TauRise
		return td * tr * math.Log(td/tr) / (td - tr)
	}
	return 0
}

// norm returns the dual-exponential normalization N.
func (s Synapse) norm() float64 {
	tp := s.PeakTime()
	return 1 / (math.Exp(-tp/s.TauDecay) - math.Exp(-tp/s.TauRise))
}

// Kernel returns K(t), 0 for t < 0.
func (s Synapse) Kernel(t float64) float64 {
	if t < 0 {
		return 0
	}
	switch s.Kind {
	case SynAlpha:
		return t / s.TauDecay * math.Exp(1-t/s.TauDecay)
	case SynDualExp:
		return s.norm() * (math.Exp(-t/s.TauDecay) - math.Exp(-t/s.TauRise))
	}
	return math.Exp(-t / s.TauDecay)
}

// Integral returns ∫₀^∞ K(t) dt (ms): the charge per unit weight.
func (s Synapse) Integral() float64 {
	switch s.Kind {
	case SynAlpha:
		return math.E * s.TauDecay
	case SynDualExp:
		return s.norm() * (s.TauDecay - s.TauRise)
	}
	return s.TauDecay
}

// expResponse is the response of τ_m dV/dt = −V + R·I to I(t) = e^(−t/τ):
// R τ/(τ − τ_m)(e^(−t/τ) − e^(−t/τ_m)), or R (t/τ_m) e^(−t/τ_m) when τ = τ_m.
func expResponse(t, tau, tauM, r float64) float64 {
	if math.Abs(tau-tauM) < 1e-9*tauM {
		return r * t / tauM * math.Exp(-t/tauM)
	}
	return r * tau / (tau - tauM) * (math.Exp(-t/tau) - math.Exp(-t/tauM))
}

// PSP returns the closed-form postsynaptic potential (mV) at time t after a
// spike of unit weight (1 pA peak) through this kernel, used as a current
// synapse onto a passive membrane τ_m dV/dt = −V + R I (τ_m in ms, R in GΩ),
// V measured from rest: the convolution (R/τ_m)∫₀^t e^(−(t−s)/τ_m) K(s) ds.
//
//	exp:      R τ_d/(τ_d − τ_m)(e^(−t/τ_d) − e^(−t/τ_m))
//	alpha:    (R e/(τ_m τ_d)) e^(−t/τ_m) (1 − (1 + kt)e^(−kt))/k²,  k = 1/τ_d − 1/τ_m
//	dual-exp: N·(exp response with τ_d − exp response with τ_r)
//
// Its time integral is R·Integral() (∫V = R∫I for a linear membrane) and,
// for the exponential kernel, its peak is at τ_m τ_d ln(τ_d/τ_m)/(τ_d − τ_m).
func (s Synapse) PSP(t, tauM, r float64) float64 {
	if t <= 0 {
		return 0
	}
	switch s.Kind {
	case SynAlpha:
		k := 1/s.TauDecay - 1/tauM
		var integral float64
		if math.Abs(k*t) < 1e-6 {
			integral = t * t / 2 * (1 - 2*k*t/3)
		} else {
			integral = (1 - (1+k*t)*math.Exp(-k*t)) / (k * k)
		}
		return r * math.E / (tauM * s.TauDecay) * math.Exp(-t/tauM) * integral
	case SynDualExp:
		return s.norm() * (expResponse(t, s.TauDecay, tauM, r) - expResponse(t, s.TauRise, tauM, r))
	}
	return expResponse(t, s.TauDecay, tauM, r)
}

// PSPPeak returns the time and height of the maximum of PSP (golden-section
// search on the closed form, to 1e-10 ms).
func (s Synapse) PSPPeak(tauM, r float64) (t, v float64) {
	// The PSP rises from 0 and decays after its single maximum, which lies
	// before 20·max(τ_m, τ_d).
	a, b := 0.0, 20*math.Max(tauM, s.TauDecay)
	f := func(x float64) float64 { return -s.PSP(x, tauM, r) }
	const g = 0.6180339887498949
	x1, x2 := b-g*(b-a), a+g*(b-a)
	f1, f2 := f(x1), f(x2)
	for b-a > 1e-10 {
		if f1 < f2 {
			b, x2, f2 = x2, x1, f1
			x1 = b - g*(b-a)
			f1 = f(x1)
		} else {
			a, x1, f1 = x1, x2, f2
			x2 = a + g*(b-a)
			f2 = f(x2)
		}
	}
	t = 0.5 * (a + b)
	return t, s.PSP(t, tauM, r)
}

// SynapticCurrent returns I_syn = g(V − E_rev) (pA for g in nS, V in mV):
// outward positive, so it hyperpolarizes when V > E_rev and depolarizes when
// V < E_rev (Dayan & Abbott 2001, eq. 5.27).
func SynapticCurrent(g, v, eRev float64) float64 { return g * (v - eRev) }

// SynapticInput is the summed kernel of a presynaptic spike train,
// I(t) = W Σ_k K(t − t_k), usable as the Input of Simulate (a current
// synapse, W in pA) or as a conductance time course (W in nS). Breaks are the
// spike times, where exponential kernels jump.
type SynapticInput struct {
	Syn    Synapse
	W      float64   // peak per spike
	Spikes []float64 // presynaptic spike times, ms
}

// At returns W Σ_k K(t − t_k).
func (s SynapticInput) At(t float64) float64 {
	var g float64
	for _, tk := range s.Spikes {
		if tk > t {
			continue
		}
		g += s.Syn.Kernel(t - tk)
	}
	return s.W * g
}

// Breaks returns the spike times.
func (s SynapticInput) Breaks() []float64 { return s.Spikes }

// Validate checks the kernel and the weight.
func (s SynapticInput) Validate() error {
	var c paramCheck
	if err := s.Syn.Validate(); err != nil {
		c.addf("Syn: %w", err)
	}
	c.finite("W", s.W)
	for i, tk := range s.Spikes {
		if !isFiniteNum(tk) {
			c.addf("Spikes[%d]: must be finite, got %v", i, tk)
		}
	}
	return c.err()
}

// SynapticMembrane is a passive membrane receiving one conductance synapse
// driven by a presynaptic spike train:
//
//	C dV/dt = −g_L(V − E_L) − g_s(t)(V − E_rev) + I,  g_s(t) = W Σ_k K(t − t_k)
//
// The Simulate input I is a holding current (pA), which sets the potential
// from which the PSP starts; the PSP is depolarizing below E_rev and
// hyperpolarizing above it.
type SynapticMembrane struct {
	C, GL, EL float64 // pF, nS, mV
	Syn       SynapticInput
	V0        float64 // initial potential, mV
}

// Vars returns [V (mV)].
func (m SynapticMembrane) Vars() []StateVar { return []StateVar{{"V", "mV"}} }

// Init sets V = V0.
func (m SynapticMembrane) Init(x []float64) { x[0] = m.V0 }

// Deriv writes dV/dt.
func (m SynapticMembrane) Deriv(dxdt []float64, t float64, x []float64, input float64) {
	v := x[0]
	g := m.Syn.At(t)
	dxdt[0] = (-m.GL*(v-m.EL) - SynapticCurrent(g, v, m.Syn.Syn.ERev) + input) / m.C
}

// Breaks returns the presynaptic spike times.
func (m SynapticMembrane) Breaks() []float64 { return m.Syn.Spikes }

// Validate reports every invalid parameter.
func (m SynapticMembrane) Validate() error {
	var c paramCheck
	c.pos("C", m.C)
	c.pos("GL", m.GL)
	c.finite("EL", m.EL)
	c.finite("V0", m.V0)
	if err := m.Syn.Validate(); err != nil {
		c.addf("Syn: %w", err)
	}
	if m.Syn.W < 0 {
		c.addf("Syn.W: conductance weight must be ≥ 0, got %v", m.Syn.W)
	}
	return c.err()
}

// SynapseBank holds the kinetic state of n synapses (or of n postsynaptic
// cells' summed input through one kernel type) as plain slices and advances
// them by a fixed step with the exact propagator of the kernel's linear ODE:
//
//	exp:      g ← g·e^(−dt/τ_d)                       spike: g += w
//	alpha:    g ← (g + dt·x)e^(−dt/τ_d), x ← x·e^(−dt/τ_d)   spike: x += w·e/τ_d
//	dual-exp: a ← a·e^(−dt/τ_d), b ← b·e^(−dt/τ_r), g = N(a − b)   spike: a, b += w
//
// so the sampled conductance equals the closed-form kernel sum at every step
// for any dt. Step and Conductances allocate nothing.
type SynapseBank struct {
	syn           Synapse
	dt            float64
	dDecay, dRise float64
	alphaIn, norm float64
	S1, S2        []float64 // kernel state (S2 unused for exp)
}

// NewSynapseBank validates s and dt (0 < dt ≤ τ_d/2, and ≤ τ_r/2 for
// dual-exp so the rise is resolved) and allocates the state of n synapses.
func NewSynapseBank(s Synapse, n int, dt float64) (*SynapseBank, error) {
	var c paramCheck
	if err := s.Validate(); err != nil {
		c.errs = append(c.errs, err)
	} else {
		max := s.TauDecay / 2
		if s.Kind == SynDualExp {
			max = math.Min(max, s.TauRise/2)
		}
		c.step(dt, max, "half the kernel's shortest time constant")
	}
	if n < 0 {
		c.addf("n: must be ≥ 0, got %d", n)
	}
	if err := c.err(); err != nil {
		return nil, err
	}
	b := &SynapseBank{syn: s, dt: dt, dDecay: math.Exp(-dt / s.TauDecay), S1: make([]float64, n), S2: make([]float64, n)}
	switch s.Kind {
	case SynAlpha:
		b.alphaIn = math.E / s.TauDecay
	case SynDualExp:
		b.dRise = math.Exp(-dt / s.TauRise)
		b.norm = s.norm()
	}
	return b, nil
}

// Synapse returns the kernel description.
func (b *SynapseBank) Synapse() Synapse { return b.syn }

// Len returns the number of synapses.
func (b *SynapseBank) Len() int { return len(b.S1) }

// Reset zeroes all state.
func (b *SynapseBank) Reset() {
	clear(b.S1)
	clear(b.S2)
}

// Spike adds a presynaptic spike of weight w (peak conductance or current)
// to synapse i at the current time.
func (b *SynapseBank) Spike(i int, w float64) {
	switch b.syn.Kind {
	case SynAlpha:
		b.S1[i] += w * b.alphaIn
	case SynDualExp:
		b.S1[i] += w
		b.S2[i] += w
	default:
		b.S1[i] += w
	}
}

// Step advances every synapse by dt.
func (b *SynapseBank) Step() {
	d := b.dDecay
	s1, s2 := b.S1, b.S2[:len(b.S1)]
	switch b.syn.Kind {
	case SynAlpha:
		dt := b.dt
		for i := range s1 {
			s2[i] = (s2[i] + dt*s1[i]) * d
			s1[i] *= d
		}
	case SynDualExp:
		dr := b.dRise
		for i := range s1 {
			s1[i] *= d
			s2[i] *= dr
		}
	default:
		for i := range s1 {
			s1[i] *= d
		}
	}
}

// At returns synapse i's conductance (or current).
func (b *SynapseBank) At(i int) float64 {
	switch b.syn.Kind {
	case SynAlpha:
		return b.S2[i]
	case SynDualExp:
		return b.norm * (b.S1[i] - b.S2[i])
	}
	return b.S1[i]
}

// Conductances writes every synapse's conductance (or current) into dst
// (len Len()).
func (b *SynapseBank) Conductances(dst []float64) {
	mustSameLen("SynapseBank.Conductances", len(b.S1), len(dst))
	s1, s2 := b.S1, b.S2[:len(b.S1)]
	dst = dst[:len(s1)]
	switch b.syn.Kind {
	case SynAlpha:
		copy(dst, s2)
	case SynDualExp:
		nm := b.norm
		for i := range s1 {
			dst[i] = nm * (s1[i] - s2[i])
		}
	default:
		copy(dst, s1)
	}
}

// JahrStevensBlock returns the fraction of NMDA receptor conductance not
// blocked by extracellular Mg²⁺ (Jahr & Stevens 1990, J Neurosci 10:3178,
// with their fitted constants):
//
//	B(V) = 1 / (1 + [Mg²⁺]/3.57 mM · e^(−0.062 V))
//
// equivalently the logistic σ(0.062 V − ln([Mg²⁺]/3.57)). V in mV, mg in mM.
// With 1 mM Mg²⁺: B(−80) = 0.0244, B(0) = 0.781.
func JahrStevensBlock(v, mg float64) float64 {
	return 1 / (1 + mg/3.57*math.Exp(-0.062*v))
}

// NMDA is an NMDA receptor synapse: dual-exponential conductance kinetics
// times the voltage-dependent Mg²⁺ unblock,
//
//	I = g(t) · B(V) · (V − E_rev)
//
// Typical values: τ_r = 2 ms, τ_d = 100 ms, E_rev = 0 mV, [Mg²⁺] = 1 mM
// (Dayan & Abbott 2001, §5.8; Gerstner et al. 2014, §3.1).
type NMDA struct {
	Syn Synapse // kinetics and E_rev
	Mg  float64 // extracellular [Mg²⁺], mM
}

// DefaultNMDA returns τ_r = 2 ms, τ_d = 100 ms, E_rev = 0 mV, 1 mM Mg²⁺.
func DefaultNMDA() NMDA {
	return NMDA{Syn: Synapse{Kind: SynDualExp, TauRise: 2, TauDecay: 100, ERev: 0}, Mg: 1}
}

// Block returns B(V) at this synapse's Mg²⁺ concentration.
func (n NMDA) Block(v float64) float64 { return JahrStevensBlock(v, n.Mg) }

// Current returns I = g·B(V)·(V − E_rev) (outward positive).
func (n NMDA) Current(g, v float64) float64 { return g * n.Block(v) * (v - n.Syn.ERev) }

// Validate reports every invalid parameter.
func (n NMDA) Validate() error {
	var c paramCheck
	if err := n.Syn.Validate(); err != nil {
		c.addf("Syn: %w", err)
	}
	c.nonneg("Mg", n.Mg)
	return c.err()
}
