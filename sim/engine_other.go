//go:build !amd64

package sim

// simdAvailable is false off amd64: the scalar kernels run.
const simdAvailable = false

func cubaAVX(v, se, si *float64, n int, k *cubaK) { panic("sim: no vector kernels") }
func deltaAVX(v, in *float64, n int, k *deltaK)   { panic("sim: no vector kernels") }
func cobaAVX(v, se, si *float64, n int, k *cobaK) (done, stop int) {
	panic("sim: no vector kernels")
}
func aboveAVX(v *float64, n int, vth float64) int { panic("sim: no vector kernels") }
