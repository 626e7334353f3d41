package model

import (
	"fmt"
	"math"
	"strings"
	"testing"
)

// symmetricChannel returns the n-input, m-output channel with P(y = c·x | x)
// = 1 − ε and the remaining ε spread evenly over the other outputs.
func symmetricChannel(n, m, c int, eps float64) []float64 {
	ch := make([]float64, n*m)
	for x := range n {
		for y := range m {
			if y == c*x {
				ch[x*m+y] = 1 - eps
			} else {
				ch[x*m+y] = eps / float64(m-1)
			}
		}
	}
	return ch
}

// sampleChannel draws n (s, r) pairs with s uniform.
func sampleChannel(ch []float64, ns, nr, n int, seed uint64) (s, r []int) {
	rng := newCodingRand(seed)
	s, r = make([]int, n), make([]int, n)
	for i := range n {
		s[i] = rng.IntN(ns)
		u := rng.Float64()
		y, acc := 0, ch[s[i]*nr]
		for u >= acc && y < nr-1 {
			y++
			acc += ch[s[i]*nr+y]
		}
		r[i] = y
	}
	return s, r
}

func TestChannelCapacity(t *testing.T) {
	// Closed forms (Cover & Thomas 2006 §7.1): binary symmetric channel
	// C = 1 − H₂(q); binary erasure channel C = 1 − ε; the n-ary symmetric
	// channel C = log₂ n − H₂(ε) − ε log₂(n − 1).
	tests := []struct {
		name   string
		ch     []float64
		nx, ny int
		want   float64
	}{
		{"bsc", []float64{0.89, 0.11, 0.11, 0.89}, 2, 2, 1 - BinaryEntropy(0.11)},
		{"bec", []float64{0.7, 0.3, 0, 0, 0.3, 0.7}, 2, 3, 0.7},
		{"8-ary", symmetricChannel(8, 8, 1, 0.2), 8, 8, 3 - BinaryEntropy(0.2) - 0.2*math.Log2(7)},
		// Z channel with P(1→0) = 1/2: C = log₂(5/4) (Cover & Thomas problem 7.8).
		{"z", []float64{1, 0, 0.5, 0.5}, 2, 2, math.Log2(1.25)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, px, err := ChannelCapacity(tt.ch, tt.nx, tt.ny, 1e-10)
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(c-tt.want) > 1e-9 {
				t.Errorf("C = %.12f, want %.12f", c, tt.want)
			}
			if mi := ChannelMI(px, tt.ch, tt.ny); math.Abs(mi-tt.want) > 1e-9 {
				t.Errorf("I at the optimal input = %.12f, want %.12f", mi, tt.want)
			}
		})
	}
	if _, _, err := ChannelCapacity([]float64{0.5, 0.6}, 1, 2, 0); err == nil || !strings.Contains(err.Error(), "tol:") {
		t.Errorf("bad input: %v", err)
	}
	if _, _, err := ChannelCapacity([]float64{0.5, 0.6}, 1, 2, 1e-6); err == nil || !strings.Contains(err.Error(), "sums to") {
		t.Errorf("bad row: %v", err)
	}
}

func TestCodingEfficiency(t *testing.T) {
	// BSC(q): with a uniform input η = 1; with P(x=1) = π the information is
	// H₂(π(1−q) + (1−π)q) − H₂(q).
	const q, pi = 0.1, 0.2
	ch := []float64{1 - q, q, q, 1 - q}
	c := 1 - BinaryEntropy(q)
	info := ChannelMI([]float64{1 - pi, pi}, ch, 2)
	want := BinaryEntropy(pi*(1-q)+(1-pi)*q) - BinaryEntropy(q)
	if math.Abs(info-want) > 1e-12 {
		t.Errorf("I = %g, want %g", info, want)
	}
	eta, err := CodingEfficiency(info, c)
	if err != nil || math.Abs(eta-want/c) > 1e-12 || eta >= 1 {
		t.Errorf("η = %g, %v; want %g", eta, err, want/c)
	}
	if eta, _ := CodingEfficiency(ChannelMI([]float64{0.5, 0.5}, ch, 2), c); math.Abs(eta-1) > 1e-12 {
		t.Errorf("uniform input η = %g, want 1", eta)
	}
	if _, err := CodingEfficiency(-1, 0); err == nil || !strings.Contains(err.Error(), "info:") || !strings.Contains(err.Error(), "capacity:") {
		t.Errorf("bad input: %v", err)
	}
}

