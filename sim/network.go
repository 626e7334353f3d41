package sim

import (
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/bciloop/bciloop/model"
)

// NeuronModel names the dynamics of a Population.
type NeuronModel string

// Neuron models of the network engine. Units follow package model: time in
// ms, potentials in mV, conductances in nS, currents in pA, capacitance in pF.
const (
	// ModelLIF is the current-based leaky integrate-and-fire neuron
	// τ_m dV/dt = −(V − E_L) + R(I_e + I_i + I_ext) with exponential
	// synaptic currents τ_s dI_s/dt = −I_s (weights in pA), integrated
	// exactly; with TauEMs = TauIMs = 0 the synapses are delta pulses that
	// make V jump by the weight (in mV), as in Brunel (2000).
	ModelLIF NeuronModel = "lif"
	// ModelLIFCond is the conductance-based leaky integrate-and-fire neuron
	// C dV/dt = −g_L(V − E_L) − g_e(V − E_E) − g_i(V − E_I) + I_ext with
	// exponential conductances τ_s dg_s/dt = −g_s (weights in nS ≥ 0),
	// Vogels & Abbott (2005).
	ModelLIFCond NeuronModel = "lif-cond"
	// ModelPoisson is a Poisson spike source: each neuron fires in a step
	// with probability RateHz·dt, independently (Brian's PoissonGroup).
	ModelPoisson NeuronModel = "poisson"
	// ModelIzhikevich is the simple model of Izhikevich (2003, IEEE Trans
	// Neural Netw 14:1569, eqs. 1–3), parameters Izhikevich
	// (model.NewIzhikevich gives the paper's RS, IB, CH, FS and LTS cells):
	//
	//	dv/dt = 0.04v² + 5v + 140 − u + I,  du/dt = a(bv − u)
	//	v ≥ v_peak: v ← c, u ← u + d
	//
	// with I = I_ext + I_e + I_i in the paper's current units and
	// exponential synaptic currents τ_s dI_s/dt = −I_s (TauEMs, TauIMs > 0;
	// weights in the same units, of either sign); no refractory period.
	ModelIzhikevich NeuronModel = "izhikevich"
	// ModelAdEx is the adaptive exponential integrate-and-fire neuron of
	// Brette & Gerstner (2005, J Neurophysiol 94:3637, eqs. 1–2), parameters
	// AdEx (model.BretteGerstnerAdEx gives the paper's fit):
	//
	//	C dV/dt = −g_L(V − E_L) + g_L Δ_T e^{(V − V_T)/Δ_T} − w + I
	//	τ_w dw/dt = a(V − E_L) − w
	//	V ≥ V_peak: V ← V_r, w ← w + b, V held at V_r for t_ref
	//
	// with I = I_ext + I_e + I_i (pA) and exponential synaptic currents as
	// for izhikevich.
	ModelAdEx NeuronModel = "adex"
)

// Receptor is the synaptic port a projection or input drives.
type Receptor string

// Receptors. On a ModelLIF population with delta synapses both add to V.
const (
	Exc Receptor = "exc" // excitatory: I_e (pA) or g_e (nS, reversal E_E)
	Inh Receptor = "inh" // inhibitory: I_i (pA) or g_i (nS, reversal E_I)
)

// ConnRule is a connectivity rule of a Projection.
type ConnRule string

// Connectivity rules.
const (
	// ConnProb connects every (pre, post) pair independently with
	// probability P (Erdős–Rényi; Brian's connect(p=…)).
	ConnProb ConnRule = "prob"
	// ConnInDegree gives every postsynaptic neuron exactly K presynaptic
	// partners drawn uniformly, without repeats unless Multapses (Brunel
	// 2000: "each neuron receives C randomly chosen connections").
	ConnInDegree ConnRule = "indegree"
	// ConnList takes the synapses from the explicit Pre/Post lists.
	ConnList ConnRule = "list"
	// ConnDistance connects (pre, post) with probability
	// P·exp(−d²/(2σ²)) of their distance d on the sheet, zero beyond 4σ.
	ConnDistance ConnRule = "distance"
)

// Dist is a distribution of an initial value: "const" (A), "uniform" on
// [A, B), or "normal" with mean A and standard deviation B. The zero value
// (Kind "") is the constant 0, or the population's default where noted.
type Dist struct {
	Kind string  `yaml:"kind"`
	A    float64 `yaml:"a"`
	B    float64 `yaml:"b"`
}

