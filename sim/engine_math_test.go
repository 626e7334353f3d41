package sim

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestExpNeg(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	worst := 0.0
	for _, x := range []float64{0, 1e-300, 1e-12, 0.005, 0.5, math.Ln2 / 128, math.Ln2, 1, 10, 100, 699.9} {
		worst = max(worst, math.Abs(expNeg(x)/math.Exp(-x)-1))
	}
	for range 200000 {
		x := 40 * r.Float64() * r.Float64()
		worst = max(worst, math.Abs(expNeg(x)/math.Exp(-x)-1))
	}
	// Tang's reduction leaves |r| ≤ ln2/128, where the degree-4 Taylor
	// remainder is |r|⁵/5! < 4·10⁻¹⁴; a few roundings add to it.
	if worst > 1e-13 {
		t.Errorf("worst relative error %g > 1e-13", worst)
	}
	if got := expNeg(1e6); got < 0 || got > 1e-300 {
		t.Errorf("expNeg(1e6) = %g, want ≈ 0", got)
	}
}

func TestPhi1(t *testing.T) {
	want := func(x float64) float64 {
		if x == 0 {
			return 1
		}
		return -math.Expm1(-x) / x
	}
	r := rand.New(rand.NewPCG(3, 4))
	worst := 0.0
	check := func(x float64) {
		worst = max(worst, math.Abs(phi1(x)/want(x)-1))
	}
	for _, x := range []float64{0, 1e-10, 0.01, 0.25, 0.5, math.Nextafter(0.5, 1), 0.75, 3, 50, 800} {
		check(x)
	}
	for range 200000 {
		check(2 * r.Float64())
	}
	// The polynomial's error is 2.7·10⁻¹³ against φ₁ ≥ 0.787 on [0, 1/2],
	// plus a few roundings; expNeg's 10⁻¹³ above 1/2.
	if worst > 4e-13 {
		t.Errorf("worst relative error %g > 4e-13", worst)
	}
}

func TestPoissonTable(t *testing.T) {
	for _, lambda := range []float64{0, 0.002, 0.2, 2, 4, 30, 700} {
		tab := newPoissonTable(lambda)
		s := streamState(7, 1, 0)
		const n = 200000
		var sum, sum2 float64
		for range n {
			z := splitmix64(&s)
			k := tab.sample(z)
			// The direct table must give the inversion of u exactly.
			if k2 := tab.search(unit53(z)); k != k2 {
				t.Fatalf("λ=%v: direct table gives %d, search %d for z=%#x", lambda, k, k2, z)
			}
			sum += float64(k)
			sum2 += float64(k * k)
		}
		mean := sum / n
		variance := sum2/n - mean*mean
		// Mean within 5 standard errors (σ² = λ for Poisson); variance
		// within 5 standard errors of the sample variance, whose variance is
		// about (μ₄ − σ⁴)/n = (λ + 2λ²)/n.
		if se := math.Sqrt(lambda / n); math.Abs(mean-lambda) > 5*se+1e-12 {
			t.Errorf("λ=%v: mean %v, want within %v", lambda, mean, 5*se)
		}
		if se := math.Sqrt((lambda + 2*lambda*lambda) / n); math.Abs(variance-lambda) > 5*se+1e-12 {
			t.Errorf("λ=%v: variance %v, want within %v", lambda, variance, 5*se)
		}
	}
	// Extremes of u: 0 gives the first count with positive mass, the
	// largest u the last count.
	tab := newPoissonTable(2)
	if k := tab.sample(0); k != 0 {
		t.Errorf("sample(0) = %d, want 0", k)
	}
	if k := tab.sample(math.MaxUint64); k != len(tab.cdf)-1 {
		t.Errorf("sample(max) = %d, want %d", k, len(tab.cdf)-1)
	}
}

func TestStreamState(t *testing.T) {
	seen := map[uint64]bool{}
	for seed := range uint64(4) {
		for stream := range 4 {
			for block := range 64 {
				s := streamState(seed, stream, block)
				if seen[s] {
					t.Fatalf("state of (%d, %d, %d) repeats", seed, stream, block)
				}
				seen[s] = true
			}
		}
	}
	// unit53 stays in [0, 1).
	if u := unit53(math.MaxUint64); u >= 1 {
		t.Errorf("unit53(max) = %v", u)
	}
}
