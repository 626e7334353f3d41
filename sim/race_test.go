//go:build race

package sim

// raceEnabled is true under the race detector, which slows simulation
// about tenfold: statistical tests of large networks then run short spans
// or are skipped (the full checks run in plain go test).
const raceEnabled = true