// Population is a group of identical neurons, held contiguously in the
// network's state arrays in the order populations are listed.
type Population struct {
	Name  string      `yaml:"name"`  // unique; referenced by projections and inputs
	N     int         `yaml:"n"`     // neurons (≥ 1)
	Model NeuronModel `yaml:"model"` // lif, lif-cond, izhikevich, adex or poisson

	// LIF holds the cell parameters of lif and lif-cond populations: C (pF),
	// GL (nS), EL, VTh, VReset (mV), TRef (ms) and, for lif-cond, the
	// reversal potentials EE, EI (mV). Tonic conductances GE, GI must be 0
	// (synaptic conductances are per neuron).
	LIF model.LIF `yaml:"lif"`
	// Izhikevich holds the parameters of an izhikevich population: A, B,
	// C, D, VPeak (mV) (V0 is not used).
	Izhikevich model.Izhikevich `yaml:"izhikevich"`
	// AdEx holds the parameters of an adex population: C (pF), GL, A (nS),
	// EL, VT, DeltaT, VReset, VPeak (mV), TauW, TRef (ms), B (pA).
	AdEx model.AdEx `yaml:"adex"`
	// TauEMs, TauIMs: synaptic time constants (ms) of the exc and inh
	// receptors; both 0 on a lif population selects delta synapses.
	TauEMs float64 `yaml:"tau_e_ms"`
	TauIMs float64 `yaml:"tau_i_ms"`
	// IExtPA is a constant current into every neuron, pA.
	IExtPA float64 `yaml:"i_ext_pa"`
	// RateHz is the firing rate of a poisson population.
	RateHz float64 `yaml:"rate_hz"`

	// Initial state: V (mV; zero value: uniform on [VReset, VTh) for lif
	// and lif-cond, the resting state for izhikevich (u = b·v), E_L for adex
	// (w = 0); values above the threshold or v_peak start there) and the exc
	// and inh synaptic state (pA or nS), taken as drawn: a normal distribution of initial conductances
	// may give a few negative ones, as in the COBA reference script, which
	// decay within τ_s.
	InitV Dist `yaml:"init_v"`
	InitE Dist `yaml:"init_e"`
	InitI Dist `yaml:"init_i"`
}

// Projection is a set of synapses from one population onto another.
type Projection struct {
	From     string   `yaml:"from"`
	To       string   `yaml:"to"`
	Receptor Receptor `yaml:"receptor"` // exc or inh
	Rule     ConnRule `yaml:"rule"`     // prob, indegree, list or distance

	P         float64 `yaml:"p"`         // connection probability (prob; peak probability for distance)
	K         int     `yaml:"k"`         // in-degree (indegree)
	SigmaUM   float64 `yaml:"sigma_um"`  // spatial scale σ of the distance rule, µm
	Autapses  bool    `yaml:"autapses"`  // allow i → i when From == To
	Multapses bool    `yaml:"multapses"` // indegree: allow repeated pairs

	// Pre and Post are the explicit synapses of the list rule, as indices
	// within From and To; Weights and DelaysMs, when given, have the same
	// length and override Weight and DelayMs per synapse.
	Pre      []int32   `yaml:"pre"`
	Post     []int32   `yaml:"post"`
	Weights  []float64 `yaml:"weights"`
	DelaysMs []float64 `yaml:"delays_ms"`

	// Weight per spike: pA on lif (exponential), mV on lif with delta
	// synapses, nS (≥ 0) on lif-cond.
	Weight float64 `yaml:"weight"`
	// DelayMs is the axonal delay (ms, ≥ dt); with DelayMaxMs > DelayMs each
	// synapse draws its delay uniformly from [DelayMs, DelayMaxMs]. Delays
	// are rounded to whole steps.
	DelayMs    float64 `yaml:"delay_ms"`
	DelayMaxMs float64 `yaml:"delay_max_ms"`

	// STP, when set, makes every synapse of the projection depress and
	// facilitate by the Tsodyks–Markram model (see ProjectionSTP); nil
	// keeps static synapses (the unchanged delivery path).
	STP *ProjectionSTP `yaml:"stp"`
	// STDP, when set, gives every synapse its own weight (float32, from
	// Weight or Weights) that changes by additive pair-based STDP (see
	// ProjectionSTDP); nil keeps fixed weights.
	STDP *ProjectionSTDP `yaml:"stdp"`
}

