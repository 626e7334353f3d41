package model

import (
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/gonum/dsp/fourier"
)

// Circuit statistics (SCIENCE §5): firing rates, spike-train variability,
// synchrony, spectra, and the connectivity statistics of directed graphs.

// MeanRate returns the number of spikes in [t0, t1) divided by t1 − t0 (Hz
// when times are in seconds).
func MeanRate(spikes []float64, t0, t1 float64) (float64, error) {
	if err := argInterval(t0, t1); err != nil {
		return 0, err
	}
	if t1 == t0 {
		return 0, errors.New("t1: must be > t0")
	}
	var n int
	for _, t := range spikes {
		if t >= t0 && t < t1 {
			n++
		}
	}
	return float64(n) / (t1 - t0), nil
}

// ISICV returns the coefficient of variation of the inter-spike intervals,
// CV = σ_ISI / μ_ISI (Dayan & Abbott 2001 §1.4; sample standard deviation):
// 1 for a Poisson process, 0 for a regular train, 1/√k for a gamma-k renewal.
// spikes must be sorted and hold at least three spikes.
func ISICV(spikes []float64) (float64, error) {
	if len(spikes) < 3 {
		return 0, fmt.Errorf("spikes: need at least 3, got %d", len(spikes))
	}
	if err := argSorted("spikes", spikes); err != nil {
		return 0, err
	}
	n := float64(len(spikes) - 1)
	mean := (spikes[len(spikes)-1] - spikes[0]) / n
	if mean == 0 {
		return 0, errors.New("spikes: all at the same time")
	}
	var ss float64
	for i := 1; i < len(spikes); i++ {
		d := spikes[i] - spikes[i-1] - mean
		ss += d * d
	}
	return math.Sqrt(ss/(n-1)) / mean, nil
}

// FanoFactor returns F = Var[n]/E[n] of spike counts across windows or trials
// (Dayan & Abbott 2001 §1.4; unbiased variance): 1 for Poisson counts.
func FanoFactor(counts []float64) (float64, error) {
	if len(counts) < 2 {
		return 0, fmt.Errorf("counts: need at least 2, got %d", len(counts))
	}
	m, v := meanVariance(counts)
	if !(m > 0) {
		return 0, fmt.Errorf("counts: mean must be > 0, got %g", m)
	}
	return v / m, nil
}

// GolombRinzelChi returns the synchrony measure of Golomb & Rinzel (1993)
// (Golomb 2007, Scholarpedia 2:1347) for N traces V_i(t) of equal length
// (membrane potentials or filtered spike trains):
//
//	χ² = Var_t[V̄(t)] / ((1/N) Σ_i Var_t[V_i(t)]),  V̄ = (1/N) Σ_i V_i
//
// χ = 1 for identical traces and χ ≈ 1/√N for independent ones.
func GolombRinzelChi(traces [][]float64) (float64, error) {
	if len(traces) < 2 {
		return 0, fmt.Errorf("traces: need at least 2, got %d", len(traces))
	}
	m := len(traces[0])
	if m < 2 {
		return 0, errors.New("traces: need at least 2 samples")
	}
	avg := make([]float64, m)
	var sumVar float64
	for i, tr := range traces {
		if len(tr) != m {
			return 0, fmt.Errorf("traces[%d]: length %d, want %d", i, len(tr), m)
		}
		_, v := meanVariance(tr)
		sumVar += v
		for j, x := range tr {
			avg[j] += x
		}
	}
	inv := 1 / float64(len(traces))
	for j := range avg {
		avg[j] *= inv
	}
	_, vp := meanVariance(avg)
	if !(sumVar > 0) {
		return 0, errors.New("traces: all constant")
	}
	return math.Sqrt(vp / (sumVar * inv)), nil
}

// CountCorrelation returns the Pearson correlation of two spike-count series
// (the noise or signal correlation r_SC of Cohen & Kohn 2011).
func CountCorrelation(a, b []float64) (float64, error) {
	if len(a) != len(b) || len(a) < 2 {
		return 0, fmt.Errorf("counts: need two series of equal length >= 2, got %d and %d", len(a), len(b))
	}
	ma, va := meanVariance(a)
	mb, vb := meanVariance(b)
	if !(va > 0 && vb > 0) {
		return 0, errors.New("counts: a series is constant")
	}
	var c float64
	for i := range a {
		c += (a[i] - ma) * (b[i] - mb)
	}
	c /= float64(len(a) - 1)
	return c / math.Sqrt(va*vb), nil
}

