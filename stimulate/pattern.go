package stimulate

// Pulse is a charge-balanced biphasic pulse train on one electrode: each
// pulse is a cathodic phase of AmplitudeUA for PhaseUS, an interphase gap of
// GapUS, then an anodic phase of the same amplitude and width.
type Pulse struct {
	Electrode   int     // target electrode, 0-based
	AmplitudeUA float64 // phase amplitude in µA (> 0)
	PhaseUS     float64 // width of each phase in µs
	GapUS       float64 // interphase gap in µs
	Count       int     // pulses in the train (≥ 1)
	FreqHz      float64 // train frequency; ignored when Count is 1
}

// ChargeNC returns the charge per phase, Q = I·t, in nC.
func (p *Pulse) ChargeNC() float64 { return p.AmplitudeUA * p.PhaseUS * 1e-3 }

// Pattern is what one loop iteration asks a stimulator to deliver.
//
// Ownership: the holder owns the Pattern and its Pulses slice; a Stimulator
// must not retain either after Stimulate returns.
type Pattern struct {
	Seq     uint64  // +1 per pattern from one controller
	Sample  int64   // sample-clock index at which delivery is due; 0 means as soon as possible
	Arrived int64   // arrival stamp (acquire.Now) of the block that caused it
	Pulses  []Pulse // pulses to deliver
}
