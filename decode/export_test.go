package decode

// SyntheticKalmanBins exposes the seeded linear-Gaussian test model to the
// external test package: T consecutive 20-frame bins at 1 kHz from a
// d-state, n-channel model.
func SyntheticKalmanBins(d, n, T int, seed uint64) []Bin {
	s, c := testLDS(d, n, seed).simulate(T, seed+1)
	return toBins(s, c)
}
