// Package sim is the synthetic brain: simulated cortical populations that
// emit spikes with exposed ground truth and respond to stimulation, so that
// decoders, stimulation and latency can be tested in closed loop.
//
// MotorCortex is the fast preset: cosine-tuned units (Georgopoulos et al.
// 1982) on a Utah-like electrode array, driven by a smooth latent 2-D
// intended velocity and spiking as inhomogeneous Poisson processes, with the
// position and velocity exposed as ground truth per frame. It implements
// Stimulable: a pulse train on an electrode evokes a decaying rate transient
// in the units around it.
//
// A brain is advanced frame by frame by its owner (acquire.SimSource, or a
// test) with append-style, allocation-free calls; its state is kept in
// slices of numbers, not pointers, so that it costs the garbage collector
// nothing to scan. Stimulation may arrive concurrently from another
// goroutine.
//
// Everything random takes a seed; the same seed and the same stimulation give
// the same output bit for bit. Spikes use common random numbers (one uniform
// draw per unit per frame), so a run with stimulation differs from the run
// without it only where the stimulation raised a rate.
package sim
