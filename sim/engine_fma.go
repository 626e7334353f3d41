package sim

import "math"

// The FMA kernels are the integration kernels used when the vector
// kernels (AVX2 + FMA, engine_amd64.s) run: the vector code handles groups
// of four neurons and these scalar loops, written with math.FMA exactly as
// each vector lane computes, handle the rest (population and partition
// edges, injected currents, the rare conductance step above x = 1/2). One
// neuron's result so does not depend on where the groups of four fall,
// hence not on the thread count. The arithmetic is that of kernLIFExp,
// kernLIFDelta and kernLIFCond, with some products and sums fused (each
// FMA rounds once).

// quad is one coefficient replicated for the four lanes.
type quad [4]float64

func q4(x float64) quad { return quad{x, x, x, x} }

// cubaK holds the coefficients of cubaAVX (field order is the assembly's).
type cubaK struct{ ae, ai, am, ke, ki, vinf quad }

// deltaK holds the coefficients of deltaAVX.
type deltaK struct{ am, vinf quad }

// cobaK holds the coefficients of cobaAVX (see popRT for x and y).
type cobaK struct {
	ae, ai, xl, xe, xi, yl, ee, yi, vth, xmax quad
	c0, c1, c2, c3, c4, c5, c6, c7            quad
}

// simdCoef is the vector coefficients of one population.
type simdCoef struct {
	cuba  cubaK
	delta deltaK
	coba  cobaK
}

func (c *popRT) setSIMD() {
	vinf := c.el + c.r*c.iext
	c.simd.cuba = cubaK{q4(c.ae), q4(c.ai), q4(c.am), q4(c.ke), q4(c.ki), q4(vinf)}
	c.simd.delta = deltaK{q4(c.am), q4(vinf)}
	c.simd.coba = cobaK{q4(c.ae), q4(c.ai), q4(c.xl), q4(c.xe), q4(c.xi), q4(c.yl), q4(c.ee), q4(c.yi), q4(c.vth), q4(phiMaxX),
		q4(phiC0), q4(phiC1), q4(phiC2), q4(phiC3), q4(phiC4), q4(phiC5), q4(phiC6), q4(phiC7)}
}

// addInput moves the ring-buffer slot into the synaptic state.
func addInput(se, si, inE, inI []float64) {
	se, si, inI = se[:len(inE)], si[:len(inE)], inI[:len(inE)]
	for i := range inE {
		se[i] += inE[i]
		si[i] += inI[i]
		inE[i], inI[i] = 0, 0
	}
}

// kernLIFExpFMA integrates neurons [a, b) as kernLIFExp, FMA arithmetic.
func kernLIFExpFMA(c *popRT, a, b int, v, se, si, iext []float64, inE, inI []float64) {
	v, se, si = v[a:b], se[a:b], si[a:b]
	se, si = se[:len(v)], si[:len(v)]
	if inE != nil {
		addInput(se, si, inE[a:b], inI[a:b])
	}
	i := 0
	if iext == nil {
		if n4 := len(v) &^ 3; n4 > 0 {
			cubaAVX(&v[0], &se[0], &si[0], n4, &c.simd.cuba)
			i = n4
		}
	} else {
		iext = iext[a:b]
		iext = iext[:len(v)]
	}
	am, ae, ai, ke, ki := c.am, c.ae, c.ai, c.ke, c.ki
	vinf := c.simd.cuba.vinf[0]
	for ; i < len(v); i++ {
		ie, ii := se[i], si[i]
		se[i], si[i] = ie*ae, ii*ai
		vi := vinf
		if iext != nil {
			vi = c.el + c.r*iext[i]
		}
		t := math.FMA(v[i]-vi, am, vi)
		t = math.FMA(ke, ie, t)
		v[i] = math.FMA(ki, ii, t)
	}
}

// kernLIFDeltaFMA integrates neurons [a, b) as kernLIFDelta, FMA arithmetic.
func kernLIFDeltaFMA(c *popRT, a, b int, v, iext []float64, in []float64) {
	v, in = v[a:b], in[a:b]
	in = in[:len(v)]
	i := 0
	if iext == nil {
		if n4 := len(v) &^ 3; n4 > 0 {
			deltaAVX(&v[0], &in[0], n4, &c.simd.delta)
			i = n4
		}
	} else {
		iext = iext[a:b]
		iext = iext[:len(v)]
	}
	am := c.am
	vinf := c.simd.delta.vinf[0]
	for ; i < len(v); i++ {
		vi := vinf
		if iext != nil {
			vi = c.el + c.r*iext[i]
		}
		v[i] = math.FMA(v[i]-vi, am, vi) + in[i]
		in[i] = 0
	}
}

