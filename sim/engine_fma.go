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

// cobaK holds the coefficients of cobaAVX.
type cobaK struct {
	ae, ai, fe, fi, gl, glie, ee, ei, dtc, half quad
	c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10 quad
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
	c.simd.coba = cobaK{q4(c.ae), q4(c.ai), q4(c.ke), q4(c.ki), q4(c.gl), q4(c.glel + c.iext), q4(c.ee), q4(c.ei), q4(c.dtc), q4(0.5),
		q4(phiC0), q4(phiC1), q4(phiC2), q4(phiC3), q4(phiC4), q4(phiC5), q4(phiC6), q4(phiC7), q4(phiC8), q4(phiC9), q4(phiC10)}
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

// kernLIFCondFMA integrates neurons [a, b) as kernLIFCond, FMA arithmetic.
func kernLIFCondFMA(c *popRT, a, b int, v, se, si, iext []float64, inE, inI []float64) {
	v, se, si = v[a:b], se[a:b], si[a:b]
	se, si = se[:len(v)], si[:len(v)]
	if inE != nil {
		addInput(se, si, inE[a:b], inI[a:b])
	}
	if iext != nil {
		iext = iext[a:b]
		condFMA(c, v, se, si, iext[:len(v)])
		return
	}
	n4 := len(v) &^ 3
	i := 0
	for i < n4 {
		i += cobaAVX(&v[i], &se[i], &si[i], n4-i, &c.simd.coba)
		if i < n4 { // a group with x > 1/2
			condFMA(c, v[i:i+4], se[i:i+4], si[i:i+4], nil)
			i += 4
		}
	}
	condFMA(c, v[i:], se[i:], si[i:], nil)
}

// condFMA is the scalar FMA conductance-based update of v, se, si (equal
// lengths; iext nil or equal length).
func condFMA(c *popRT, v, se, si, iext []float64) {
	se, si = se[:len(v)], si[:len(v)]
	ae, ai, fe, fi := c.ae, c.ai, c.ke, c.ki
	gl, ee, ei, dtc := c.gl, c.ee, c.ei, c.dtc
	glie := c.simd.coba.glie[0]
	for i := range v {
		ge, gi := se[i], si[i]
		be, bi := ge*fe, gi*fi
		gt := gl + be + bi
		x := gt * dtc
		se[i], si[i] = ge*ae, gi*ai
		var ph float64
		if x > 0.5 {
			ph = (1 - expNeg(x)) / x
		} else {
			x2 := x * x
			x4 := x2 * x2
			p03 := math.FMA(math.FMA(phiC3, x, phiC2), x2, math.FMA(phiC1, x, phiC0))
			p47 := math.FMA(math.FMA(phiC7, x, phiC6), x2, math.FMA(phiC5, x, phiC4))
			p810 := math.FMA(phiC10, x2, math.FMA(phiC9, x, phiC8))
			ph = math.FMA(p810, x4*x4, math.FMA(p47, x4, p03))
		}
		num := glie
		if iext != nil {
			num = c.glel + iext[i]
		}
		num = math.FMA(bi, ei, math.FMA(be, ee, num))
		w := math.FMA(-gt, v[i], num)
		v[i] = math.FMA(dtc*ph, w, v[i])
	}
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