// ProjectionSTDP is additive pair-based spike-timing-dependent plasticity
// with all-to-all traces (Song, Miller & Abbott 2000, Nat Neurosci 3:919;
// traces as Morrison, Diesmann & Gerstner 2008; model.STDP with μ = 0).
// Each presynaptic neuron j has a trace x_j (+1 per spike, decaying with
// τ₊) and each postsynaptic neuron i a trace y_i (+1 per spike, decaying
// with τ₋), both advanced exactly between events. When i spikes at step
// t, every synapse j→i gains A₊·x_j(t) (pre spikes up to t−1:
// ΔW = A₊e^(−Δt/τ₊) per pair); when j's spike of step t is delivered,
// every synapse j→i first transmits with its current weight and then
// loses A₋·y_i(t) (post spikes up to t−1: ΔW = −A₋e^(Δt/τ₋) per pair).
// Pairs at the same step do not interact. Spike times are the steps at
// which the neurons fire (the axonal delay does not enter). Weights are
// clipped to [0, w_max] after every change. Potentiation reads a
// transposed index of the synapses, built once (4 bytes per synapse; with
// the target and float32 weight 12 bytes per synapse). Keys
// stdp.tau_plus_ms, stdp.tau_minus_ms, stdp.a_plus, stdp.a_minus,
// stdp.w_max (weight units as weight).
type ProjectionSTDP struct {
	TauPlusMs  float64 `yaml:"tau_plus_ms"`  // τ₊, ms (> 0)
	TauMinusMs float64 `yaml:"tau_minus_ms"` // τ₋, ms (> 0)
	APlus      float64 `yaml:"a_plus"`       // A₊ (≥ 0)
	AMinus     float64 `yaml:"a_minus"`      // A₋ (≥ 0)
	WMax       float64 `yaml:"w_max"`        // upper weight bound (> 0)
}

// model returns the single-synapse rule with the same parameters.
func (p *ProjectionSTDP) model() model.STDP {
	return model.STDP{APlus: p.APlus, AMinus: p.AMinus, TauPlus: p.TauPlusMs, TauMinus: p.TauMinusMs, WMax: p.WMax}
}

// ProjectionSTP is Tsodyks–Markram short-term plasticity of a projection
// (Tsodyks & Markram 1997, PNAS 94:719; Markram, Wang & Tsodyks 1998, PNAS
// 95:5323; the formulas of model.STP). The state (u, x) is kept per
// presynaptic neuron — every synapse of one source neuron sees the same
// spike train, so they share it — and is advanced exactly, event by event,
// at each presynaptic spike at step s (time s·dt):
//
//	x ← 1 − (1 − x)e^(−Δ/τ_rec),  u ← u e^(−Δ/τ_facil)  (u ← 0 if τ_facil = 0)
//	u ← u + U(1 − u);  efficacy = u·x;  x ← x − u·x
//
// with Δ the time since the neuron's previous spike; the spike delivers
// weight·u·x to each target. Keys stp.u, stp.tau_rec_ms, stp.tau_facil_ms.
type ProjectionSTP struct {
	U          float64 `yaml:"u"`            // utilization increment, (0, 1]
	TauRecMs   float64 `yaml:"tau_rec_ms"`   // recovery time constant τ_rec, ms (> 0)
	TauFacilMs float64 `yaml:"tau_facil_ms"` // facilitation time constant τ_facil, ms (≥ 0; 0: none)
}

// model returns the single-synapse model with the same parameters.
func (p *ProjectionSTP) model() model.STP {
	return model.STP{U: p.U, TauD: p.TauRecMs, TauF: p.TauFacilMs}
}

// PoissonInput drives every neuron of a population with its own N
// independent Poisson sources at RateHz each (Brian's PoissonInput; the
// external input of Brunel 2000): per step the receptor receives
// Weight·k with k ~ Poisson(N·RateHz·dt), drawn independently per neuron.
type PoissonInput struct {
	To       string   `yaml:"to"`
	Receptor Receptor `yaml:"receptor"`
	N        int      `yaml:"n"`       // sources per neuron (C_ext)
	RateHz   float64  `yaml:"rate_hz"` // rate of each source
	Weight   float64  `yaml:"weight"`  // as Projection.Weight
}

