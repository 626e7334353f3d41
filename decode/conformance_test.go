package decode_test

import (
	"testing"

	"github.com/bciloop/bciloop/decode"
	"github.com/bciloop/bciloop/decode/decodetest"
)

func TestKalmanConformance(t *testing.T) {
	for _, tc := range []struct {
		name   string
		d, n   int
		steady bool
	}{
		{"kalman/d=4", 4, 24, false},
		{"kalman/d=6", 6, 32, false},
		{"steady/d=4", 4, 24, true},
		{"steady/d=6", 6, 32, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bins := decode.SyntheticKalmanBins(tc.d, tc.n, 600, 41)
			p, err := decode.FitKalmanBins(bins[:500], decode.DefaultKalmanConfig())
			if err != nil {
				t.Fatal(err)
			}
			cfg := decode.DefaultKalmanConfig()
			cfg.SteadyState = tc.steady
			decodetest.Run(t, func() decode.Decoder {
				dec, err := decode.NewKalmanDecoder(p, cfg)
				if err != nil {
					t.Fatal(err)
				}
				return dec
			}, tc.n, bins[500:])
		})
	}
}