func TestMutualInfoBias(t *testing.T) {
	// Repeated experiments of N trials through known channels. The plug-in
	// estimate is biased upward by ≈ [Σ_s(R_s−1) − (R−1)]/(2N ln 2); the
	// Panzeri–Treves correction removes the bias to first order, so the mean
	// corrected estimate lies within 3 standard errors (+0.005 bits for the
	// second-order term) of the analytic I, while the plug-in does not.
	tests := []struct {
		name   string
		ch     []float64
		ns, nr int
		n      int
	}{
		{"bsc", []float64{0.9, 0.1, 0.1, 0.9}, 2, 2, 200},
		{"8x16", symmetricChannel(8, 16, 2, 0.3), 8, 16, 3000},
		{"independent 4x8", func() []float64 {
			ch := make([]float64, 32)
			for i := range ch {
				ch[i] = 1.0 / 8
			}
			return ch
		}(), 4, 8, 300},
	}
	const reps = 60
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			px := make([]float64, tt.ns)
			for i := range px {
				px[i] = 1 / float64(tt.ns)
			}
			want := ChannelMI(px, tt.ch, tt.nr)
			plug, corr := make([]float64, reps), make([]float64, reps)
			for k := range reps {
				s, r := sampleChannel(tt.ch, tt.ns, tt.nr, tt.n, uint64(100+k))
				est, err := MutualInfo(s, r, tt.ns, tt.nr)
				if err != nil {
					t.Fatal(err)
				}
				plug[k], corr[k] = est.Plugin, est.Corrected
			}
			mp, vp := meanVariance(plug)
			mc, vc := meanVariance(corr)
			sec := math.Sqrt(vc / reps)
			t.Logf("I = %.4f, plug-in %.4f ± %.4f, corrected %.4f ± %.4f", want, mp, math.Sqrt(vp/reps), mc, sec)
			if math.Abs(mc-want) > 3*sec+0.005 {
				t.Errorf("corrected mean %.4f, want %.4f", mc, want)
			}
			if tt.name != "bsc" && math.Abs(mc-want) > 0.25*math.Abs(mp-want) {
				t.Errorf("correction left %.4f of the plug-in bias %.4f", mc-want, mp-want)
			}
			if tt.name == "independent 4x8" {
				// Miller–Madow: (ns−1)(nr−1)/(2N ln 2) = 21/(600 ln 2) = 0.0505 bits.
				mm := float64((tt.ns-1)*(tt.nr-1)) / (2 * float64(tt.n) * math.Ln2)
				if math.Abs(mp-mm) > 0.15*mm {
					t.Errorf("plug-in bias %.4f, want Miller–Madow %.4f", mp, mm)
				}
			}
		})
	}
	if _, err := MutualInfo([]int{0, 1, 2}, []int{0, 1}, 2, 2); err == nil {
		t.Error("length mismatch accepted")
	}
	if _, err := MutualInfo([]int{0, 3}, []int{0, 1}, 2, 2); err == nil {
		t.Error("out-of-range symbol accepted")
	}
}

