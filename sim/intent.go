package sim

// Intent supplies a synthetic motor brain's intended 2-D velocity from
// outside the brain: the simulated user of a closed-loop task (package loop),
// who sees the decoded cursor and aims at the target, so that decoding errors
// feed back into the neural activity (Cunningham et al. 2011, J Neurophysiol
// 105:1932, "A closed-loop human simulator for investigating the role of
// feedback control in brain-machine interfaces").
//
// A brain with an Intent set takes its velocity from it instead of from its
// own latent process. Velocity is called once per frame, in frame order, on
// the goroutine advancing the brain; it must be deterministic given its
// inputs and must not allocate.
type Intent interface {
	// Velocity returns the intended velocity (cm/s) for frame sample.
	Velocity(sample int64) (vx, vy float64)
}