// Sheet places neurons on a square cortical sheet and an electrode array on
// it, for distance-dependent connectivity and electrode stimulation.
//
// Every neuron is placed uniformly at random on [0, WidthUM)². Electrodes
// form a Grid×Grid square array at PitchUM centred on the sheet, without
// its four corners when Grid ≥ 3 (Grid = 10 gives the 96 sites of a
// Utah-like array, numbered row-major as in MotorCortex). A pulse of
// amplitude I on an electrode directly activates (makes fire in that step)
// every non-refractory neuron within r = √(I/K) of it: the current–distance
// relation I = K·r² of Stoney, Thompson & Asanuma (1968, J Neurophysiol
// 31:659), with K = KUAPerMM2 µA/mm² (Tehovnik 1996, J Neurosci Methods
// 65:1, reports 100–4000 µA/mm²; 1250 µA/mm² activates neurons within
// 200 µm at 50 µA, the scale Histed et al. 2009, Neuron 63:508, observed).
type Sheet struct {
	WidthUM   float64 `yaml:"width_um"`     // side of the sheet, µm (> 0)
	Grid      int     `yaml:"grid"`         // electrodes per side (0: no electrodes)
	PitchUM   float64 `yaml:"pitch_um"`     // electrode spacing, µm
	KUAPerMM2 float64 `yaml:"k_ua_per_mm2"` // current–distance constant K
	MaxUA     float64 `yaml:"max_ua"`       // largest amplitude honoured; sets the precomputed reach
	StimQueue int     `yaml:"stim_queue"`   // pending plus ongoing pulse trains and injections
}

// NetworkConfig describes a spiking network: populations, their
// connectivity, external inputs and the sheet, the clock and the seed.
type NetworkConfig struct {
	Name    string  `yaml:"name"`
	DtMs    float64 `yaml:"dt_ms"`   // step, ms
	Seed    uint64  `yaml:"seed"`    // seed of every random draw
	Threads int     `yaml:"threads"` // worker goroutines (≥ 1); results do not depend on it

	Populations []Population   `yaml:"populations"`
	Projections []Projection   `yaml:"projections"`
	Inputs      []PoissonInput `yaml:"inputs"`
	Sheet       Sheet          `yaml:"sheet"`
}

// DefaultSheet returns a 4 mm sheet carrying a 10×10 Utah-like array at
// 400 µm (96 electrodes), K = 1250 µA/mm² (see Sheet), amplitudes up to
// 200 µA and 16 queued stimuli.
func DefaultSheet() Sheet {
	return Sheet{WidthUM: 4000, Grid: 10, PitchUM: 400, KUAPerMM2: 1250, MaxUA: 200, StimQueue: 16}
}

// DefaultNetworkConfig returns an empty network with the common defaults:
// dt = 0.1 ms (the step of the Brette et al. 2007 benchmarks), seed 1, one
// thread, the default sheet. Add populations and projections, or start from
// a preset (Preset).
func DefaultNetworkConfig() NetworkConfig {
	return NetworkConfig{Name: "network", DtMs: 0.1, Seed: 1, Threads: 1, Sheet: DefaultSheet()}
}

// Limits of the engine.
const (
	maxNeurons   = 1 << 30
	maxDelaySlot = 1 << 15 // delays in steps fit a uint16
	maxThreads   = 256
	maxPoissonL  = 700 // largest mean count per step of a PoissonInput (the pmf recurrence starts at e^{−λ})
)

// delayStepsOf rounds a delay in ms to whole steps.
func delayStepsOf(ms, dt float64) int { return int(math.Round(ms / dt)) }

// Validate reports every problem of c at once, each as "key: message". It
// checks what the network can be built from: names, sizes, parameters,
// connectivity that cannot exist (an in-degree above the presynaptic
// population without multapses, negative conductances), steps that break
// the integration (dt above τ_m/10 or t_ref), delays below one step.
func (c *NetworkConfig) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
	}
	dtOK := c.DtMs > 0 && finite(c.DtMs)
	if !dtOK {
		bad("dt_ms", "must be finite and > 0, got %v", c.DtMs)
	}
	if c.Threads < 1 || c.Threads > maxThreads {
		bad("threads", "must be in [1, %d], got %d", maxThreads, c.Threads)
	}
	if len(c.Populations) == 0 {
		bad("populations", "need at least one population")
	}
	pops := map[string]int{}
	total := 0
	for i := range c.Populations {
		p := &c.Populations[i]
		key := fmt.Sprintf("populations[%d]", i)
		if p.Name == "" {
			bad(key+".name", "must not be empty")
		} else if _, dup := pops[p.Name]; dup {
			bad(key+".name", "%q used twice", p.Name)
		} else {
			pops[p.Name] = i
		}
		if p.N < 1 || p.N > maxNeurons {
			bad(key+".n", "must be in [1, %d], got %d", maxNeurons, p.N)
		} else {
			total += p.N
		}
		errs = append(errs, p.validate(key, c.DtMs, dtOK)...)
	}
	if total > maxNeurons {
		bad("populations", "%d neurons in all, more than %d", total, maxNeurons)
	}
	for i := range c.Projections {
		errs = append(errs, c.validateProjection(i, pops, dtOK)...)
	}
	for i := range c.Inputs {
		in := &c.Inputs[i]
		key := fmt.Sprintf("inputs[%d]", i)
		pi, ok := pops[in.To]
		if !ok {
			bad(key+".to", "no population %q", in.To)
		}
		if in.Receptor != Exc && in.Receptor != Inh {
			bad(key+".receptor", "must be exc or inh, got %q", in.Receptor)
		}
		if in.N < 1 {
			bad(key+".n", "must be ≥ 1, got %d", in.N)
		}
		if !(in.RateHz >= 0) || !finite(in.RateHz) {
			bad(key+".rate_hz", "must be finite and ≥ 0, got %v", in.RateHz)
		}
		if dtOK && in.N >= 1 && in.RateHz >= 0 {
			if l := float64(in.N) * in.RateHz * c.DtMs / 1000; l > maxPoissonL {
				bad(key+".rate_hz", "mean count per step N·rate·dt = %v exceeds %d", l, maxPoissonL)
			}
		}
		if ok {
			errs = append(errs, checkWeight(key+".weight", in.Weight, &c.Populations[pi])...)
		}
	}
	errs = append(errs, c.Sheet.validate("sheet")...)
	return errors.Join(errs...)
}

