//go:build !linux

package acquire

import "time"

// sleepUntil sleeps until the monotonic clock (Now) reaches deadline with
// time.Sleep, which rounds short waits up to the Go timer granularity (about
// 1 ms); callers loop on the clock.
func sleepUntil(deadline int64) {
	if d := deadline - Now(); d > 0 {
		time.Sleep(time.Duration(d))
	}
}

// PrecisePacing does nothing outside Linux (sleeps are time.Sleep there).
func PrecisePacing() error { return nil }
