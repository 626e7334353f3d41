// Package sim is the synthetic brain: simulated cortical populations that
// emit spikes with exposed ground truth and respond to stimulation, so that
// decoders, stimulation and latency can be tested in closed loop.
//
// MotorCortex is the fast preset: cosine-tuned units (Georgopoulos et al.
// 1982) on a Utah-like electrode array, driven by a smooth latent 2-D
// intended velocity and spiking as inhomogeneous Poisson processes, with the
// position and velocity exposed as ground truth per frame. It implements
// Stimulable: a pulse train on an electrode evokes a decaying rate transient
// in the units around it. SetIntent replaces the latent velocity by an
// Intent, the simulated user of a closed-loop task (package loop).
//
// MotorNet is the motor cortex as an E/I spiking network: 3200 excitatory
// and 800 inhibitory conductance-based LIF neurons (a Network), the
// excitatory ones driven by afferent input cosine-tuned to the latent
// intended velocity (Georgopoulos et al. 1986), under a 96-electrode
// Utah-like array whose electrodes each record the 1–3 nearest neurons as
// sorted units, with seeded missed and spurious spikes (UnitEvent: frame,
// electrode, unit). Truth is MotorCortex's [px, py, vx, vy]; an Intent can
// replace the latent velocity; pulses on an electrode make the neurons
// around it fire (Stimulable). Network.AddInput feeds it the tuned drive.
// MotorNetBroadband renders it as 30 kHz voltage per electrode (each
// unit's own waveform plus band-limited noise, Broadband).
//
// Network is the spiking-network engine: populations of current- or
// conductance-based leaky integrate-and-fire neurons, Izhikevich (2003) and
// AdEx (Brette & Gerstner 2005) neurons (and Poisson sources) held as
// struct-of-arrays state, sparse connectivity in CSR form (fixed
// probability, fixed in-degree, explicit lists, distance-dependent on a
// cortical sheet) with axonal delays in ring buffers, exponential or delta
// synapses, optionally with Tsodyks–Markram short-term plasticity (per
// presynaptic neuron) or additive pair-based STDP (per-synapse weights;
// Song, Miller & Abbott 2000) on a projection, Poisson inputs and injected
// currents. It is clock-driven with
// exact integration of the linear dynamics (Rotter & Diesmann 1999) and an
// exponential step for conductances, and event-driven spike delivery; it
// runs on several threads with target-partitioned delivery, so results are
// bit-identical whatever the thread count. Presets reproduce reference
// networks: the COBA and CUBA benchmarks of Brette et al. (2007, after
// Vogels & Abbott 2005), validated against Brian2 rates and ISI CVs, and the
// four regimes of Brunel's (2000) model A (Preset, Presets). Electrode
// pulses on the sheet activate the neurons within the current–distance
// radius √(I/K) (Stoney et al. 1968); currents can be injected into any
// group of neurons or through an electrode with a Gaussian fall-off; so a
// Network is Stimulable. SpikeStats, Synchrony and SpectrumPeak
// summarise its activity.
//
// A brain is advanced frame by frame by its owner (acquire.SimSource, or a
// test) with append-style, allocation-free calls; its state is kept in
// slices of numbers, not pointers, so that it costs the garbage collector
// nothing to scan. Stimulation may arrive concurrently from another
// goroutine.
//
// Continuous-signal presets, neural masses of Jansen & Rit (1995): EEG, a
// motor-imagery EEG generator (six sources with alpha and mu/beta rhythms,
// projected by a radial-dipole lead field to 11 named 10–20 channels at
// 250 Hz, 1/f background, a Graz-paradigm cue schedule whose imagery
// desynchronises mu and beta over the contralateral motor source, class
// ground truth per frame); BetaCircuit, a noise-driven mass just past its
// Hopf bifurcation giving ~22 Hz bursts in a 1 kHz LFP, with burst ground
// truth, that stimulation suppresses; SeizureCircuit, a mass whose
// excitability drifts slowly into ~5 Hz synchronous events, with an LFP,
// 40 multi-unit channels and event-onset ground truth. The beta and seizure
// circuits are Stimulable.
//
// Broadband renders multichannel voltage at 30 kHz for threshold-crossing
// pipelines: band-limited noise read from a seeded precomputed table plus a
// spike waveform per queued spike, from any brain's spikes; BroadbandCortex
// renders the motor cortex's units that way, one per channel.
//
// Everything random takes a seed; the same seed and the same stimulation give
// the same output bit for bit. Spikes use common random numbers (one uniform
// draw per unit per frame), so a run with stimulation differs from the run
// without it only where the stimulation raised a rate.
package sim