func (p *Population) validate(key string, dt float64, dtOK bool) []error {
	var errs []error
	bad := func(k, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s.%s: %s", key, k, fmt.Sprintf(format, args...)))
	}
	switch p.Model {
	case ModelIzhikevich, ModelAdEx:
		errs = append(errs, p.validateModel(key, dt, dtOK)...)
	case ModelLIF, ModelLIFCond:
		errs = append(errs, paramErrs(key+".lif", p.LIF.Validate())...)
		if p.LIF.GE != 0 || p.LIF.GI != 0 {
			bad("lif.ge", "tonic conductances GE, GI must be 0 (synaptic conductances are per neuron)")
		}
		delta := p.Model == ModelLIF && p.TauEMs == 0 && p.TauIMs == 0
		if !delta {
			for _, t := range []struct {
				k string
				v float64
			}{{"tau_e_ms", p.TauEMs}, {"tau_i_ms", p.TauIMs}} {
				if !(t.v > 0) || !finite(t.v) {
					if p.Model == ModelLIF {
						bad(t.k, "must be finite and > 0 (or tau_e_ms = tau_i_ms = 0 for delta synapses), got %v", t.v)
					} else {
						bad(t.k, "must be finite and > 0, got %v", t.v)
					}
				}
			}
		}
		if !finite(p.IExtPA) {
			bad("i_ext_pa", "must be finite, got %v", p.IExtPA)
		}
		if dtOK && p.LIF.Validate() == nil {
			// Exact integration is stable for any step; these bounds keep the
			// threshold resolved (one step ≤ τ_m/10) and the refractory
			// period at least one step long.
			if tm := p.LIF.C / p.LIF.GL; dt > tm/10 {
				bad("lif", "dt %v ms exceeds τ_m/10 = %v ms", dt, tm/10)
			}
			if p.LIF.TRef > 0 && dt > p.LIF.TRef {
				bad("lif.tref", "%v ms is shorter than one step (%v ms)", p.LIF.TRef, dt)
			}
		}
		for _, d := range []struct {
			k string
			d Dist
		}{{"init_v", p.InitV}, {"init_e", p.InitE}, {"init_i", p.InitI}} {
			if err := d.d.validate(); err != nil {
				bad(d.k, "%v", err)
			}
		}
	case ModelPoisson:
		if !(p.RateHz >= 0) || !finite(p.RateHz) {
			bad("rate_hz", "must be finite and ≥ 0, got %v", p.RateHz)
		} else if dtOK && p.RateHz*dt/1000 > 1 {
			bad("rate_hz", "%v Hz gives a spike probability per step above 1 at dt = %v ms", p.RateHz, dt)
		}
	default:
		bad("model", "must be lif, lif-cond, izhikevich, adex or poisson, got %q", p.Model)
	}
	return errs
}

// paramErrs turns the errors of a model parameter Validate ("Field:
// message" lines) into errors keyed by the yaml key of the field (its
// lowercased name) under key.
func paramErrs(key string, err error) []error {
	if err == nil {
		return nil
	}
	var errs []error
	for _, line := range strings.Split(err.Error(), "\n") {
		if f, msg, ok := strings.Cut(line, ": "); ok {
			line = strings.ToLower(f) + ": " + msg
		}
		errs = append(errs, fmt.Errorf("%s.%s", key, line))
	}
	return errs
}

