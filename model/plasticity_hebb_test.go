package model

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// TestOjaPrincipalComponent: Oja's rule on zero-mean Gaussian inputs with
// covariance C = Q diag(5, 2, 1, 0.5, 0.2) Qᵀ (Q a Householder reflection)
// converges to ±the leading eigenvector of C with unit norm (Oja 1982):
// |cos| ≥ 0.99 against the true eigenvector and against the leading
// eigenvector of the sample covariance computed by gonum's EigenSym.
func TestOjaPrincipalComponent(t *testing.T) {
	const n = 5
	lambda := []float64{5, 2, 1, 0.5, 0.2}
	v := []float64{1, -2, 0.5, 3, 1}
	var vv float64
	for _, x := range v {
		vv += x * x
	}
	q := mat.NewDense(n, n, nil)
	for i := range n {
		for j := range n {
			d := 0.0
			if i == j {
				d = 1
			}
			q.Set(i, j, d-2*v[i]*v[j]/vv)
		}
	}
	e1 := mat.Col(nil, 0, q)
	rng := rand.New(rand.NewPCG(7, 1))
	o := Oja{Eta: 0.0005}
	w := []float64{0.1, 0.2, -0.1, 0.05, 0.3}
	x, z := make([]float64, n), make([]float64, n)
	sample := mat.NewSymDense(n, nil)
	const steps = 30000
	for k := range steps {
		for i := range z {
			z[i] = math.Sqrt(lambda[i]) * rng.NormFloat64()
		}
		for i := range n {
			x[i] = 0
			for j := range n {
				x[i] += q.At(i, j) * z[j]
			}
		}
		if k >= steps/2 {
			for i := range n {
				for j := i; j < n; j++ {
					sample.SetSym(i, j, sample.At(i, j)+x[i]*x[j])
				}
			}
		}
		o.Step(w, x)
	}
	var eig mat.EigenSym
	if !eig.Factorize(sample, true) {
		t.Fatal("EigenSym failed")
	}
	var vecs mat.Dense
	eig.VectorsTo(&vecs)
	sampleTop := mat.Col(nil, n-1, &vecs) // eigenvalues ascending
	norm := math.Sqrt(w[0]*w[0] + w[1]*w[1] + w[2]*w[2] + w[3]*w[3] + w[4]*w[4])
	cTrue, cSample := absCosine(w, e1), absCosine(w, sampleTop)
	t.Logf("|cos| vs true PC1 %.5f, vs sample PC1 %.5f, |w| = %.4f", cTrue, cSample, norm)
	if cTrue < 0.99 || cSample < 0.99 {
		t.Errorf("|cos| = %.4f (true), %.4f (sample), want ≥ 0.99", cTrue, cSample)
	}
	if math.Abs(norm-1) > 0.05 {
		t.Errorf("|w| = %v, want ≈ 1", norm)
	}
}

// TestHebbDecay: with rates post_i = c_i s + d_i, pre_j = a_j s + b_j, s
// uniform on [0, 1) redrawn every step, the weights of
// dW/dt = η(r_i r_j − αW) fluctuate around W* = ⟨r_i r_j⟩/α with
// ⟨r_i r_j⟩ = c_i a_j/3 + (c_i b_j + d_i a_j)/2 + d_i b_j; and with constant
// rates they relax to r_i r_j/α with time constant 1/(ηα).
func TestHebbDecay(t *testing.T) {
	h := Hebb{Eta: 1e-4, Alpha: 2}
	a, b := []float64{1, 0, 2}, []float64{0.5, 1, 0}
	c, d := []float64{2, 1}, []float64{0, 1}
	pre, post := make([]float64, 3), make([]float64, 2)
	w := make([]float64, 6)
	avg := make([]float64, 6)
	rng := rand.New(rand.NewPCG(3, 1))
	const dt, steps = 1.0, 400000 // 80 relaxation times 1/(ηα) = 5000 ms
	for k := range steps {
		s := rng.Float64()
		for j := range pre {
			pre[j] = a[j]*s + b[j]
		}
		for i := range post {
			post[i] = c[i]*s + d[i]
		}
		h.Step(w, post, pre, dt)
		if k >= steps/4 {
			for m := range w {
				avg[m] += w[m] / (steps - steps/4)
			}
		}
	}
	for i := range 2 {
		for j := range 3 {
			want := (c[i]*a[j]/3 + (c[i]*b[j]+d[i]*a[j])/2 + d[i]*b[j]) / h.Alpha
			if got := avg[i*3+j]; math.Abs(got-want) > 0.02*math.Max(want, 0.1) {
				t.Errorf("W[%d][%d] mean %.4f, want ⟨r_i r_j⟩/α = %.4f", i, j, got, want)
			}
		}
	}
	// Constant rates: after one relaxation time the gap to r_i r_j/α shrinks by e.
	w1 := []float64{0}
	tau := 1 / (h.Eta * h.Alpha)
	for range int(tau) {
		h.Step(w1, []float64{3}, []float64{2}, 1)
	}
	want := 3.0 * 2 / h.Alpha * (1 - math.Exp(-1))
	if math.Abs(w1[0]-want)/want > 1e-3 {
		t.Errorf("W(τ) = %v, want %v", w1[0], want)
	}
	if err := (Hebb{Eta: 0, Alpha: -1}).Validate(); err == nil || !strings.Contains(err.Error(), "Eta:") || !strings.Contains(err.Error(), "Alpha:") {
		t.Errorf("Validate() = %v", err)
	}
}

func TestHebbOjaNoAlloc(t *testing.T) {
	h := Hebb{Eta: 0.01, Alpha: 1}
	w, post, pre := make([]float64, 12), []float64{1, 2, 3}, []float64{1, 2, 3, 4}
	o := Oja{Eta: 0.01}
	x := []float64{1, 2, 3, 4}
	if a := testing.AllocsPerRun(100, func() {
		h.Step(w, post, pre, 0.1)
		o.Step(w[:4], x)
	}); a != 0 {
		t.Errorf("%v allocs", a)
	}
}

// absCosine returns |a·b|/(|a||b|).
func absCosine(a, b []float64) float64 {
	var ab, aa, bb float64
	for i := range a {
		ab += a[i] * b[i]
		aa += a[i] * a[i]
		bb += b[i] * b[i]
	}
	return math.Abs(ab) / math.Sqrt(aa*bb)
}
