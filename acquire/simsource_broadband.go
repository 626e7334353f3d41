package acquire

import (
	"fmt"

	"github.com/bciloop/bciloop/sim"
)

// SimBroadbandOptions are the options of the broadband preset (under
// source.broadband): the renderer's (sim.BroadbandConfig: channels,
// rate_hz, noise, waveforms). The units behind the voltage are the motor
// cortex of the inline source keys (seed, rate_hz, speed_rms, …), with one
// unit per channel: its units key is replaced by broadband.channels.
type SimBroadbandOptions struct {
	sim.BroadbandConfig `yaml:",inline"`
}

// broadbandPreset is the table entry of the broadband preset: 1024
// channels of 30 kHz voltage by default (sim.BroadbandCortex), the raw
// load of `bciloop latency --load raw-1024`.
var broadbandPreset = SimPreset{
	Doc: "multichannel 30 kHz broadband voltage (band-limited noise + spike waveforms) of motor-cortex units, raw channels (sim.BroadbandCortex)",
	Key: "broadband",
	Validate: func(o *SimOptions) error {
		mc := broadbandMotor(o)
		if err := mc.Validate(); err != nil {
			return fmt.Errorf("motor cortex behind the voltage: %w", err)
		}
		return o.Broadband.Validate()
	},
	Build: func(o *SimOptions, env SimEnv) (SimBrain, error) {
		mc := broadbandMotor(o)
		mc.Clock, mc.OnApplied = env.Clock, env.OnApplied
		m, err := sim.NewMotorCortex(mc)
		if err != nil {
			return nil, err
		}
		bb, err := sim.NewBroadband(o.Broadband.BroadbandConfig)
		if err != nil {
			return nil, err
		}
		c, err := sim.NewBroadbandCortex(m, bb)
		if err != nil {
			return nil, err
		}
		return &broadbandBrain{c: c, names: m.TruthNames()}, nil
	},
}

// broadbandMotor returns the motor cortex options behind the voltage.
func broadbandMotor(o *SimOptions) sim.MotorCortexConfig {
	mc := o.MotorCortexConfig
	mc.Units = o.Broadband.Channels
	return mc
}

func init() { simPresets["broadband"] = broadbandPreset }

// broadbandBrain adapts sim.BroadbandCortex: raw channels (µV), the motor
// cortex's truth held per voltage frame; stimulation is scheduled on the
// voltage clock (BroadbandCortex.Stimulate converts it to the motor
// cortex's frames) and the motor cortex reports applied stimuli itself.
type broadbandBrain struct {
	c     *sim.BroadbandCortex
	names []string
}

func (a *broadbandBrain) Rate() float64          { return a.c.Broadband().Rate() }
func (a *broadbandBrain) Sample() int64          { return a.c.Broadband().Sample() }
func (a *broadbandBrain) Channels() int          { return a.c.Broadband().Channels() }
func (a *broadbandBrain) TruthNames() []string   { return a.names }
func (a *broadbandBrain) Target() sim.Stimulable { return a.c }
func (a *broadbandBrain) ReportsApplied() bool   { return true }
func (a *broadbandBrain) Advance(frames int, b *Block) {
	b.Data, b.Truth = a.c.Advance(frames, b.Data, b.Truth)
}