func meanVariance(x []float64) (mean, variance float64) {
	for _, v := range x {
		mean += v
	}
	mean /= float64(len(x))
	for _, v := range x {
		variance += (v - mean) * (v - mean)
	}
	return mean, variance / float64(len(x)-1)
}

// Welch estimates the one-sided power spectral density by Welch's (1967)
// method: Hann-windowed segments of length L overlapping by O samples, each
// mean-removed, periodograms averaged:
//
//	P(f_k) = (c_k / (K f_s Σ_n w_n²)) Σ_segments |Σ_n w_n x_n e^{−2πikn/L}|²
//
// with c_k = 2 except at DC and Nyquist (c = 1), so that Σ_k P(f_k) Δf equals
// the variance of x (Parseval). Plan once with NewWelch; PSDTo does not
// allocate. Not safe for concurrent use.
type Welch struct {
	seg, hop int
	fs       float64
	fft      *fourier.FFT
	win      []float64
	buf      []float64
	coef     []complex128
	wss      float64
}

// NewWelch plans segments of length segment ≥ 4 with overlap ∈ [0, segment)
// samples, at sampling rate fs.
func NewWelch(segment, overlap int, fs float64) (*Welch, error) {
	var errs []error
	if segment < 4 {
		errs = append(errs, fmt.Errorf("segment: must be >= 4, got %d", segment))
	}
	if overlap < 0 || overlap >= segment {
		errs = append(errs, fmt.Errorf("overlap: must be in [0, segment), got %d", overlap))
	}
	errs = append(errs, argPos("fs", fs))
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	w := &Welch{seg: segment, hop: segment - overlap, fs: fs, fft: fourier.NewFFT(segment),
		win: make([]float64, segment), buf: make([]float64, segment), coef: make([]complex128, segment/2+1)}
	for i := range w.win {
		// Periodic Hann window.
		w.win[i] = 0.5 - 0.5*math.Cos(2*math.Pi*float64(i)/float64(segment))
		w.wss += w.win[i] * w.win[i]
	}
	return w, nil
}

// Len returns the number of frequency bins, segment/2 + 1.
func (w *Welch) Len() int { return w.seg/2 + 1 }

// FreqsTo fills dst (length Len) with the bin frequencies k f_s / L.
func (w *Welch) FreqsTo(dst []float64) []float64 {
	if len(dst) != w.Len() {
		panic("model: Welch.FreqsTo length mismatch")
	}
	for k := range dst {
		dst[k] = float64(k) * w.fs / float64(w.seg)
	}
	return dst
}

// PSDTo fills dst (length Len) with the PSD of x (units² per Hz) and returns
// the number of segments averaged. x must hold at least one segment.
func (w *Welch) PSDTo(dst, x []float64) (int, error) {
	if len(dst) != w.Len() {
		panic("model: Welch.PSDTo length mismatch")
	}
	if len(x) < w.seg {
		return 0, fmt.Errorf("x: length %d shorter than a segment (%d)", len(x), w.seg)
	}
	clear(dst)
	var k int
	for start := 0; start+w.seg <= len(x); start += w.hop {
		s := x[start : start+w.seg]
		var m float64
		for _, v := range s {
			m += v
		}
		m /= float64(w.seg)
		for i, v := range s {
			w.buf[i] = (v - m) * w.win[i]
		}
		w.fft.Coefficients(w.coef, w.buf)
		for i, c := range w.coef {
			dst[i] += real(c)*real(c) + imag(c)*imag(c)
		}
		k++
	}
	norm := 1 / (float64(k) * w.fs * w.wss)
	for i := range dst {
		c := 2.0
		if i == 0 || (w.seg%2 == 0 && i == len(dst)-1) {
			c = 1
		}
		dst[i] *= c * norm
	}
	return k, nil
}

