package decode

import (
	"bytes"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"
)

func TestFitWienerMatchesLeastSquares(t *testing.T) {
	// The reference is the normal-equations solution computed with gonum:
	// W = (ZᵀZ + λI)⁻¹ ZᵀX on the centred, lagged design.
	states, counts, _ := cosineData(6, 500, 5)
	for _, ridge := range []float64{0, 10} {
		cfg := WienerConfig{Lags: 3, Ridge: ridge}
		p, err := FitWiener(states, counts, cfg)
		if err != nil {
			t.Fatal(err)
		}
		n, L, d := 6, 3, 2
		mx, _ := centre(states)
		mz, _ := centre(counts)
		rows := len(states) - L + 1
		Z := mat.NewDense(rows, n*L, nil)
		X := mat.NewDense(rows, d, nil)
		for r := 0; r < rows; r++ {
			tt := r + L - 1
			for l := 0; l < L; l++ {
				for i := 0; i < n; i++ {
					Z.Set(r, l*n+i, counts[tt-l][i]-mz[i])
				}
			}
			for j := 0; j < d; j++ {
				X.Set(r, j, states[tt][j]-mx[j])
			}
		}
		var G mat.Dense
		G.Mul(Z.T(), Z)
		for k := 0; k < n*L; k++ {
			G.Set(k, k, G.At(k, k)+ridge)
		}
		var B, Wref mat.Dense
		B.Mul(Z.T(), X)
		if err := Wref.Solve(&G, &B); err != nil {
			t.Fatal(err)
		}
		for j := 0; j < d; j++ {
			for k := 0; k < n*L; k++ {
				if got, want := p.Weights[j*n*L+k], Wref.At(k, j); math.Abs(got-want) > 1e-9*(1+math.Abs(want)) {
					t.Fatalf("ridge %g: weight [%d,%d] = %g, want %g", ridge, j, k, got, want)
				}
			}
		}
		// Online decoding applies the same weights to the lagged counts.
		dec, err := NewWiener(p)
		if err != nil {
			t.Fatal(err)
		}
		var est Estimate
		for tt := 0; tt < 20; tt++ {
			if err := dec.Decode(&est, &Bin{Counts: counts[tt]}); err != nil {
				t.Fatal(err)
			}
			for j := 0; j < d; j++ {
				want := mx[j]
				for l := 0; l < L && tt-l >= 0; l++ {
					for i := 0; i < n; i++ {
						want += Wref.At(l*n+i, j) * (counts[tt-l][i] - mz[i])
					}
				}
				if math.Abs(est.State[j]-want) > 1e-9 {
					t.Fatalf("bin %d state %d = %g, want %g", tt, j, est.State[j], want)
				}
			}
		}
	}
}

func TestFitWienerErrors(t *testing.T) {
	states, counts, _ := cosineData(6, 300, 6)
	for _, tc := range []struct {
		name   string
		cfg    WienerConfig
		mutate func()
		want   string
	}{
		{"too few", WienerConfig{Lags: 60}, nil, "too few samples: 241 bins with 59 lags of history for 360 weights"},
		{"config", WienerConfig{Lags: 0, Ridge: -1}, nil, "lags: must be in [1, 1000], got 0"},
		{"duplicate", WienerConfig{Lags: 2}, func() {
			for i := range counts {
				counts[i][4] = counts[i][1]
			}
		}, "the design is singular: channel 4 at lag 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.mutate != nil {
				tc.mutate()
			}
			if _, err := FitWiener(states, counts, tc.cfg); err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "wiener fit: ") {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
	// The ridge makes the duplicated channel fittable.
	if _, err := FitWiener(states, counts, WienerConfig{Lags: 2, Ridge: 1}); err != nil {
		t.Fatal(err)
	}
}

func TestWienerParamsRoundTrip(t *testing.T) {
	states, counts, _ := cosineData(5, 400, 7)
	p, err := FitWiener(states, counts, WienerConfig{Lags: 4, StateNames: []string{"vx", "vy"}})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WriteWienerParams(&buf, p); err != nil {
		t.Fatal(err)
	}
	q, err := ReadWienerParams(bytes.NewReader(buf.Bytes()))
	if err != nil || !reflect.DeepEqual(p, q) {
		t.Fatalf("round trip: %v", err)
	}
	bad := strings.Replace(buf.String(), `"lags":4`, `"lags":3`, 1)
	if _, err := ReadWienerParams(strings.NewReader(bad)); err == nil || !strings.Contains(err.Error(), "weights: has 40 values, want 30") {
		t.Errorf("err = %v", err)
	}
}

func FuzzReadWienerParams(f *testing.F) {
	p := &WienerParams{StateNames: []string{"a"}, Lags: 2, StateMean: []float64{1}, CountMean: []float64{2, 3}, Weights: []float64{1, 2, 3, 4}}
	var buf bytes.Buffer
	if err := WriteWienerParams(&buf, p); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	f.Fuzz(func(t *testing.T, data []byte) {
		if p, err := ReadWienerParams(bytes.NewReader(data)); err == nil {
			if _, err := NewWiener(p); err != nil {
				t.Fatal(err)
			}
		}
	})
}

func BenchmarkWienerDecode(b *testing.B) {
	for _, lags := range []int{1, 10} {
		b.Run(fmt.Sprintf("units=96/lags=%d", lags), func(b *testing.B) {
			states, counts, _ := cosineData(96, 3000, 8)
			p, err := FitWiener(states, counts, WienerConfig{Lags: lags, Ridge: 1})
			if err != nil {
				b.Fatal(err)
			}
			dec, _ := NewWiener(p)
			var est Estimate
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				_ = dec.Decode(&est, &Bin{Counts: counts[i%3000]})
			}
		})
	}
}
