//go:build !race

package sim_test

// raceEnabled: the race detector slows the network about tenfold, so the
// long decoding run is skipped under it.
const raceEnabled = false
