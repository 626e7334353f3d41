package stimulate

import (
	"context"
	"fmt"
	"sync"

	"github.com/bciloop/bciloop/sim"
)

// SimSink delivers patterns into a synthetic brain (a sim.Stimulable such
// as sim.MotorCortex). Put it behind a Limit: it forwards whatever it gets.
//
// Each pulse becomes one sim.Stimulus with the same electrode, amplitude,
// phase width, count and frequency, Sample = Pattern.Sample (the frame of
// the first pulse; 0 or a past frame means the next frame) and Arrived =
// Pattern.Arrived. The interphase gap is not represented in sim.Stimulus
// and is dropped: the simulated tissue responds to each pulse as a whole.
//
// Concurrency: Stimulate is called from one goroutine at a time; Close may
// be called from any goroutine and waits for a Stimulate in progress, so
// that no pulse reaches the target after Close returns.
type SimSink struct {
	target sim.Stimulable
	mu     sync.Mutex
	closed bool
}

// NewSimSink returns a sink delivering into target.
func NewSimSink(target sim.Stimulable) *SimSink {
	if target == nil {
		panic("stimulate: NewSimSink: nil target")
	}
	return &SimSink{target: target}
}

// Stimulate hands every pulse of p to the target. A pulse the target
// rejects does not stop the others; the first rejection is returned, naming
// the pulse. After Close it returns ErrClosed and delivers nothing. It does
// not allocate when the target accepts every pulse.
func (s *SimSink) Stimulate(_ context.Context, p *Pattern) error {
	if p == nil {
		return errNilPattern
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	var first error
	for i := range p.Pulses {
		q := &p.Pulses[i]
		err := s.target.Stimulate(sim.Stimulus{
			Electrode:   q.Electrode,
			AmplitudeUA: q.AmplitudeUA,
			PhaseUS:     q.PhaseUS,
			Count:       q.Count,
			FreqHz:      q.FreqHz,
			Sample:      p.Sample,
			Arrived:     p.Arrived,
		})
		if err != nil && first == nil {
			first = fmt.Errorf("stimulate: sim sink: pattern %d pulse %d (electrode %d): %w", p.Seq, i, q.Electrode, err)
		}
	}
	return first
}

// Close stops every pending and ongoing stimulus of the target
// (sim.Stimulable.StopStimulation) and refuses later patterns. It is
// idempotent; only the first call stops the target.
func (s *SimSink) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		s.closed = true
		s.target.StopStimulation()
	}
	return nil
}