// Largest steps of the izhikevich and adex updates (forward Euler, as the
// model package's steppers).
const (
	// izhMaxDtMs: Izhikevich (2003) integrated v with 0.5 ms Euler steps
	// (model.IzhikevichStepper's bound); beyond it the quadratic v equation
	// runs away before the reset.
	izhMaxDtMs = 0.5
	// adexMaxDtMs and τ_m/20 bound the Euler step on the exponential
	// upswing (model.AdExStepper's bounds).
	adexMaxDtMs = 0.1
)

// validateModel checks an izhikevich or adex population.
func (p *Population) validateModel(key string, dt float64, dtOK bool) []error {
	var errs []error
	bad := func(k, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s.%s: %s", key, k, fmt.Sprintf(format, args...)))
	}
	if p.Model == ModelIzhikevich {
		err := p.Izhikevich.Validate()
		errs = append(errs, paramErrs(key+".izhikevich", err)...)
		if dtOK && dt > izhMaxDtMs {
			bad("izhikevich", "dt %v ms exceeds %v ms, the largest stable Euler step of the quadratic v equation", dt, izhMaxDtMs)
		}
	} else {
		err := p.AdEx.Validate()
		errs = append(errs, paramErrs(key+".adex", err)...)
		if dtOK && err == nil {
			if m := math.Min(adexMaxDtMs, p.AdEx.C/p.AdEx.GL/20); dt > m {
				bad("adex", "dt %v ms exceeds %v ms (min of 0.1 ms and τ_m/20), the largest stable Euler step on the exponential upswing", dt, m)
			}
			if p.AdEx.TRef > 0 && dt > p.AdEx.TRef {
				bad("adex.tref", "%v ms is shorter than one step (%v ms)", p.AdEx.TRef, dt)
			}
		}
	}
	for _, t := range []struct {
		k string
		v float64
	}{{"tau_e_ms", p.TauEMs}, {"tau_i_ms", p.TauIMs}} {
		if !(t.v > 0) || !finite(t.v) {
			bad(t.k, "must be finite and > 0, got %v", t.v)
		}
	}
	if !finite(p.IExtPA) {
		bad("i_ext_pa", "must be finite, got %v", p.IExtPA)
	}
	for _, d := range []struct {
		k string
		d Dist
	}{{"init_v", p.InitV}, {"init_e", p.InitE}, {"init_i", p.InitI}} {
		if err := d.d.validate(); err != nil {
			bad(d.k, "%v", err)
		}
	}
	return errs
}

func (d Dist) validate() error {
	switch d.Kind {
	case "", "const":
		if !finite(d.A) {
			return fmt.Errorf("a must be finite, got %v", d.A)
		}
	case "uniform":
		if !finite(d.A) || !finite(d.B) || d.B < d.A {
			return fmt.Errorf("uniform needs finite a ≤ b, got [%v, %v)", d.A, d.B)
		}
	case "normal":
		if !finite(d.A) || !finite(d.B) || d.B < 0 {
			return fmt.Errorf("normal needs a finite mean a and sd b ≥ 0, got %v, %v", d.A, d.B)
		}
	default:
		return fmt.Errorf("kind must be const, uniform or normal, got %q", d.Kind)
	}
	return nil
}

// checkWeight rejects weights the target cannot take: non-finite ones, and
// negative conductances.
func checkWeight(key string, w float64, to *Population) []error {
	switch {
	case !finite(w):
		return []error{fmt.Errorf("%s: must be finite, got %v", key, w)}
	case to.Model == ModelLIFCond && w < 0:
		return []error{fmt.Errorf("%s: %v nS is a negative conductance (population %q is lif-cond)", key, w, to.Name)}
	case to.Model == ModelPoisson:
		return []error{fmt.Errorf("%s: population %q is a poisson source and takes no input", key, to.Name)}
	}
	return nil
}

