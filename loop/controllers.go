package loop

import (
	"context"
	"errors"
	"fmt"

	"github.com/bciloop/bciloop/acquire"
	"github.com/bciloop/bciloop/decode"
	"github.com/bciloop/bciloop/sim"
	"github.com/bciloop/bciloop/stimulate"
)

// controllerKind is one stimulate.controller: its configuration section,
// whether it reads the feature stage (stimulate.features) rather than the
// decoder, and its constructor.
type controllerKind struct {
	key      string // its section under stimulate
	features bool
	validate func(c *StimulateConfig) error
	build    func(c *StimulateConfig, names []string, rate float64) (stimulate.Controller, error)
}

// controllerKinds is the table of controllers (besides "none").
var controllerKinds = map[string]controllerKind{
	"threshold": {key: "threshold",
		validate: func(c *StimulateConfig) error { return c.Threshold.Validate() },
		build: func(c *StimulateConfig, names []string, rate float64) (stimulate.Controller, error) {
			return stimulate.NewThresholdController(c.Threshold, names, rate)
		}},
	"rate_clamp": {key: "rate_clamp", features: true,
		validate: func(c *StimulateConfig) error { return c.RateClamp.Validate() },
		build: func(c *StimulateConfig, names []string, rate float64) (stimulate.Controller, error) {
			return stimulate.NewRateClampController(c.RateClamp, names, rate)
		}},
	"responsive": {key: "responsive", features: true,
		validate: func(c *StimulateConfig) error { return c.Responsive.Validate() },
		build: func(c *StimulateConfig, names []string, rate float64) (stimulate.Controller, error) {
			return stimulate.NewEventController(c.Responsive, names, rate)
		}},
	"adaptive": {key: "adaptive", features: true,
		validate: func(c *StimulateConfig) error { return c.Adaptive.Validate() },
		build: func(c *StimulateConfig, names []string, rate float64) (stimulate.Controller, error) {
			return stimulate.NewAdaptiveController(c.Adaptive, names, rate)
		}},
	"phase": {key: "phase", features: true,
		validate: func(c *StimulateConfig) error { return c.Phase.Validate() },
		build: func(c *StimulateConfig, names []string, rate float64) (stimulate.Controller, error) {
			return stimulate.NewPhaseController(c.Phase, names, rate)
		}},
	"schedule": {key: "schedule", features: true,
		validate: func(c *StimulateConfig) error { return c.Schedule.Validate() },
		build: func(c *StimulateConfig, _ []string, rate float64) (stimulate.Controller, error) {
			return stimulate.NewScheduleController(c.Schedule, rate)
		}},
}

// validateController reports the problems of the selected controller's
// section and, for the feature controllers, of stimulate.features, keys
// relative to stimulate.
func (c *StimulateConfig) validateController() error {
	k, ok := controllerKinds[c.Controller]
	if !ok {
		return nil
	}
	var errs []error
	for _, e := range flatten(k.validate(c)) {
		errs = append(errs, fmt.Errorf("%s.%w", k.key, e))
	}
	if k.features {
		for _, e := range flatten(c.Features.Validate()) {
			errs = append(errs, fmt.Errorf("features.%w", e))
		}
	}
	return errors.Join(errs...)
}

// buildController builds the configured controller: on the decoder's
// states (threshold) or on the feature stage's (the others), which it
// builds too.
func (l *Loop) buildController() (stimulate.Controller, error) {
	sc := &l.cfg.Stimulate
	k := controllerKinds[sc.Controller]
	names := l.stateNames
	if k.features {
		var pos, el [][2]float64
		if ss, ok := l.src.(*acquire.SimSource); ok {
			if sp, ok := ss.SimBrain().(acquire.SimSpatial); ok {
				pos, el = sp.ChannelPositions(), sp.ElectrodePositions()
			}
		}
		f, err := newFeatures(sc.Features, l.channels, l.rate, pos, el)
		if err != nil {
			return nil, fmt.Errorf("stimulate.features: %w", err)
		}
		l.feat = f
		l.featEmit = l.control
		names = FeatureNames()
	}
	ctl, err := k.build(sc, names, l.rate)
	if err != nil {
		return nil, fmt.Errorf("stimulate.%s: %w", k.key, err)
	}
	if rc, ok := ctl.(*stimulate.RateClampController); ok && l.exp != nil {
		l.exp.clamp = rc // the experiment steps its target
	}
	return ctl, nil
}

// simTarget returns the stimulation input of the synthetic brain the loop
// reads and its electrode count, for the "sim" sink.
func (l *Loop) simTarget() (sim.Stimulable, int, error) {
	ss, ok := l.src.(*acquire.SimSource)
	if !ok {
		return nil, 0, errors.New("stimulate.sink: sim needs a synthetic brain as the source")
	}
	t := ss.Stimulable()
	if t == nil {
		return nil, 0, fmt.Errorf("stimulate.sink: the %s brain has no stimulation input", l.cfg.Source.Preset)
	}
	electrodes := 1
	if b, ok := ss.SimBrain().Target().(interface{ Electrodes() int }); ok {
		electrodes = b.Electrodes()
	}
	return t, electrodes, nil
}

// control runs one estimate through the controller and, when it fires,
// the pattern through the stimulation chain, recording the outcome.
func (l *Loop) control(est *decode.Estimate) {
	if !l.ctrl.Update(&l.pattern, est) {
		return
	}
	clipped := l.limit.Stats().Clipped
	err := l.stim.Stimulate(context.Background(), &l.pattern)
	refused := errors.Is(err, stimulate.ErrRefused)
	if err != nil && !refused {
		l.stimErrs.Add(1)
	}
	if l.rec != nil || l.sess != nil {
		outcome := acquire.StimDelivered
		switch {
		case err != nil && !refused:
			outcome = acquire.StimFailed
		case refused:
			outcome = acquire.StimRefused
		case l.limit.Stats().Clipped != clipped:
			outcome = acquire.StimClipped
		}
		l.recordStim(outcome)
	}
}
