package decode

import (
	"fmt"
	"math"
)

// GridAxis is one axis of the grid a Poisson population decoder decodes
// over: Points values from Min to Max (both included) on a linear axis, or
// Points values Min + k·(Max − Min)/Points (Max excluded, it is Min again) on
// a circular one, such as a movement direction in radians.
type GridAxis struct {
	Name     string  `yaml:"name" json:"name"`
	Min      float64 `yaml:"min" json:"min"`
	Max      float64 `yaml:"max" json:"max"`
	Points   int     `yaml:"points" json:"points"`
	Circular bool    `yaml:"circular" json:"circular"`
}

// Step returns the spacing of the axis's points.
func (a *GridAxis) Step() float64 {
	if a.Circular {
		return (a.Max - a.Min) / float64(a.Points)
	}
	if a.Points <= 1 {
		return 0
	}
	return (a.Max - a.Min) / float64(a.Points-1)
}

// Value returns the coordinate of point k.
func (a *GridAxis) Value(k int) float64 { return a.Min + float64(k)*a.Step() }

// nearest returns the index of the point nearest to v (clamped to the axis
// on a linear axis, wrapped on a circular one).
func (a *GridAxis) nearest(v float64) int {
	st := a.Step()
	if st == 0 {
		return 0
	}
	k := math.Round((v - a.Min) / st)
	if a.Circular {
		m := float64(a.Points)
		k = math.Mod(k, m)
		if k < 0 {
			k += m
		}
		if int(k) == a.Points {
			return 0
		}
		return int(k)
	}
	return int(max(0, min(float64(a.Points-1), k)))
}

// diff returns u − v, wrapped into [−period/2, period/2) on a circular axis.
func (a *GridAxis) diff(u, v float64) float64 {
	d := u - v
	if a.Circular {
		p := a.Max - a.Min
		d -= p * math.Floor(d/p+0.5)
	}
	return d
}

// validate appends the problems of a, keyed by key.
func (a *GridAxis) validate(key string, errs *[]error) {
	if a.Name == "" {
		*errs = append(*errs, fmt.Errorf("%s.name: must not be empty", key))
	}
	if a.Points < 1 {
		*errs = append(*errs, fmt.Errorf("%s.points: must be ≥ 1, got %d", key, a.Points))
	}
	if !(a.Max > a.Min) || math.IsInf(a.Max-a.Min, 0) {
		*errs = append(*errs, fmt.Errorf("%s: min %g and max %g must be finite with max > min", key, a.Min, a.Max))
	}
}

// gridKernel is a truncated Gaussian kernel along one grid axis, applied as a
// 1-D convolution along that axis of a row-major grid array.
//
// On a linear axis, the kernel has offsets −r…r (r = ⌈4σ⌉ points, σ in
// points); on a circular axis its weights are folded modulo the axis length.
// With norm set, it is a Markov transition: each source point's weights are
// normalised over the destinations that exist, so that probability mass is
// conserved at the edges of a linear axis (the mass that would leave the grid
// is redistributed over the points inside).
type gridKernel struct {
	m        int
	circular bool
	offs     []int
	w        []float64
	inv      []float64 // 1/Σ_destinations w, per source point (norm, linear)
}

func newGridKernel(m int, circular bool, sigma float64, norm bool) gridKernel {
	k := gridKernel{m: m, circular: circular}
	r := 0
	if sigma > 0 {
		r = int(math.Ceil(4 * sigma))
	}
	g := func(o int) float64 {
		if sigma == 0 {
			if o == 0 {
				return 1
			}
			return 0
		}
		return math.Exp(-float64(o*o) / (2 * sigma * sigma))
	}
	if circular {
		fold := make([]float64, m)
		for o := -r; o <= r; o++ {
			fold[((o%m)+m)%m] += g(o)
		}
		sum := 0.0
		for _, v := range fold {
			sum += v
		}
		for d, v := range fold {
			if v == 0 {
				continue
			}
			if norm {
				v /= sum
			}
			k.offs = append(k.offs, d)
			k.w = append(k.w, v)
		}
		return k
	}
	r = min(r, m-1)
	for o := -r; o <= r; o++ {
		k.offs = append(k.offs, o)
		k.w = append(k.w, g(o))
	}
	if norm {
		k.inv = make([]float64, m)
		for j := 0; j < m; j++ {
			s := 0.0
			for i, o := range k.offs {
				if d := j + o; d >= 0 && d < m {
					s += k.w[i]
				}
			}
			k.inv[j] = 1 / s
		}
	}
	return k
}

// apply writes into dst the convolution of src along this axis, for an
// array of outer×m×inner values (this axis in the middle). With norm, src
// is scaled in place by the per-source normalisation first. dst must not
// alias src.
func (k *gridKernel) apply(dst, src []float64, outer, inner int) {
	m := k.m
	if k.inv != nil {
		for b := 0; b < outer; b++ {
			for j := 0; j < m; j++ {
				row := src[(b*m+j)*inner : (b*m+j+1)*inner]
				s := k.inv[j]
				for i := range row {
					row[i] *= s
				}
			}
		}
	}
	clear(dst[:outer*m*inner])
	for b := 0; b < outer; b++ {
		base := b * m * inner
		for i, o := range k.offs {
			w := k.w[i]
			if k.circular {
				// dst[d] += w·src[(d − o) mod m]: two contiguous runs.
				axpyRun(dst[base+o*inner:base+m*inner], src[base:base+(m-o)*inner], w)
				axpyRun(dst[base:base+o*inner], src[base+(m-o)*inner:base+m*inner], w)
				continue
			}
			// dst[d] += w·src[d − o] for 0 ≤ d − o < m.
			lo, hi := max(0, o), min(m, m+o)
			if lo >= hi {
				continue
			}
			axpyRun(dst[base+lo*inner:base+hi*inner], src[base+(lo-o)*inner:base+(hi-o)*inner], w)
		}
	}
}

// axpyRun adds w·src to dst (equal lengths).
func axpyRun(dst, src []float64, w float64) {
	src = src[:len(dst)]
	for i, v := range src {
		dst[i] += w * v
	}
}
