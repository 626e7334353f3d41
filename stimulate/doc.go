// Package stimulate is the neuromodulation stage: pulses and patterns, the
// Stimulator interface that every sink implements, the safety wrapper Limit
// that is the only path to any sink, controllers that turn estimates into
// patterns, and the sinks (the synthetic brain, and more).
package stimulate
