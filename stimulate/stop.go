package stimulate

import "errors"

// Stopper is implemented by sinks that can turn every output to zero at
// once without being closed: pending and ongoing pulses stop, and later
// patterns are delivered again. A Watchdog uses it to silence the sink
// while the input is stale and to resume when it is fresh again; sinks
// that cannot stop without closing are closed instead.
//
// Concurrency: StopStimulation may be called from any goroutine, also while
// Stimulate runs.
type Stopper interface {
	StopStimulation() error
}

// ErrNotStoppable is returned by Limit.StopStimulation when its sink does
// not implement Stopper.
var ErrNotStoppable = errors.New("stimulate: sink cannot stop without closing")

// StopStimulation cancels every pending and ongoing stimulus of the target
// (sim.Stimulable.StopStimulation) and keeps the sink open. After Close it
// does nothing.
func (s *SimSink) StopStimulation() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		s.target.StopStimulation()
	}
	return nil
}
