//go:build race

package model

// raceEnabled is true under the race detector, where heavy single-goroutine
// numerical tests are skipped.
const raceEnabled = true
