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

// PrecisePacing sets the calling OS thread's timer slack to 1 ns
// (prctl(PR_SET_TIMERSLACK)), so that sleepUntil wakes at its deadline
// instead of up to 50 µs after it (the kernel's default slack for normal
// threads, see prctl(2)). Call it on a thread locked with
// runtime.LockOSThread that reads a real-time source; the setting stays
// with the thread.
func PrecisePacing() error {
	return unix.Prctl(unix.PR_SET_TIMERSLACK, 1, 0, 0, 0)
}