// Digraph is a directed graph without self-loops as a dense adjacency
// matrix: Adj[i*N+j] is the edge i → j. Plain data.
type Digraph struct {
	N   int
	Adj []bool
}

// NewDigraph returns an empty graph on n nodes.
func NewDigraph(n int) Digraph { return Digraph{N: n, Adj: make([]bool, n*n)} }

// ErdosRenyi returns a directed G(n, p) graph: each of the n(n−1) ordered
// pairs is an edge independently with probability p (Erdős & Rényi 1959).
func ErdosRenyi(n int, p float64, seed uint64) (Digraph, error) {
	var errs []error
	if n < 1 {
		errs = append(errs, fmt.Errorf("n: must be >= 1, got %d", n))
	}
	if !(p >= 0 && p <= 1) {
		errs = append(errs, fmt.Errorf("p: must be in [0, 1], got %g", p))
	}
	if err := errors.Join(errs...); err != nil {
		return Digraph{}, err
	}
	rng := newCodingRand(seed)
	g := NewDigraph(n)
	for i := range n {
		for j := range n {
			if i != j && rng.Float64() < p {
				g.Adj[i*n+j] = true
			}
		}
	}
	return g, nil
}

// Edge reports whether i → j.
func (g Digraph) Edge(i, j int) bool { return g.Adj[i*g.N+j] }

// Edges returns the number of directed edges, ignoring any self-loops.
func (g Digraph) Edges() int {
	var m int
	for i := range g.N {
		for j := range g.N {
			if i != j && g.Adj[i*g.N+j] {
				m++
			}
		}
	}
	return m
}

// DegreesTo fills in and out (length N) with the in- and out-degrees.
func (g Digraph) DegreesTo(in, out []int) {
	if len(in) != g.N || len(out) != g.N {
		panic("model: Digraph.DegreesTo length mismatch")
	}
	clear(in)
	clear(out)
	for i := range g.N {
		for j := range g.N {
			if i != j && g.Adj[i*g.N+j] {
				out[i]++
				in[j]++
			}
		}
	}
}

// DegreeHistogramTo fills dst with the degree distribution: dst[k] = number of
// nodes of degree k (degrees ≥ len(dst) are dropped) and returns dst. For
// G(n, p) it follows Binomial(n − 1, p).
func DegreeHistogramTo(dst []int, degrees []int) []int {
	clear(dst)
	for _, d := range degrees {
		if d >= 0 && d < len(dst) {
			dst[d]++
		}
	}
	return dst
}

// Reciprocity returns the fraction of edges whose reverse edge is also
// present, r = L↔/L (Garlaschelli & Loffredo 2004); p for G(n, p). It is NaN
// for a graph without edges.
func (g Digraph) Reciprocity() float64 {
	var m, mutual int
	for i := range g.N {
		for j := range g.N {
			if i != j && g.Adj[i*g.N+j] {
				m++
				if g.Adj[j*g.N+i] {
					mutual++
				}
			}
		}
	}
	if m == 0 {
		return math.NaN()
	}
	return float64(mutual) / float64(m)
}

// TriadNames are the 16 isomorphism classes of 3-node directed graphs in the
// MAN notation of Holland & Leinhardt (1976) (M mutual, A asymmetric, N null
// dyads; the letters D, U, C, T: down, up, cyclic, transitive), in the order
// of TriadCensus. The 13 classes from 021D on that are connected are the
// 3-node motifs of Milo et al. (2002) and Song et al. (2005).
var TriadNames = [16]string{"003", "012", "102", "021D", "021U", "021C", "111D", "111U",
	"030T", "030C", "201", "120D", "120U", "120C", "210", "300"}

