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
// longer than max_train; amplitude, charge per phase Q = I·t, charge
// density D = Q/A for the configured electrode area, the Shannon (1992)
// line log₁₀Q + log₁₀D ≤ k, and the rise of the amplitude per second on an
// electrode are bounded (defaults 100 µA, 20 nC, 1000 µC/cm² on
// 2·10⁻⁵ cm², k = 1.5, no ramp limit: intracortical microstimulation) and,
// in clip mode, the amplitude is lowered to fit; and at most ⌊max_rate_hz⌋
// pulse onsets and max_charge_per_s_uc of charge per phase, across all
// electrodes and counting every pulse of a train at its own time, fall in
// any 1 s window. Charge balance holds by type: a Pulse is biphasic and
// symmetric, with one amplitude and width for both phases (Merrill et al.
// 2005). The sink receives only compliant pulses, in a pattern owned by the
// Limit; the caller's is never modified. Every pulse is counted
// (Limit.Stats: Pulses = Passed + Refused, Clipped ⊆ Passed, and per Rule),
// refusals and clips are logged through a burst sampler, and after Close
// every pattern is refused with ErrClosed and the sink's outputs go to
// zero. The rate rule's clock is injectable (LimitConfig.Clock), so that
// lockstep runs refuse deterministically.
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
// # Watchdog and controller faults
//
// A Watchdog sits in front of the Limit. The loop feeds it the arrival
// stamp of every fresh block (Watchdog.Feed); when none came within
// WatchdogConfig.Stale (checked on every Stimulate and by the Watchdog's own
// goroutine), it turns the sink's outputs off (Stopper.StopStimulation, or
// Close for a sink that cannot stop) and refuses every pulse under
// RuleStale until input is fresh again. A SafeController wraps a
// Controller: a panic in it is recovered, turns the outputs off and
// disables the controller for good.
//
// # Sinks
//
// SimSink delivers patterns into the synthetic brain (sim.Stimulable, such
// as sim.MotorCortex), one sim.Stimulus per pulse at the pattern's sample;
// its Close cancels every pending and ongoing stimulus.
//
// NATSPublishSink publishes every delivered pattern as JSON (schema version
// 1, see SchemaVersion; encoded without allocating by AppendPatternJSON).
// ServeNATSCommands is the other direction: it takes stimulation commands
// in the same schema from a subject, parses them strictly (ParseCommand:
// unknown, missing or repeated keys, wrong types, out-of-range numbers and
// replayed seq are refused, counted by reason and logged) and passes the
// valid ones through a Limit.
//
// PulsePalSink drives a Sanworks Pulse Pal 2 over its serial protocol
// (handshake 213 72, parameters 213 74, trigger 213 77, abort 213 80) as a
// 4-channel stimulator behind a stimulus isolator, rounding every quantity
// towards less stimulation; package pulsepaltest is a fake Pulse Pal that
// parses the same opcodes behind a pseudo-terminal.
//
// Controllers, each reading one named component of the estimate it is
// given: ThresholdController (a decoded quantity crossing a level, with
// lockout); RateClampController (PI control of a population rate to a
// target with anti-windup, Newman et al. 2015; state "rate");
// EventController (line-length detection of events, Esteller et al. 2001,
// with threshold, lockout and refractory; state "lfp"); AdaptiveController
// (adaptive beta stimulation, Little et al. 2013: band power → amplitude in
// a clinician window with hysteresis and a ramp limit; state "beta_power");
// PhaseController (stimulation at a target phase of an oscillation estimated
// by AR forward prediction, Chen et al. 2013; one "lfp" estimate per
// sample); ScheduleController (open-loop periodic or seeded Poisson timing,
// for sham and comparison). The loop wires the threshold controller today.
//
// A typical chain, built once by the loop:
//
//	ctl, _ := stimulate.NewThresholdController(ctlCfg, decoder.StateNames(), rate)
//	lim, _ := stimulate.NewLimit(stimulate.NewSimSink(brain), limCfg, log)
//	dog, _ := stimulate.NewWatchdog(lim, dogCfg, nil, log)
//	safe, _ := stimulate.NewSafeController(ctl, dog, log)
//	...
//	dog.Feed(block.Arrived) // every fresh block
//	if safe.Update(&pat, &est) {
//		err := dog.Stimulate(ctx, &pat) // counted, never fatal
//	}
package stimulate