func TestMutualInfoShuffle(t *testing.T) {
	// Independent S and R: the shuffle mean equals the plug-in bias
	// (Miller–Madow value 0.0505 bits for 4×8 symbols and 300 trials), and a
	// dependent pair (BSC) exceeds it by the channel's information.
	ch := make([]float64, 32)
	for i := range ch {
		ch[i] = 1.0 / 8
	}
	s, r := sampleChannel(ch, 4, 8, 300, 1)
	mean, sd, err := MutualInfoShuffle(s, r, 4, 8, 200, 2)
	if err != nil {
		t.Fatal(err)
	}
	mm := 21 / (600 * math.Ln2)
	if math.Abs(mean-mm) > 0.15*mm || sd <= 0 {
		t.Errorf("shuffle mean %.4f ± %.4f, want %.4f", mean, sd, mm)
	}
	bsc := []float64{0.9, 0.1, 0.1, 0.9}
	s, r = sampleChannel(bsc, 2, 2, 4000, 3)
	est, _ := MutualInfo(s, r, 2, 2)
	mean, sd, _ = MutualInfoShuffle(s, r, 2, 2, 100, 4)
	want := 1 - BinaryEntropy(0.1)
	// SE of the plug-in over 4000 trials ≈ 0.01 bits.
	if got := est.Plugin - mean; math.Abs(got-want) > 0.04 {
		t.Errorf("shuffle-corrected MI %.4f, want %.4f", got, want)
	}
	m1, s1, _ := MutualInfoShuffle(s, r, 2, 2, 20, 9)
	m2, s2, _ := MutualInfoShuffle(s, r, 2, 2, 20, 9)
	if m1 != m2 || s1 != s2 {
		t.Error("same seed gave different shuffles")
	}
}

func TestTransferEntropy(t *testing.T) {
	// Y i.i.d. fair bits; X_{t+1} = Y_t XOR noise(q). Then
	// T_{Y→X} = H(X_{t+1}|X_t) − H(X_{t+1}|X_t,Y_t) = 1 − H₂(q) and T_{X→Y} = 0.
	const n = 100000
	for _, q := range []float64{0.05, 0.2} {
		rng := newCodingRand(uint64(q * 1000))
		x, y := make([]int, n), make([]int, n)
		for i := range n {
			y[i] = rng.IntN(2)
			if i > 0 {
				x[i] = y[i-1]
				if rng.Float64() < q {
					x[i] ^= 1
				}
			}
		}
		yx, err := TransferEntropy(x, y, 2, 1, 1, 1)
		if err != nil {
			t.Fatal(err)
		}
		xy, _ := TransferEntropy(y, x, 2, 1, 1, 1)
		want := 1 - BinaryEntropy(q)
		// Plug-in SE ≈ 0.003 bits at N = 10⁵; bias ≈ 2/(2N ln 2) = 1.4e-5.
		if math.Abs(yx-want) > 0.01 {
			t.Errorf("q=%g: T(Y→X) = %.4f, want %.4f", q, yx, want)
		}
		if xy > 0.001 {
			t.Errorf("q=%g: T(X→Y) = %.5f, want ≈ 0", q, xy)
		}
		// At lag 2 nothing flows: Y_{t−1} says nothing about X_{t+1} beyond X_t.
		if lag2, _ := TransferEntropy(x, y, 2, 1, 1, 2); lag2 > 0.001 {
			t.Errorf("q=%g: lag-2 T = %.5f, want ≈ 0", q, lag2)
		}
		// Longer histories keep the value: X's own past adds nothing here.
		if k2, _ := TransferEntropy(x, y, 2, 2, 2, 1); math.Abs(k2-want) > 0.01 {
			t.Errorf("q=%g: k=l=2 T = %.4f, want %.4f", q, k2, want)
		}
	}
	_, err := TransferEntropy([]int{0, 1}, []int{0}, 1, 0, 0, 0)
	for _, f := range []string{"y:", "alphabet:", "k:", "l:", "d:"} {
		if err == nil || !strings.Contains(err.Error(), f) {
			t.Errorf("error %v does not name %s", err, f)
		}
	}
}

func ExampleChannelCapacity() {
	// Binary symmetric channel with crossover 0.1.
	c, px, _ := ChannelCapacity([]float64{0.9, 0.1, 0.1, 0.9}, 2, 2, 1e-12)
	fmt.Printf("C = %.4f bits, p(x) = [%.2f %.2f]\n", c, px[0], px[1])
	// Output: C = 0.5310 bits, p(x) = [0.50 0.50]
}