func (c *NetworkConfig) validateProjection(i int, pops map[string]int, dtOK bool) []error {
	pr := &c.Projections[i]
	key := fmt.Sprintf("projections[%d]", i)
	var errs []error
	bad := func(k, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s.%s: %s", key, k, fmt.Sprintf(format, args...)))
	}
	fi, okF := pops[pr.From]
	ti, okT := pops[pr.To]
	if !okF {
		bad("from", "no population %q", pr.From)
	}
	if !okT {
		bad("to", "no population %q", pr.To)
	}
	if pr.Receptor != Exc && pr.Receptor != Inh {
		bad("receptor", "must be exc or inh, got %q", pr.Receptor)
	}
	var nFrom, nTo int
	if okF {
		nFrom = c.Populations[fi].N
	}
	if okT {
		nTo = c.Populations[ti].N
		errs = append(errs, checkWeight(key+".weight", pr.Weight, &c.Populations[ti])...)
	}
	if pr.STP != nil {
		if !finite(pr.STP.U) || !(pr.STP.U > 0 && pr.STP.U <= 1) {
			bad("stp.u", "must be in (0, 1], got %v", pr.STP.U)
		}
		if !finite(pr.STP.TauRecMs) || !(pr.STP.TauRecMs > 0) {
			bad("stp.tau_rec_ms", "must be finite and > 0, got %v", pr.STP.TauRecMs)
		}
		if !finite(pr.STP.TauFacilMs) || !(pr.STP.TauFacilMs >= 0) {
			bad("stp.tau_facil_ms", "must be finite and ≥ 0, got %v", pr.STP.TauFacilMs)
		}
	}
	if d := pr.STDP; d != nil {
		for _, x := range []struct {
			k   string
			v   float64
			pos bool
		}{{"tau_plus_ms", d.TauPlusMs, true}, {"tau_minus_ms", d.TauMinusMs, true}, {"a_plus", d.APlus, false},
			{"a_minus", d.AMinus, false}, {"w_max", d.WMax, true}} {
			switch {
			case x.pos && (!finite(x.v) || !(x.v > 0)):
				bad("stdp."+x.k, "must be finite and > 0, got %v", x.v)
			case !x.pos && (!finite(x.v) || !(x.v >= 0)):
				bad("stdp."+x.k, "must be finite and ≥ 0, got %v", x.v)
			}
		}
		if finite(d.WMax) && d.WMax > 0 {
			if !(pr.Weight >= 0 && pr.Weight <= d.WMax) {
				bad("weight", "must be in [0, stdp.w_max = %v] with stdp, got %v", d.WMax, pr.Weight)
			}
			for k, w := range pr.Weights {
				if !(w >= 0 && w <= d.WMax) {
					bad(fmt.Sprintf("weights[%d]", k), "must be in [0, stdp.w_max = %v] with stdp, got %v", d.WMax, w)
				}
			}
		}
		if pr.Receptor == Inh && okT && c.Populations[ti].Model == ModelLIF && c.Populations[ti].TauEMs == 0 && c.Populations[ti].TauIMs == 0 {
			bad("stdp", "inh delta synapses carry negative weights, which stdp's [0, w_max] does not allow")
		}
	}
	same := okF && okT && fi == ti
	switch pr.Rule {
	case ConnProb, ConnDistance:
		if !(pr.P > 0 && pr.P <= 1) {
			bad("p", "must be in (0, 1], got %v", pr.P)
		}
		if pr.Rule == ConnDistance {
			if !(pr.SigmaUM > 0) || !finite(pr.SigmaUM) {
				bad("sigma_um", "must be finite and > 0, got %v", pr.SigmaUM)
			}
			if !(c.Sheet.WidthUM > 0) {
				bad("rule", "distance needs a sheet (sheet.width_um > 0)")
			}
		}
		if okF && okT && pr.P > 0 {
			if m := pr.P * float64(nFrom) * float64(nTo); m > math.MaxInt32/2 {
				bad("p", "expects %.3g synapses, more than %d", m, math.MaxInt32/2)
			}
		}
	case ConnInDegree:
		avail := nFrom
		if same && !pr.Autapses {
			avail--
		}
		switch {
		case pr.K < 1:
			bad("k", "must be ≥ 1, got %d", pr.K)
		case okF && !pr.Multapses && pr.K > avail:
			bad("k", "in-degree %d exceeds the %d distinct presynaptic neurons of %q (allow multapses or lower k)", pr.K, avail, pr.From)
		case okF && pr.Multapses && avail < 1:
			bad("k", "population %q offers no presynaptic neuron", pr.From)
		}
		if okT && int64(pr.K)*int64(nTo) > math.MaxInt32/2 {
			bad("k", "%d·%d synapses exceed %d", pr.K, nTo, math.MaxInt32/2)
		}
	case ConnList:
		if len(pr.Pre) != len(pr.Post) {
			bad("post", "length %d differs from pre's %d", len(pr.Post), len(pr.Pre))
		}
		if pr.Weights != nil && len(pr.Weights) != len(pr.Pre) {
			bad("weights", "length %d differs from pre's %d", len(pr.Weights), len(pr.Pre))
		}
		if pr.DelaysMs != nil && len(pr.DelaysMs) != len(pr.Pre) {
			bad("delays_ms", "length %d differs from pre's %d", len(pr.DelaysMs), len(pr.Pre))
		}
		for j, v := range pr.Pre {
			if okF && (v < 0 || int(v) >= nFrom) {
				bad(fmt.Sprintf("pre[%d]", j), "%d out of range [0, %d)", v, nFrom)
				break
			}
		}
		for j, v := range pr.Post {
			if okT && (v < 0 || int(v) >= nTo) {
				bad(fmt.Sprintf("post[%d]", j), "%d out of range [0, %d)", v, nTo)
				break
			}
		}
		if okT {
			for j, w := range pr.Weights {
				if e := checkWeight(fmt.Sprintf("%s.weights[%d]", key, j), w, &c.Populations[ti]); e != nil {
					errs = append(errs, e...)
					break
				}
			}
		}
		if dtOK {
			for j, d := range pr.DelaysMs {
				if !finite(d) || delayStepsOf(d, c.DtMs) < 1 || delayStepsOf(d, c.DtMs) > maxDelaySlot {
					bad(fmt.Sprintf("delays_ms[%d]", j), "must be in [dt, %v] ms, got %v", float64(maxDelaySlot)*c.DtMs, d)
					break
				}
			}
		}
	default:
		bad("rule", "must be prob, indegree, list or distance, got %q", pr.Rule)
	}
	if pr.Rule != ConnList || pr.DelaysMs == nil {
		if dtOK {
			if !finite(pr.DelayMs) || delayStepsOf(pr.DelayMs, c.DtMs) < 1 {
				bad("delay_ms", "must be at least one step (%v ms), got %v", c.DtMs, pr.DelayMs)
			} else if delayStepsOf(pr.DelayMs, c.DtMs) > maxDelaySlot {
				bad("delay_ms", "%v ms exceeds %d steps", pr.DelayMs, maxDelaySlot)
			}
			if pr.DelayMaxMs != 0 {
				if !finite(pr.DelayMaxMs) || pr.DelayMaxMs < pr.DelayMs {
					bad("delay_max_ms", "must be ≥ delay_ms (%v), got %v", pr.DelayMs, pr.DelayMaxMs)
				} else if delayStepsOf(pr.DelayMaxMs, c.DtMs) > maxDelaySlot {
					bad("delay_max_ms", "%v ms exceeds %d steps", pr.DelayMaxMs, maxDelaySlot)
				}
			}
		}
	}
	if okF && c.Populations[fi].Model == "" {
		bad("from", "population %q has no model", pr.From)
	}
	return errs
}

