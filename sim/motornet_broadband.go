package sim

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
)

// streamNetJitter seeds the positions of spikes within their network step.
const streamNetJitter = 0x6d6e65746a697474

// MotorNetBroadband is a MotorNet rendered as broadband voltage on its
// electrodes (µV, frame-major, one channel per electrode) at a rate R
// times the brain's frame rate (30 kHz for R = 30 at 1 kHz), for
// spike-detection and threshold-crossing tests.
//
// Each electrode's voltage is the sum of three unit rows of a Broadband
// renderer of 3·Electrodes channels: row 3k+u carries the waveform
// template of unit u of electrode k (its own trough amplitude and width,
// see Broadband) and an independent band-limited background of
// NoiseUV/√3 RMS, so that the electrode's background has NoiseUV RMS;
// rows of units an electrode lacks carry background only. A unit event
// in brain frame f whose spike fell in network step j of the frame (of
// S steps) starts its waveform at voltage frame f·R + ⌊(j + ξ)·R/S⌋, ξ
// a seeded uniform draw in [0, 1), so the waveform keeps the network's
// spike time to within one step; a false positive starts at a uniform
// position in the frame. Missed spikes (MotorNetConfig.MissProb) draw no
// waveform: the voltage is what the sorter saw. Ground truth is the
// brain's, held over the R voltage frames of each brain frame.
type MotorNetBroadband struct {
	m      *MotorNet
	bb     *Broadband
	ratio  int
	nel    int
	rows   []float32 // unit rows of the frames rendered
	jitter rand.PCG
	events []UnitEvent
	truth  []float64 // truth rows of brain frames base, base+1, …
	base   int64
	last   []float64 // truth row of brain frame base−1
}

// NewMotorNetBroadband renders m through a Broadband built from cfg, whose
// Channels must be m.Electrodes() and whose rate must be an integer
// multiple of m's; m must not have been advanced yet. Stimulate the
// rendering (its Stimulate takes samples on the voltage clock) or m (on
// the brain's).
func NewMotorNetBroadband(m *MotorNet, cfg BroadbandConfig) (*MotorNetBroadband, error) {
	if m == nil {
		return nil, errors.New("sim: motor net broadband: nil brain")
	}
	var errs []error
	if cfg.Channels != m.Electrodes() {
		errs = append(errs, fmt.Errorf("channels: must be the %d electrodes, got %d", m.Electrodes(), cfg.Channels))
	}
	ratio := cfg.RateHz / m.Rate()
	if ratio < 1 || ratio != math.Round(ratio) {
		errs = append(errs, fmt.Errorf("rate_hz: the voltage rate %g Hz is not an integer multiple of the brain's %g Hz", cfg.RateHz, m.Rate()))
	}
	if m.Sample() != 0 {
		errs = append(errs, fmt.Errorf("sample: the brain is at frame %d: build it fresh", m.Sample()))
	}
	if err := cfg.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("sim: motor net broadband: %w", err)
	}
	rc := cfg
	rc.Channels = MaxUnitsPerElectrode * m.Electrodes()
	rc.NoiseUV = cfg.NoiseUV / math.Sqrt(MaxUnitsPerElectrode)
	bb, err := NewBroadband(rc)
	if err != nil {
		return nil, fmt.Errorf("sim: motor net broadband: %w", err)
	}
	c := &MotorNetBroadband{m: m, bb: bb, ratio: int(ratio), nel: m.Electrodes(),
		events: make([]UnitEvent, 0, 4*MaxUnitsPerElectrode*m.Electrodes()),
		last:   make([]float64, m.TruthDims())}
	c.jitter.Seed(cfg.Seed, streamNetJitter)
	m.keepSubs = true
	return c, nil
}

// Brain returns the motor network behind the voltage (its stimulation
// input and ground truth).
func (c *MotorNetBroadband) Brain() *MotorNet { return c.m }

