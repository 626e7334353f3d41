package acquire

import (
	"errors"
	"fmt"
	"math"

	"github.com/bciloop/bciloop/sim"
)

// SimMotorNetOptions are the options of the motor-net preset (under
// source.motor_net): the network's (sim.MotorNetConfig, inline) and the
// signal the stream carries: "spikes" (the default: one channel per
// electrode, spikes with their sorted unit) or "broadband" (the voltage of
// every electrode, sim.MotorNetBroadband, its renderer's options under
// broadband; broadband.channels must be the electrode count).
type SimMotorNetOptions struct {
	sim.MotorNetConfig `yaml:",inline"`
	Signal             string              `yaml:"signal"`
	Broadband          sim.BroadbandConfig `yaml:"broadband"`
}

// DefaultSimMotorNetOptions returns the default network, its spikes, and
// for the broadband signal 96 channels at 30 kHz (sim.DefaultBroadbandConfig).
func DefaultSimMotorNetOptions() SimMotorNetOptions {
	bc := sim.DefaultBroadbandConfig()
	bc.Channels = 96
	return SimMotorNetOptions{MotorNetConfig: sim.DefaultMotorNetConfig(), Signal: "spikes", Broadband: bc}
}

// Validate reports every problem of the options, each as "key: message".
func (o *SimMotorNetOptions) Validate() error {
	var errs []error
	if err := o.MotorNetConfig.Validate(); err != nil {
		errs = append(errs, err)
	}
	switch o.Signal {
	case "spikes":
	case "broadband":
		var bes []error
		if err := o.Broadband.Validate(); err != nil {
			bes = append(bes, flattenErrs(err)...)
		}
		if g := o.Sheet.Grid; g >= 1 {
			el := g * g
			if g >= 3 {
				el -= 4 // Sheet: the corners are left out
			}
			if o.Broadband.Channels != el {
				bes = append(bes, fmt.Errorf("channels: must be the %d electrodes of sheet.grid %d, got %d", el, g, o.Broadband.Channels))
			}
		}
		if r := o.Broadband.RateHz / o.RateHz; o.RateHz > 0 && (r < 1 || r != math.Round(r)) {
			bes = append(bes, fmt.Errorf("rate_hz: %g Hz is not an integer multiple of the network's rate_hz %g", o.Broadband.RateHz, o.RateHz))
		}
		for _, e := range bes {
			errs = append(errs, fmt.Errorf("broadband.%w", e))
		}
	default:
		errs = append(errs, fmt.Errorf("signal: must be spikes or broadband, got %q", o.Signal))
	}
	return errors.Join(errs...)
}

// rateHz is the stream's frame rate.
func (o *SimMotorNetOptions) rateHz() float64 {
	if o.Signal == "broadband" {
		return o.Broadband.RateHz
	}
	return o.RateHz
}

// The "motor-net" preset: the motor cortex as an E/I spiking network
// (sim.MotorNet), its options under source.motor_net (SimOptions.MotorNet).
func init() {
	simPresets["motor-net"] = SimPreset{
		Doc: "motor cortex as an E/I spiking network: velocity-tuned conductance LIF neurons under a 96-electrode array, " +
			"1–3 sorted units per electrode (signal: spikes) or their 30 kHz voltage (signal: broadband), electrode stimulation (sim.MotorNet)",
		Key:      "motor_net",
		Validate: func(o *SimOptions) error { return o.MotorNet.Validate() },
		Build: func(o *SimOptions, env SimEnv) (SimBrain, error) {
			cfg := o.MotorNet.MotorNetConfig
			cfg.Clock, cfg.OnApplied = env.Clock, env.OnApplied
			m, err := sim.NewMotorNet(cfg)
			if err != nil {
				return nil, err
			}
			if m.Electrodes() > maxSpikeChannels {
				m.Close()
				return nil, fmt.Errorf("motor_net: %d electrodes exceed the %d channels of a spike stream", m.Electrodes(), maxSpikeChannels)
			}
			if o.MotorNet.Signal != "broadband" {
				return &motorNetBrain{m: m}, nil
			}
			c, err := sim.NewMotorNetBroadband(m, o.MotorNet.Broadband)
			if err != nil {
				m.Close()
				return nil, err
			}
			return &motorNetBroadbandBrain{motorNetBrain: motorNetBrain{m: m}, c: c}, nil
		},
	}
}

// motorNetBrain adapts sim.MotorNet: one channel per electrode, spikes
// with their sorted unit (Spike.Unit 0..2), truth [px, py, vx, vy]; it
// reports applied stimuli itself.
type motorNetBrain struct {
	m  *sim.MotorNet
	ev []sim.UnitEvent
}

func (a *motorNetBrain) Rate() float64          { return a.m.Rate() }
func (a *motorNetBrain) Sample() int64          { return a.m.Sample() }
func (a *motorNetBrain) Channels() int          { return a.m.Electrodes() }
func (a *motorNetBrain) TruthNames() []string   { return a.m.TruthNames() }
func (a *motorNetBrain) Target() sim.Stimulable { return a.m }
func (a *motorNetBrain) ReportsApplied() bool   { return true }
func (a *motorNetBrain) Advance(frames int, b *Block) {
	a.ev, b.Truth = a.m.Advance(frames, a.ev[:0], b.Truth)
	for _, e := range a.ev {
		b.Spikes = append(b.Spikes, Spike{Sample: e.Sample, Channel: uint16(e.Channel), Unit: uint8(e.Unit)})
	}
}

// MotorNet returns the adapted brain.
func (a *motorNetBrain) MotorNet() *sim.MotorNet { return a.m }

// SetIntent sets the brain's external intended velocity (sim.Intent; nil:
// its latent process), between reads.
func (a *motorNetBrain) SetIntent(in sim.Intent) { a.m.SetIntent(in) }

// ElectrodePositions returns the electrode positions on the sheet, µm.
func (a *motorNetBrain) ElectrodePositions() [][2]float64 { return a.m.ElectrodePositions() }

// ChannelPositions returns the positions of the channels, which are the
// electrodes, µm.
func (a *motorNetBrain) ChannelPositions() [][2]float64 { return a.m.ElectrodePositions() }

// Close stops the network's worker goroutines.
func (a *motorNetBrain) Close() { a.m.Close() }

// motorNetBroadbandBrain adapts sim.MotorNetBroadband: raw channels (µV),
// one per electrode, the network's truth held per voltage frame, and
// stimulation scheduled on the voltage clock.
type motorNetBroadbandBrain struct {
	motorNetBrain
	c *sim.MotorNetBroadband
}

func (a *motorNetBroadbandBrain) Rate() float64 { return a.c.Rate() }
func (a *motorNetBroadbandBrain) Sample() int64 { return a.c.Sample() }

// Target is the brain's stimulation input with stimulus samples on the
// voltage clock of the stream (sim.MotorNetBroadband.Stimulate).
func (a *motorNetBroadbandBrain) Target() sim.Stimulable { return a.c }

func (a *motorNetBroadbandBrain) Advance(frames int, b *Block) {
	b.Data, b.Truth = a.c.Advance(frames, b.Data, b.Truth)
}
