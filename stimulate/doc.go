// Package stimulate is the neuromodulation stage: pulses and patterns, the
// Stimulator interface that every sink implements, the safety wrapper Limit
// that is the only path to any sink, controllers that turn estimates into
// patterns, and the sinks (the synthetic brain, and more).
//
// # Pulses and patterns
//
// A Pulse is a train of charge-balanced, cathodic-first biphasic pulses on
// one electrode (amplitude, phase width, interphase gap, count, frequency);
// its charge per phase is Q = I·t (Pulse.ChargeNC). A Pattern is what one
// loop iteration asks for: pulses, the sample-clock index at which delivery
// is due, and the arrival stamp of the block that caused it, carried on for
// latency measurement. The holder owns a Pattern; nothing retains one.
//
// # Safety
//
// Limit wraps a sink and judges every pulse on its own against LimitConfig
// (SCIENCE.md §6): values must be finite and positive, the electrode must
// exist, a train must be physically possible (1/f ≥ 2·phase + gap) and not
// longer than max_train; amplitude and charge per phase are bounded
// (defaults 100 µA and 20 nC, intracortical microstimulation) and, in clip
// mode, lowered to fit; and at most ⌊max_rate_hz⌋ pulse onsets, across all
// electrodes and counting every pulse of a train at its own time, fall in
// any 1 s window. The sink receives only compliant pulses, in a pattern
// owned by the Limit; the caller's is never modified. Every pulse is
// counted (Limit.Stats: Pulses = Passed + Refused, Clipped ⊆ Passed, and
// per Rule), refusals and clips are logged through a burst sampler, and
// after Close every pattern is refused with ErrClosed and the sink's outputs
// go to zero. The rate rule's clock is injectable (LimitConfig.Clock), so
// that lockstep runs refuse deterministically.
//
// # Controllers
//
// A Controller is called once per decoder estimate on the pipeline goroutine
// and fills a caller-owned Pattern when it decides to stimulate, without
// allocating. ThresholdController is the responsive controller: it fires a
// configured train when a decoded quantity (a state component such as "vx",
// or "speed" = hypot(vx, vy)) crosses a threshold in a chosen direction, with
// a lockout and a delivery delay counted on the sample clock.
//
// # Sinks
//
// SimSink delivers patterns into the synthetic brain (sim.Stimulable, such
// as sim.MotorCortex), one sim.Stimulus per pulse at the pattern's sample;
// its Close cancels every pending and ongoing stimulus.
//
// A typical chain, built once by the loop:
//
//	ctl, _ := stimulate.NewThresholdController(ctlCfg, decoder.StateNames(), rate)
//	lim, _ := stimulate.NewLimit(stimulate.NewSimSink(brain), limCfg, log)
//	...
//	if ctl.Update(&pat, &est) {
//		err := lim.Stimulate(ctx, &pat) // counted, never fatal
//	}
package stimulate
