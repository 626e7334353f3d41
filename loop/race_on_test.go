//go:build race

package loop

// raceEnabled: under the race detector sync.Pool drops items at random, so
// the NATS client and server (whose allocations AllocsPerRun counts too:
// it reads process-wide malloc counts) allocate where they otherwise do not.
const raceEnabled = true
