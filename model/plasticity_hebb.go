package model

// Hebb is rate-based Hebbian learning with weight decay (Dayan & Abbott 2001,
// §8.2; Gerstner et al. 2014, §19.2):
//
//	dW_ij/dt = η (r_i r_j − α W_ij)
//
// for postsynaptic rate r_i and presynaptic rate r_j. With stationary input
// statistics the weights relax (time constant 1/(ηα)) to W* = ⟨r_i r_j⟩/α,
// the input–output correlation. W is row-major: W[i*nPre + j].
type Hebb struct {
	Eta   float64 // learning rate η (> 0), per ms per rate²
	Alpha float64 // decay α (≥ 0)
}

// Validate reports every invalid parameter.
func (h Hebb) Validate() error {
	var c paramCheck
	c.pos("Eta", h.Eta)
	c.nonneg("Alpha", h.Alpha)
	return c.err()
}

// Step applies one forward-Euler step of length dt (ms) to w (len
// len(post)·len(pre)). Stable for dt·η·α < 1. No allocation.
func (h Hebb) Step(w, post, pre []float64, dt float64) {
	np := len(pre)
	mustSameLen("Hebb.Step", len(post)*np, len(w))
	k := dt * h.Eta
	a := h.Alpha
	for i, ri := range post {
		row := w[i*np : (i+1)*np : (i+1)*np]
		for j, rj := range pre[:np] {
			row[j] += k * (ri*rj - a*row[j])
		}
	}
}

// Oja is Oja's (1982, J Math Biol 15:267) normalized Hebbian rule for one
// linear neuron y = w·x:
//
//	Δw = η y (x − y w)
//
// For zero-mean inputs with covariance C and small η, w converges to the
// unit-norm principal eigenvector of C (up to sign): the neuron extracts the
// first principal component.
type Oja struct {
	Eta float64 // learning rate (> 0)
}

// Validate reports every invalid parameter.
func (o Oja) Validate() error {
	var c paramCheck
	c.pos("Eta", o.Eta)
	return c.err()
}

// Step presents one input x, updates w in place and returns the output y.
// No allocation.
func (o Oja) Step(w, x []float64) float64 {
	mustSameLen("Oja.Step", len(w), len(x))
	var y float64
	for i, xi := range x {
		y += w[i] * xi
	}
	k := o.Eta * y
	for i, xi := range x {
		w[i] += k * (xi - y*w[i])
	}
	return y
}
