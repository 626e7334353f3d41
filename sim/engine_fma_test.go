package sim

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/bciloop/bciloop/model"
)

// randomState draws potentials and conductances (up to gmax, and 5·gmax
// inhibitory) for n neurons.
func randomState(r *rand.Rand, n int, gmax float64) (v, se, si []float64) {
	v, se, si = make([]float64, n), make([]float64, n), make([]float64, n)
	for i := range v {
		v[i] = -80 + 40*r.Float64()
		se[i] = gmax * r.Float64() * r.Float64()
		si[i] = 5 * gmax * r.Float64() * r.Float64()
	}
	return v, se, si
}

// TestVectorKernels checks that every lane of the vector kernels computes
// exactly what the scalar FMA loop computes, for every length and with
// conductances above the x = 1/2 switch.
func TestVectorKernels(t *testing.T) {
	if !simdAvailable {
		t.Skip("no AVX2+FMA")
	}
	r := rand.New(rand.NewPCG(8, 8))
	cell := model.VogelsAbbottLIF()
	for _, kind := range []NeuronModel{ModelLIFCond, ModelLIF} {
		pc := Population{Name: "P", N: 1, Model: kind, LIF: cell, TauEMs: 5, TauIMs: 10, IExtPA: 37}
		e := mustBuild(t, single(pc))
		c := &e.pops[0]
		for n := range 23 {
			for _, gmax := range []float64{50, 2000} { // 2000 nS puts some x above 1/2
				v, se, si := randomState(r, n, gmax)
				iext := make([]float64, n)
				for i := range iext {
					iext[i] = c.iext // the same current, read per neuron: the scalar path
				}
				v2, se2, si2 := slices.Clone(v), slices.Clone(se), slices.Clone(si)
				if kind == ModelLIFCond {
					// Threshold fused: every third neuron is refractory.
					last := make([]int64, n)
					for i := range last {
						last[i] = math.MinInt64 / 2
						if i%3 == 0 {
							last[i] = 100 - int64(c.nref)
						}
					}
					// Reference: the update without a threshold.
					free := *c
					free.vth = math.Inf(1)
					free.setSIMD()
					v3, se3, si3 := slices.Clone(v), slices.Clone(se), slices.Clone(si)
					kernLIFCondFMA(&free, &free.simd.coba, 0, n, v3, se3, si3, iext, nil, nil, 1, 1, last, 100, nil)
					var want []int32
					for i := range n {
						if i%3 != 0 && v3[i] >= c.vth {
							want = append(want, int32(i))
							v3[i] = c.vreset
						}
					}
					a := kernLIFCondFMA(c, &c.simd.coba, 0, n, v, se, si, nil, nil, nil, 1, 1, last, 100, nil)
					b := kernLIFCondFMA(c, &c.simd.coba, 0, n, v2, se2, si2, iext, nil, nil, 1, 1, last, 100, nil)
					if !slices.Equal(a, b) || !slices.Equal(b, want) || !slices.Equal(v2, v3) {
						t.Fatalf("lif-cond n=%d gmax=%v: vector spikes %v, scalar %v, want %v", n, gmax, a, b, want)
					}
				} else {
					kernLIFExpFMA(c, 0, n, v, se, si, nil, nil, nil)
					kernLIFExpFMA(c, 0, n, v2, se2, si2, iext, nil, nil)
				}
				for i := range n {
					if math.Float64bits(v[i]) != math.Float64bits(v2[i]) || se[i] != se2[i] || si[i] != si2[i] {
						t.Fatalf("%s n=%d gmax=%v neuron %d: vector (%v, %v, %v), scalar (%v, %v, %v)",
							kind, n, gmax, i, v[i], se[i], si[i], v2[i], se2[i], si2[i])
					}
				}
			}
		}
	}
	// Delta synapses.
	pc := Population{Name: "P", N: 1, Model: ModelLIF, LIF: cell, IExtPA: 37}
	e := mustBuild(t, single(pc))
	c := &e.pops[0]
	for n := range 23 {
		v, in, _ := randomState(r, n, 3)
		v2, in2 := slices.Clone(v), slices.Clone(in)
		iext := make([]float64, n)
		for i := range iext {
			iext[i] = c.iext
		}
		kernLIFDeltaFMA(c, 0, n, v, nil, in)
		kernLIFDeltaFMA(c, 0, n, v2, iext, in2)
		if !slices.Equal(v, v2) || slices.ContainsFunc(in, func(x float64) bool { return x != 0 }) {
			t.Fatalf("delta n=%d: vector %v, scalar %v, input left %v", n, v, v2, in)
		}
	}
	// Threshold scan.
	for n := range 40 {
		v, _, _ := randomState(r, n, 1)
		v2 := slices.Clone(v)
		a := thresholdSIMD(c, 100, v, nil)
		b := threshold(c, 100, v2, nil)
		if !slices.Equal(a, b) || !slices.Equal(v, v2) {
			t.Fatalf("threshold n=%d: vector %v, scalar %v", n, a, b)
		}
	}
}

// TestKernelFlavours runs the analytic single-neuron checks with the
// vector kernels and with the portable ones.
func TestKernelFlavours(t *testing.T) {
	cell := model.VogelsAbbottLIF()
	for _, simd := range []bool{false, true} {
		if simd && !simdAvailable {
			continue
		}
		for _, kind := range []NeuronModel{ModelLIF, ModelLIFCond} {
			for _, tau := range []float64{0, 5} {
				if kind == ModelLIFCond && tau == 0 {
					continue
				}
				for _, ipa := range []float64{105, 400, 3000} {
					pc := Population{Model: kind, LIF: cell, TauEMs: tau, TauIMs: 2 * tau, IExtPA: ipa, InitV: Dist{Kind: "const", A: cell.VReset}}
					cfg := single(pc)
					cfg.Populations[0].N = 7 // groups of four and a tail
					nw := newNet(t, cfg)
					nw.e.simd = simd
					ev := nw.Advance(10000, nil)
					want := cell.Period(ipa)
					for k := 7; k < len(ev); k++ {
						isi := float64(ev[k].Sample-ev[k-7].Sample) * 0.1
						if ev[k].Channel != ev[k-7].Channel || isi < want-1e-9 || isi >= want+0.1+1e-9 {
							t.Fatalf("simd=%v %s τ=%v I=%v: interval %v ms, want [%v, %v)", simd, kind, tau, ipa, isi, want, want+0.1)
						}
					}
				}
			}
		}
	}
}