// Broadband returns the renderer of the unit rows (3 per electrode).
func (c *MotorNetBroadband) Broadband() *Broadband { return c.bb }

// Ratio returns the voltage frames per brain frame.
func (c *MotorNetBroadband) Ratio() int { return c.ratio }

// Rate returns the voltage frame rate in Hz.
func (c *MotorNetBroadband) Rate() float64 { return c.bb.Rate() }

// Sample returns the index of the next voltage frame.
func (c *MotorNetBroadband) Sample() int64 { return c.bb.Sample() }

// Channels returns the number of voltage channels, the electrodes.
func (c *MotorNetBroadband) Channels() int { return c.nel }

// Electrodes returns the number of electrodes (the channels and the
// stimulation sites).
func (c *MotorNetBroadband) Electrodes() int { return c.nel }

// Advance renders the next frames voltage frames into dst (grown to
// frames·Channels) and appends the brain's ground truth, held per voltage
// frame, to truth. Frames need not be a multiple of Ratio(): the brain is
// advanced to cover the last voltage frame, and the waveforms of a brain
// frame rendered only in part are already queued for its remaining
// frames. It does not allocate once dst, truth and the queues have grown
// to their peak.
func (c *MotorNetBroadband) Advance(frames int, dst []float32, truth []float64) ([]float32, []float64) {
	r := int64(c.ratio)
	s0 := c.bb.Sample()
	end := s0 + int64(frames)
	d := c.m.TruthDims()
	spf := float64(c.m.StepsPerFrame())
	if k := (end+r-1)/r - c.m.Sample(); k > 0 {
		if n := len(c.truth); n >= d {
			c.last = append(c.last[:0], c.truth[n-d:]...)
		}
		c.base = c.m.Sample()
		c.events, c.truth = c.m.Advance(int(k), c.events[:0], c.truth[:0])
		for i, e := range c.events {
			u := float64(c.jitter.Uint64()>>11) * 0x1p-53
			var off int64
			if sub := c.m.subs[i]; sub >= 0 {
				off = min(r-1, int64((float64(sub)+u)*float64(r)/spf))
			} else {
				off = min(r-1, int64(u*float64(r)))
			}
			_ = c.bb.Spike(int(e.Channel)*MaxUnitsPerElectrode+int(e.Unit), e.Sample*r+off)
		}
	}
	c.rows = c.bb.Render(c.rows, frames)
	need := frames * c.nel
	if cap(dst) < need {
		dst = make([]float32, need)
	}
	dst = dst[:need]
	rows := c.rows
	for f := range frames {
		row := rows[f*MaxUnitsPerElectrode*c.nel : (f+1)*MaxUnitsPerElectrode*c.nel]
		out := dst[f*c.nel : (f+1)*c.nel]
		for k := range out {
			out[k] = row[3*k] + row[3*k+1] + row[3*k+2]
		}
	}
	for s := s0; s < end; s++ {
		bf := s / r
		if bf < c.base {
			truth = append(truth, c.last...)
			continue
		}
		i := int(bf-c.base) * d
		truth = append(truth, c.truth[i:i+d]...)
	}
	return dst, truth
}

// Stimulate queues s on the brain (MotorNet.Stimulate) with its Sample on
// the voltage clock: the first pulse goes to the brain frame holding
// voltage frame s.Sample, rounded up (a Sample not in the future: the next
// brain frame). It allocates nothing on success.
func (c *MotorNetBroadband) Stimulate(s Stimulus) error {
	if s.Sample > 0 {
		r := int64(c.ratio)
		s.Sample = s.Sample/r + min(1, s.Sample%r)
	}
	return c.m.Stimulate(s)
}

// StopStimulation stops the brain's stimulation (MotorNet.StopStimulation).
func (c *MotorNetBroadband) StopStimulation() { c.m.StopStimulation() }

var _ Stimulable = (*MotorNetBroadband)(nil)
