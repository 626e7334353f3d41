// Package model holds bciloop's neural models: single neurons, synapses,
// plasticity rules, integrators and a single-cell simulator, plus rate and
// field models, encoding models and analysis tools. It imports only the
// standard library and gonum, and its state is plain slices of numbers so the
// spiking-network engine in package sim can update thousands of cells without
// allocating.
//
// # Integrators and the single-cell simulator
//
// A System is dx/dt = f(t, x). RK4 is the classical fixed-step method; RK45 is
// adaptive Dormand–Prince 5(4) (Dormand & Prince 1980) with error control and
// fourth-order dense output; ExpRelax is the exact (exponential-Euler) update
// of a linear relaxation x ← x∞ + (x − x∞)e^(−h/τ) (Rush & Larsen 1978).
// FindCrossing locates threshold crossings on dense output, so spikes are
// timed inside a step and none is missed.
//
// Every single-cell model implements Model (and Spiker when it spikes).
// Simulate integrates one with an input I(t) (Const, Step, Pulse, Steps or any
// InputFunc) and returns a Trajectory: sample times, the name, unit and values
// of every state variable, and spike times.
//
// # Neurons (time in ms)
//
//   - Membrane: conductance membrane C dV/dt = −Σ g_i(V − E_i) + I.
//   - LIF: leaky integrate-and-fire, current- and conductance-based, with a
//     refractory period; LIFRate is its analytic f–I curve.
//   - Izhikevich: Izhikevich (2003) IEEE TNN 14:1569 with the published classes
//     RS, IB, CH, FS and LTS.
//   - AdEx: adaptive exponential integrate-and-fire, Brette & Gerstner (2005)
//     J Neurophysiol 94:3637.
//   - FitzHughNagumo: FitzHugh (1961) Biophys J 1:445, with its analytic Hopf
//     current.
//   - HodgkinHuxley: Hodgkin & Huxley (1952) J Physiol 117:500, at 6.3 °C with
//     Q10 = 3 temperature scaling.
//   - RateUnit: τ dr/dt = −r + f(I) (Dayan & Abbott 2001, §7.2).
//   - JansenRit: the Jansen & Rit (1995) Biol Cybern 73:357 cortical column, an
//     alpha-band EEG generator.
//
// Population steppers (LIFStepper, LIFCondStepper, IzhikevichStepper,
// AdExStepper, HHStepper) advance many cells held in parallel slices by one
// fixed step, validate their step size at construction and allocate nothing
// (LIF: exact integration with interpolated spike times; HH: Rush–Larsen).
//
// # Synapses and plasticity
//
// Synapse describes exponential, alpha and dual-exponential kernels (Dayan &
// Abbott 2001, §5.8) with closed-form peak time, charge and PSP; SynapseBank
// steps many of them exactly; SynapticInput and SynapticMembrane drive single
// cells with current and conductance synapses (SynapticCurrent, sign flip at
// E_rev). NMDA adds the Mg²⁺ block of Jahr & Stevens (1990)
// (JahrStevensBlock). STP and STPBank are Tsodyks–Markram (1997) short-term
// depression and facilitation with the closed-form steady state.
//
// Plasticity: Hebb (with decay) and Oja's (1982) rule; STDP and STDPBank,
// pair-based all-to-all STDP with traces, additive or multiplicative
// (Song, Miller & Abbott 2000; Gütig et al. 2003), with the Poisson drift of
// Kempter et al. (1999); Scaling and ScalingBank, homeostatic synaptic scaling
// W ← W·(r_target/r)^η (Turrigiano et al. 1998); and PlasticitySim, which
// applies STDP, short-term plasticity and scaling together to a weight matrix
// (open loop from spike trains, or closed loop through a neuron stepper) and
// reports statistics of each (PlasticityStats).
//
// # Networks, fields, dendrites, coding and analysis
//
// RateNetwork is τ dr/dt = −r + f(Wr + I) (or the current form τ dx/dt =
// −x + W f(x) + I), a System for RK4/RK45, with motif builders
// FeedforwardChainTo, HopfieldWeightsTo (Hopfield 1982), RingWeightsTo (ring
// attractor of Ben-Yishai, Bar-Or & Sompolinsky 1995; RingBumpHalfWidth),
// WTAWeightsTo (WTAThreshold, WTASteadyStateTo) and RandomCouplingTo
// (Sompolinsky, Crisanti & Sommers 1988). Field is an Amari (1977) neural field
// on a 1-D ring or 2-D torus, convolved by FFT, with optional adaptation and
// kernel asymmetry (AmariBumps, AmariFrontSpeed); Wave is the damped nonlinear
// wave equation (leapfrog, CFL-checked); ReactionDiffusion is the RK4 method
// of lines with FisherKPP and Schnakenberg kinetics (TuringGrowthRate).
// CableTree is a branched compartmental cable solved in O(N) by Hines (1984)
// elimination, with an optional integrate-and-fire soma. Encoding and reading
// of spike trains: CosineTuning (Georgopoulos 1986), GaussianTuning,
// VonMisesTuning, PopulationVector, SpikeGenerator (seeded Poisson by
// thinning, gamma renewal), BinnedRateTo, WindowRateTo, KernelRateTo
// (Dayan & Abbott 2001 ch. 1), EventPhaseTo, Hilbert and SpikePhaseTo.
// Analysis: FixedPoints, Nullclines2D, ContinueBranch and StabilityCrossings,
// LyapunovMap and LyapunovFlow (Benettin et al. 1980); MutualInfo with the
// Panzeri–Treves (1996) bias correction and MutualInfoShuffle, ChannelCapacity
// (Blahut–Arimoto), CodingEfficiency, TransferEntropy (Schreiber 2000); ISICV,
// FanoFactor, GolombRinzelChi, CountCorrelation, Welch spectra, and Digraph
// statistics (degrees, Reciprocity, TriadCensus against ERTriadExpectation).
package model
