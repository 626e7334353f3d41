// Package sim is the synthetic brain: simulated cortical populations that
// emit spikes with exposed ground truth and respond to stimulation, so that
// decoders, stimulation and latency can be tested in closed loop.
//
// Everything random takes a seed; the same seed and the same stimulation give
// the same output bit for bit.
package sim