// triadReps are a representative of each class, as edges on nodes A=0, B=1,
// C=2 (the conventions of Batagelj & Mrvar 2001, as in networkx).
var triadReps = [16][][2]int{
	{},
	{{0, 1}},
	{{0, 1}, {1, 0}},
	{{1, 0}, {1, 2}},                         // 021D A<-B->C
	{{0, 1}, {2, 1}},                         // 021U A->B<-C
	{{0, 1}, {1, 2}},                         // 021C A->B->C
	{{0, 1}, {1, 0}, {2, 1}},                 // 111D A<->B<-C
	{{0, 1}, {1, 0}, {1, 2}},                 // 111U A<->B->C
	{{0, 1}, {2, 1}, {0, 2}},                 // 030T A->B<-C, A->C
	{{1, 0}, {2, 1}, {0, 2}},                 // 030C A<-B<-C, A->C
	{{0, 1}, {1, 0}, {1, 2}, {2, 1}},         // 201 A<->B<->C
	{{1, 0}, {1, 2}, {0, 2}, {2, 0}},         // 120D A<-B->C, A<->C
	{{0, 1}, {2, 1}, {0, 2}, {2, 0}},         // 120U A->B<-C, A<->C
	{{0, 1}, {1, 2}, {0, 2}, {2, 0}},         // 120C A->B->C, A<->C
	{{0, 1}, {1, 2}, {2, 1}, {0, 2}, {2, 0}}, // 210 A->B<->C, A<->C
	{{0, 1}, {1, 0}, {1, 2}, {2, 1}, {0, 2}, {2, 0}},
}

// triadBit numbers the six ordered pairs of a triple.
func triadBit(a, b int) uint { return [3][3]uint{{9, 0, 2}, {1, 9, 4}, {3, 5, 9}}[a][b] }

// triadClass maps each of the 64 labelled 3-node graphs to its class index,
// and triadOrbit counts the labelled graphs in each class.
var triadClass, triadOrbit = buildTriadTables()

func buildTriadTables() (cls [64]uint8, orbit [16]int) {
	perms := [6][3]int{{0, 1, 2}, {0, 2, 1}, {1, 0, 2}, {1, 2, 0}, {2, 0, 1}, {2, 1, 0}}
	canon := func(code int) int {
		best := 64
		for _, p := range perms {
			c := 0
			for a := range 3 {
				for b := range 3 {
					if a != b && code&(1<<triadBit(a, b)) != 0 {
						c |= 1 << triadBit(p[a], p[b])
					}
				}
			}
			best = min(best, c)
		}
		return best
	}
	var byCanon [64]int
	for i := range byCanon {
		byCanon[i] = -1
	}
	for k, rep := range triadReps {
		code := 0
		for _, e := range rep {
			code |= 1 << triadBit(e[0], e[1])
		}
		byCanon[canon(code)] = k
	}
	for code := range 64 {
		k := byCanon[canon(code)]
		if k < 0 {
			panic("model: triad table incomplete")
		}
		cls[code] = uint8(k)
		orbit[k]++
	}
	return cls, orbit
}

// TriadCensus counts every unordered node triple by its isomorphism class
// (order of TriadNames); the counts sum to C(N, 3). O(N³).
func (g Digraph) TriadCensus() [16]int {
	var census [16]int
	n := g.N
	for i := range n {
		for j := i + 1; j < n; j++ {
			ij := 0
			if g.Adj[i*n+j] {
				ij |= 1 << 0
			}
			if g.Adj[j*n+i] {
				ij |= 1 << 1
			}
			for k := j + 1; k < n; k++ {
				c := ij
				if g.Adj[i*n+k] {
					c |= 1 << 2
				}
				if g.Adj[k*n+i] {
					c |= 1 << 3
				}
				if g.Adj[j*n+k] {
					c |= 1 << 4
				}
				if g.Adj[k*n+j] {
					c |= 1 << 5
				}
				census[triadClass[c]]++
			}
		}
	}
	return census
}

// ERTriadExpectation returns the expected triad census of a directed G(n, p)
// graph: E[T_c] = C(n, 3) · |orbit_c| · p^{e_c} (1 − p)^{6−e_c}, where |orbit_c|
// is the number of labelled graphs in class c and e_c its number of edges.
func ERTriadExpectation(n int, p float64) [16]float64 {
	var e [16]float64
	triples := float64(n) * float64(n-1) * float64(n-2) / 6
	for k, rep := range triadReps {
		m := len(rep)
		e[k] = triples * float64(triadOrbit[k]) * math.Pow(p, float64(m)) * math.Pow(1-p, float64(6-m))
	}
	return e
}
