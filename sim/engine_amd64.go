package sim

import "golang.org/x/sys/cpu"

// simdAvailable selects the AVX2+FMA kernels (engine_amd64.s) when the CPU
// and the OS support them.
var simdAvailable = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// The vector kernels process n neurons, n a multiple of 4, four at a time
// with the arithmetic of the scalar FMA kernels (engine_fma.go) lane by
// lane, so that their results are bit-identical.

//go:noescape
func cubaAVX(v, se, si *float64, n int, k *cubaK)

//go:noescape
func deltaAVX(v, in *float64, n int, k *deltaK)

// cobaAVX integrates groups of four and stops before the first group with
// some x = g_T·dt/C above phiMaxX (stop cobaSlow) or after the first group
// with some V ≥ V_th (stop cobaCross), else after all (cobaDone); done is
// the number of neurons it processed.
//
//go:noescape
func cobaAVX(v, se, si *float64, n int, k *cobaK) (done, stop int)

// aboveAVX returns the index of the first of v[0:n] at or above vth, or n.
//
//go:noescape
func aboveAVX(v *float64, n int, vth float64) int
