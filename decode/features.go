package decode

import (
	"errors"
	"fmt"
)

// CommonAverage re-references frame-major data to the common average
// (Ludwig et al. 2009, J. Neurophysiol. 101:1679): every sample minus the
// mean over channels of its frame, x'_c(t) = x_c(t) − (1/C) Σ_k x_k(t),
// written into dst (same length as src; dst may be src). It does not
// allocate, and panics on a length that is not a whole number of frames (a
// wiring error).
func CommonAverage(dst, src []float32, channels int) {
	if channels < 1 || len(src)%channels != 0 || len(dst) != len(src) {
		panic(fmt.Sprintf("decode.CommonAverage: len(src) = %d, len(dst) = %d for %d channels", len(src), len(dst), channels))
	}
	inv := 1 / float64(channels)
	for f := 0; f < len(src); f += channels {
		row := src[f : f+channels]
		s := 0.0
		for _, v := range row {
			s += float64(v)
		}
		m := float32(s * inv)
		out := dst[f : f+channels]
		for c, v := range row {
			out[c] = v - m
		}
	}
}

// History keeps the last Lags bins of a channels-wide feature vector (spike
// counts) and forms the two usual temporal features from it without
// allocating: the stacked lags [z_t, z_{t−1}, …, z_{t−L+1}] (the design of a
// Wiener filter, or of any decoder given history) and the sliding-window sum
// Σ_{l<L} z_{t−l} (a rate over a longer window, r = sum/(L·Δt), Dayan &
// Abbott 2001, §1.2). Until L bins have been pushed (after construction or
// Reset), the missing bins count as Fill (for example the calibration mean,
// or zero).
//
// Concurrency: a History is used by one goroutine at a time.
type History struct {
	n, lags int
	fill    []float64
	ring    []float64
	head    int
	sum     []float64
}

// NewHistory returns a history of lags bins of channels values, with the
// missing bins before the first push taken as fill (len channels, or nil
// for zero).
func NewHistory(channels, lags int, fill []float64) (*History, error) {
	var errs []error
	if channels < 1 {
		errs = append(errs, fmt.Errorf("channels: must be ≥ 1, got %d", channels))
	}
	if lags < 1 {
		errs = append(errs, fmt.Errorf("lags: must be ≥ 1, got %d", lags))
	}
	if fill != nil && len(fill) != channels {
		errs = append(errs, fmt.Errorf("fill: has %d values for %d channels", len(fill), channels))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("history: %w", err)
	}
	h := &History{n: channels, lags: lags, fill: make([]float64, channels), ring: make([]float64, channels*lags), sum: make([]float64, channels)}
	copy(h.fill, fill)
	h.Reset()
	return h, nil
}

// Lags returns L.
func (h *History) Lags() int { return h.lags }

// Reset fills the history with Fill.
func (h *History) Reset() {
	for l := 0; l < h.lags; l++ {
		copy(h.ring[l*h.n:(l+1)*h.n], h.fill)
	}
	for i, v := range h.fill {
		h.sum[i] = float64(h.lags) * v
	}
	h.head = 0
}

// Push adds the newest bin z (len channels; it panics otherwise, a wiring
// error), dropping the oldest. The running sum is updated in O(channels).
func (h *History) Push(z []float64) {
	if len(z) != h.n {
		panic(fmt.Sprintf("decode.History.Push: %d values, want %d", len(z), h.n))
	}
	h.head = (h.head + 1) % h.lags
	slot := h.ring[h.head*h.n : (h.head+1)*h.n]
	for i, v := range z {
		h.sum[i] += v - slot[i]
		slot[i] = v
	}
}

// LagsTo writes the stacked history (lag 0 first, channels·Lags values)
// into dst, grown if needed, and returns it.
func (h *History) LagsTo(dst []float64) []float64 {
	dst = grow(dst, h.n*h.lags)
	for l := 0; l < h.lags; l++ {
		k := (h.head - l + h.lags) % h.lags
		copy(dst[l*h.n:(l+1)*h.n], h.ring[k*h.n:(k+1)*h.n])
	}
	return dst
}

// SumTo writes the sliding-window sum over the last Lags bins into dst,
// grown if needed, and returns it. The running sum is exact for integer
// counts; for other values it is recomputed from the ring (Lags·channels
// additions) to keep rounding from accumulating.
func (h *History) SumTo(dst []float64) []float64 {
	dst = grow(dst, h.n)
	for i := range dst {
		s := 0.0
		for l := 0; l < h.lags; l++ {
			s += h.ring[l*h.n+i]
		}
		dst[i] = s
		h.sum[i] = s
	}
	return dst
}
