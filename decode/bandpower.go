package decode

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// BandPower is a causal band-power envelope per channel, for online EEG/LFP
// features (Pfurtscheller & Lopes da Silva 1999, ERD/ERS): each channel is
// band-passed by a Butterworth cascade (ButterBandpass), squared, and smoothed
// by a one-pole low-pass of time constant τ,
//
//	P_t = a P_{t−1} + (1 − a) y_t²,  a = exp(−1/(τ·fs)),
//
// so that P estimates the mean power of the band over about the last τ; for a
// sinusoid of amplitude A in the band, P → A²/2. Process does not allocate
// after its first call with the largest block.
//
// Concurrency: a BandPower is used by one goroutine at a time.
type BandPower struct {
	iir      *IIR
	channels int
	a        float64
	pow      []float64
	buf      []float32
}

// NewBandPower returns the envelope of the band [lo, hi] Hz (Butterworth
// band-pass of the given order) smoothed over tau, for channels channels at
// fs samples per second.
func NewBandPower(order int, lo, hi, fs float64, tau time.Duration, channels int) (*BandPower, error) {
	sos, err := ButterBandpass(order, lo, hi, fs)
	if err != nil {
		return nil, fmt.Errorf("band power: %w", err)
	}
	if tau <= 0 {
		return nil, errors.New("band power: tau: must be > 0")
	}
	iir, err := NewIIR(sos, channels)
	if err != nil {
		return nil, fmt.Errorf("band power: %w", err)
	}
	return &BandPower{iir: iir, channels: channels, a: math.Exp(-1 / (tau.Seconds() * fs)), pow: make([]float64, channels)}, nil
}

// Reset returns the filters and envelopes to rest.
func (b *BandPower) Reset() {
	b.iir.Reset()
	clear(b.pow)
}

// Process runs the frame-major block src (len a multiple of the channel
// count; it panics otherwise) through the envelope.
func (b *BandPower) Process(src []float32) {
	if cap(b.buf) < len(src) {
		b.buf = make([]float32, len(src))
	}
	y := b.buf[:len(src)]
	b.iir.Process(y, src)
	C, a := b.channels, b.a
	for f := 0; f < len(y); f += C {
		for c, v := range y[f : f+C] {
			b.pow[c] = a*b.pow[c] + (1-a)*float64(v)*float64(v)
		}
	}
}

// PowerTo writes the current band power per channel into dst (grown) and
// returns it.
func (b *BandPower) PowerTo(dst []float64) []float64 {
	dst = grow(dst, b.channels)
	copy(dst, b.pow)
	return dst
}
