package sim

// Stimulus is a charge-balanced biphasic pulse train delivered through one
// electrode of a simulated array.
type Stimulus struct {
	Electrode   int     // target electrode, 0-based
	AmplitudeUA float64 // phase amplitude in µA
	PhaseUS     float64 // phase width in µs
	Count       int     // pulses in the train (≥ 1)
	FreqHz      float64 // train frequency (used when Count > 1)
	Sample      int64   // sample index at which the first pulse is applied; ≤ the current sample means at the next sample
	Arrived     int64   // arrival stamp carried for latency (monotonic ns), reported back when applied
}

// Stimulable is a simulated brain that accepts stimulation. Both methods may
// be called concurrently with the brain's own advance (real-time runs) and
// must not allocate after warm-up. StopStimulation cancels every pending and
// ongoing stimulus at once (outputs to zero). MotorCortex implements it.
type Stimulable interface {
	Stimulate(s Stimulus) error
	StopStimulation()
}
