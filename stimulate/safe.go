package stimulate

import (
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/rs/zerolog"

	"github.com/bciloop/bciloop/decode"
)

// SafeController wraps a Controller so that a panic in it cannot leave
// stimulation running: the panic is recovered, the outputs are turned off
// through out (a Watchdog, a Limit, or any Stopper; a Stimulator that is
// not one is closed), the controller is disabled for good and the event
// is logged at error level with the panic value. A disabled SafeController
// never fires again; Reset does not enable it (build a new one).
//
// After a panic, dst may hold whatever the controller wrote before it;
// Update returns false, so the caller does not use it.
//
// Update does not allocate unless the controller panics.
type SafeController struct {
	ctl      Controller
	out      Stimulator
	log      zerolog.Logger
	disabled atomic.Bool
	panics   atomic.Uint64
}

// NewSafeController wraps ctl, turning out's outputs off on a panic.
func NewSafeController(ctl Controller, out Stimulator, log zerolog.Logger) (*SafeController, error) {
	if ctl == nil || out == nil {
		return nil, errors.New("stimulate: NewSafeController: nil controller or output")
	}
	return &SafeController{ctl: ctl, out: out, log: log}, nil
}

// Update calls the controller's Update unless disabled.
func (s *SafeController) Update(dst *Pattern, est *decode.Estimate) (fire bool) {
	if s.disabled.Load() {
		return false
	}
	defer func() {
		if v := recover(); v != nil {
			s.fail("update", v)
			fire = false
		}
	}()
	return s.ctl.Update(dst, est)
}

// Reset calls the controller's Reset unless disabled.
func (s *SafeController) Reset() {
	if s.disabled.Load() {
		return
	}
	defer func() {
		if v := recover(); v != nil {
			s.fail("reset", v)
		}
	}()
	s.ctl.Reset()
}

// fail disables the controller and turns the outputs off.
func (s *SafeController) fail(in string, v any) {
	s.disabled.Store(true)
	s.panics.Add(1)
	err := ErrNotStoppable
	if st, ok := s.out.(Stopper); ok {
		err = st.StopStimulation()
	}
	if err != nil { // cannot stop: close
		if cerr := s.out.Close(); errors.Is(err, ErrNotStoppable) {
			err = cerr
		} else {
			err = errors.Join(err, cerr)
		}
	}
	s.log.Error().Str("in", in).Str("panic", fmt.Sprint(v)).Err(err).
		Msg("stimulation controller panicked: outputs off, controller disabled")
}

// Disabled reports whether the controller panicked and was disabled.
func (s *SafeController) Disabled() bool { return s.disabled.Load() }

// Panics returns the number of panics recovered (0 or 1: a disabled
// controller is not called again).
func (s *SafeController) Panics() uint64 { return s.panics.Load() }

var (
	_ Controller = (*SafeController)(nil)
	_ Stopper    = (*Watchdog)(nil)
	_ Stopper    = (*Limit)(nil)
	_ Stopper    = (*SimSink)(nil)
)