// kernLIFCondFMA integrates neurons [a, b) as kernLIFCond, FMA arithmetic,
// and applies the threshold of step t in the same pass: a neuron at
// V ≥ V_th that is not refractory (t − last > nref) resets and is appended
// to spk (ascending). Refractory neurons are left to the clamp.
//
// It reads se and si as the conductances scaled by 1/S_e and 1/S_i (see
// condScale), the factors folded into the coefficients k (k.xe = xe·S_e,
// k.xi = xi·S_i, k.yi = yi·S_i), and leaves them unchanged: the decay lives
// in the factors. Ring-buffer input inE, inI (in nS) enters the stored
// state times sE = 1/S_e and sI = 1/S_i. Without scaling (k the
// population's own coefficients, sE = sI = 1) the caller decays se and si
// after the step (decayCond).
func kernLIFCondFMA(c *popRT, k *cobaK, a, b int, v, se, si, iext []float64, inE, inI []float64, sE, sI float64, last []int64, t int64, spk []int32) []int32 {
	v, se, si, last = v[a:b], se[a:b], si[a:b], last[a:b]
	se, si, last = se[:len(v)], si[:len(v)], last[:len(v)]
	if inE != nil {
		addInputScaled(se, si, inE[a:b], inI[a:b], sE, sI)
	}
	if iext != nil {
		iext = iext[a:b]
		return condFMA(c, k, v, se, si, iext[:len(v)], last, t, a, spk)
	}
	n4 := len(v) &^ 3
	i := 0
	for i < n4 {
		done, stop := cobaAVX(&v[i], &se[i], &si[i], n4-i, k)
		i += done
		switch stop {
		case cobaSlow: // a group with x > 1/2
			spk = condFMA(c, k, v[i:i+4], se[i:i+4], si[i:i+4], nil, last[i:i+4], t, a+i, spk)
			i += 4
		case cobaCross: // the group before i holds a crossing
			spk = crossings(c, v[i-4:i], last[i-4:i], t, a+i-4, spk)
		}
	}
	return condFMA(c, k, v[i:], se[i:], si[i:], nil, last[i:], t, a+i, spk)
}

// addInputScaled moves the ring-buffer slot into the synaptic state, times
// sE and sI.
func addInputScaled(se, si, inE, inI []float64, sE, sI float64) {
	se, si, inI = se[:len(inE)], si[:len(inE)], inI[:len(inE)]
	for i := range inE {
		se[i] += inE[i] * sE
		si[i] += inI[i] * sI
		inE[i], inI[i] = 0, 0
	}
}

// decayCond multiplies the conductances of neurons [a, b) by e^{−dt/τ}.
func decayCond(c *popRT, a, b int, se, si []float64) {
	se, si = se[a:b], si[a:b]
	si = si[:len(se)]
	ae, ai := c.ae, c.ai
	for i := range se {
		se[i], si[i] = se[i]*ae, si[i]*ai
	}
}

// Stops of cobaAVX.
const (
	cobaDone  = iota // every group processed
	cobaSlow         // the next group has some x above phiMaxX: not processed
	cobaCross        // the last group processed has some V ≥ V_th
)

// crossings applies the threshold to v (neurons first, first+1, …): a
// neuron at V ≥ V_th fires unless refractory.
func crossings(c *popRT, v []float64, last []int64, t int64, first int, spk []int32) []int32 {
	last = last[:len(v)]
	for i, x := range v {
		if x >= c.vth && t-last[i] > int64(c.nref) {
			v[i] = c.vreset
			spk = append(spk, int32(first+i))
		}
	}
	return spk
}

// condFMA is the scalar FMA conductance-based update of v and last (equal
// lengths with se, si; iext nil or equal length; first is the index of
// v[0]) with the threshold of crossings; it reads se and si as
// kernLIFCondFMA does.
func condFMA(c *popRT, k *cobaK, v, se, si, iext []float64, last []int64, t int64, first int, spk []int32) []int32 {
	se, si, last = se[:len(v)], si[:len(v)], last[:len(v)]
	xl, xe, xi, yl, yi, ee := c.xl, k.xe[0], k.xi[0], c.yl, k.yi[0], c.ee
	vth, vr, nref := c.vth, c.vreset, int64(c.nref)
	for i := range v {
		ge, gi := se[i], si[i]
		x := math.FMA(gi, xi, math.FMA(ge, xe, xl))
		var ph float64
		if x > phiMaxX {
			ph = (1 - expNeg(x)) / x
		} else {
			x2 := x * x
			p03 := math.FMA(math.FMA(phiC3, x, phiC2), x2, math.FMA(phiC1, x, phiC0))
			p47 := math.FMA(math.FMA(phiC7, x, phiC6), x2, math.FMA(phiC5, x, phiC4))
			ph = math.FMA(p47, x2*x2, p03)
		}
		y := yl
		if iext != nil {
			y = c.condY(iext[i])
		}
		y = math.FMA(gi, yi, y)
		w := math.FMA(-x, v[i]-ee, y)
		vn := math.FMA(ph, w, v[i])
		if vn >= vth && t-last[i] > nref {
			vn = vr
			spk = append(spk, int32(first+i))
		}
		v[i] = vn
	}
	return spk
}

// thresholdSIMD is threshold with the vector scan: aboveAVX finds the
// first neuron at or above threshold (groups of four from v[0]); the rest
// of its group is checked here.
func thresholdSIMD(c *popRT, a int, v []float64, spk []int32) []int32 {
	vth, vr := c.vth, c.vreset
	n4 := len(v) &^ 3
	i := 0
	for i < n4 {
		i += aboveAVX(&v[i], n4-i, vth)
		if i == n4 {
			break
		}
		for end := i&^3 + 4; i < end; i++ { // the rest of the group holding a crossing
			if v[i] >= vth {
				v[i] = vr
				spk = append(spk, int32(a+i))
			}
		}
	}
	return threshold(c, a+n4, v[n4:], spk)
}
