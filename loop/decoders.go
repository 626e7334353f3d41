package loop

import (
	"fmt"
	"io"
	"os"

	"github.com/bciloop/bciloop/decode"
)

// decoderKind is one row of the decoder component table: how a decoder
// type is fitted from calibration bins, and how its parameter file is read
// and written.
type decoderKind struct {
	// velocityOnly decoders are fitted on the vx, vy ground-truth columns
	// alone (the population vector and the Poisson grid over velocity);
	// the others on every ground-truth column (position and velocity).
	velocityOnly bool
	// fit fits the decoder; bins hold the calibration counts and the
	// selected truth columns, named by names.
	fit func(c *DecoderConfig, bins []decode.Bin, names []string) (params any, err error)
	// build makes the online decoder from fitted or loaded parameters.
	build func(c *DecoderConfig, params any) (decode.Decoder, error)
	// read and write parameter files (versioned JSON, see decode).
	read  func(r io.Reader) (any, error)
	write func(w io.Writer, params any) error
}

// decoderKinds is the decoder table; Components["decoder.type"] lists the
// same names for users.
var decoderKinds = map[string]decoderKind{
	"kalman":    kalmanKind,
	"kalman-ss": kalmanKind,
	"ppf": {
		fit: func(c *DecoderConfig, bins []decode.Bin, names []string) (any, error) {
			pc := c.PPF
			pc.StateNames = names
			return decode.FitPPFBins(bins, pc)
		},
		build: func(_ *DecoderConfig, p any) (decode.Decoder, error) { return decode.NewPPF(p.(*decode.PPFParams)) },
		read:  func(r io.Reader) (any, error) { return decode.ReadPPFParams(r) },
		write: func(w io.Writer, p any) error { return decode.WritePPFParams(w, p.(*decode.PPFParams)) },
	},
	"wiener": {
		fit: func(c *DecoderConfig, bins []decode.Bin, names []string) (any, error) {
			wc := c.Wiener
			wc.StateNames = names
			return decode.FitWienerBins(bins, wc)
		},
		build: func(_ *DecoderConfig, p any) (decode.Decoder, error) {
			return decode.NewWiener(p.(*decode.WienerParams))
		},
		read:  func(r io.Reader) (any, error) { return decode.ReadWienerParams(r) },
		write: func(w io.Writer, p any) error { return decode.WriteWienerParams(w, p.(*decode.WienerParams)) },
	},
	"popvec": {
		velocityOnly: true,
		fit: func(c *DecoderConfig, bins []decode.Bin, names []string) (any, error) {
			pc := c.PopVec
			pc.StateNames = names
			return decode.FitPopVecBins(bins, pc)
		},
		build: func(_ *DecoderConfig, p any) (decode.Decoder, error) {
			return decode.NewPopVec(p.(*decode.PopVecParams))
		},
		read:  func(r io.Reader) (any, error) { return decode.ReadPopVecParams(r) },
		write: func(w io.Writer, p any) error { return decode.WritePopVecParams(w, p.(*decode.PopVecParams)) },
	},
	"poisson": {
		velocityOnly: true,
		fit: func(c *DecoderConfig, bins []decode.Bin, names []string) (any, error) {
			pc := c.Poisson
			pc.Columns = []int{0, 1}
			return decode.FitPoissonBins(bins, pc)
		},
		build: func(_ *DecoderConfig, p any) (decode.Decoder, error) {
			return decode.NewPoisson(p.(*decode.PoissonParams))
		},
		read:  func(r io.Reader) (any, error) { return decode.ReadPoissonParams(r) },
		write: func(w io.Writer, p any) error { return decode.WritePoissonParams(w, p.(*decode.PoissonParams)) },
	},
}

var kalmanKind = decoderKind{
	fit: func(c *DecoderConfig, bins []decode.Bin, names []string) (any, error) {
		kc := c.Kalman
		kc.StateNames = names
		return decode.FitKalmanBins(bins, kc)
	},
	build: func(c *DecoderConfig, p any) (decode.Decoder, error) {
		kc := c.Kalman
		kc.SteadyState = c.Type == "kalman-ss"
		return decode.NewKalmanDecoder(p.(*decode.KalmanParams), kc)
	},
	read:  func(r io.Reader) (any, error) { return decode.ReadKalmanParams(r) },
	write: func(w io.Writer, p any) error { return decode.WriteKalmanParams(w, p.(*decode.KalmanParams)) },
}

// defaultPoissonAxes is the velocity grid of the Poisson decoder when the
// config gives none: vx and vy over ±3 RMS speeds (99.7 % of a Gaussian
// velocity) in 31 points each.
func defaultPoissonAxes(speedRMS float64) []decode.GridAxis {
	r := 3 * speedRMS
	return []decode.GridAxis{{Name: "vx", Min: -r, Max: r, Points: 31}, {Name: "vy", Min: -r, Max: r, Points: 31}}
}

// loadDecoderParams reads the parameter file of a decoder type.
func loadDecoderParams(kind decoderKind, path string) (any, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	p, err := kind.read(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return p, nil
}

// paramUnits returns the channel count parameters were fitted for.
func paramUnits(p any) (int, bool) {
	switch p := p.(type) {
	case *decode.KalmanParams:
		return p.Channels(), true
	case interface{ Units() int }:
		return p.Units(), true
	}
	return 0, false
}