func (s *Sheet) validate(key string) []error {
	var errs []error
	bad := func(k, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s.%s: %s", key, k, fmt.Sprintf(format, args...)))
	}
	if !(s.WidthUM >= 0) || !finite(s.WidthUM) {
		bad("width_um", "must be finite and ≥ 0, got %v", s.WidthUM)
	}
	if s.Grid < 0 || s.Grid > 256 {
		bad("grid", "must be in [0, 256], got %d", s.Grid)
	}
	if s.Grid > 0 {
		if !(s.WidthUM > 0) {
			bad("grid", "electrodes need a sheet (width_um > 0)")
		}
		if !(s.PitchUM > 0) || !finite(s.PitchUM) {
			bad("pitch_um", "must be finite and > 0, got %v", s.PitchUM)
		} else if float64(s.Grid-1)*s.PitchUM > s.WidthUM {
			bad("pitch_um", "a %d×%d array at %v µm spans %v µm, wider than the sheet (%v µm)",
				s.Grid, s.Grid, s.PitchUM, float64(s.Grid-1)*s.PitchUM, s.WidthUM)
		}
		if !(s.KUAPerMM2 > 0) || !finite(s.KUAPerMM2) {
			bad("k_ua_per_mm2", "must be finite and > 0, got %v", s.KUAPerMM2)
		}
		if !(s.MaxUA > 0) || !finite(s.MaxUA) {
			bad("max_ua", "must be finite and > 0, got %v", s.MaxUA)
		}
	}
	if s.StimQueue < 1 || s.StimQueue > 1<<16 {
		bad("stim_queue", "must be in [1, 65536], got %d", s.StimQueue)
	}
	return errs
}
