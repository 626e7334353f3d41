//go:build linux

package acquire

import "golang.org/x/sys/unix"

// sleepUntil blocks the calling thread until the monotonic clock (Now)
// reaches deadline, with clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME),
// which wakes within the kernel's timer slack (50 µs by default) instead of
// Go's 1 ms timer granularity. It may return early on a signal (EINTR);
// callers loop on the clock.
func sleepUntil(deadline int64) {
	ts := unix.NsecToTimespec(deadline)
	_ = unix.ClockNanosleep(unix.CLOCK_MONOTONIC, unix.TIMER_ABSTIME, &ts, nil)
}
