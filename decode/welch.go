package decode

import (
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/gonum/dsp/fourier"
)

// Welch estimates power spectral densities by Welch's (1967) method, "The
// use of fast Fourier transform for the estimation of power spectra", IEEE
// Trans. Audio Electroacoust. 15:70–73: the signal is cut into segments of
// Segment samples overlapping by Overlap, each has its mean removed and is
// multiplied by a periodic Hann window w, and the periodograms are averaged:
//
//	P(f_k) = 2·mean_segments |Σ_t w_t x_t e^{−2πikt/N}|² / (fs Σ_t w_t²)
//
// one-sided (the factor 2 is not applied at DC, nor at Nyquist for even N),
// in units² per Hz, at f_k = k·fs/N, k = 0…N/2. This is
// scipy.signal.welch(x, fs, window="hann", nperseg=N, noverlap=Overlap,
// detrend="constant", scaling="density"). The FFT plan, window and buffers
// are made once; PSDTo does not allocate.
//
// Concurrency: a Welch is used by one goroutine at a time.
type Welch struct {
	n, step int
	fs      float64
	win     []float64
	scale   float64
	fft     *fourier.FFT
	seg     []float64
	coef    []complex128
}

// NewWelch plans the estimate for segments of segment samples (≥ 8)
// overlapping by overlap (0 ≤ overlap < segment; segment/2 is usual) at fs
// samples per second.
func NewWelch(segment, overlap int, fs float64) (*Welch, error) {
	var errs []error
	if segment < 8 {
		errs = append(errs, fmt.Errorf("segment: must be ≥ 8, got %d", segment))
	}
	if overlap < 0 || overlap >= segment {
		errs = append(errs, fmt.Errorf("overlap: must be in [0, segment), got %d", overlap))
	}
	if !(fs > 0) || math.IsInf(fs, 0) {
		errs = append(errs, fmt.Errorf("rate: must be finite and > 0, got %g", fs))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("welch: %w", err)
	}
	w := &Welch{n: segment, step: segment - overlap, fs: fs, win: make([]float64, segment),
		fft: fourier.NewFFT(segment), seg: make([]float64, segment), coef: make([]complex128, segment/2+1)}
	ss := 0.0
	for i := range w.win {
		// Periodic Hann (scipy's get_window("hann", N), fftbins=True).
		w.win[i] = 0.5 - 0.5*math.Cos(2*math.Pi*float64(i)/float64(segment))
		ss += w.win[i] * w.win[i]
	}
	w.scale = 1 / (fs * ss)
	return w, nil
}

// Bins returns the number of frequencies, N/2 + 1.
func (w *Welch) Bins() int { return w.n/2 + 1 }

// FreqsTo writes the frequencies k·fs/N into dst (grown) and returns it.
func (w *Welch) FreqsTo(dst []float64) []float64 {
	dst = grow(dst, w.Bins())
	for k := range dst {
		dst[k] = float64(k) * w.fs / float64(w.n)
	}
	return dst
}

// PSDTo writes the PSD of x into dst (grown to Bins()) and returns it. x must
// hold at least one segment.
func (w *Welch) PSDTo(dst, x []float64) ([]float64, error) {
	if len(x) < w.n {
		return dst, fmt.Errorf("welch: %d samples, fewer than one segment of %d", len(x), w.n)
	}
	dst = grow(dst, w.Bins())
	clear(dst)
	segs := 0
	for s := 0; s+w.n <= len(x); s += w.step {
		m := 0.0
		for _, v := range x[s : s+w.n] {
			m += v
		}
		m /= float64(w.n)
		for i, v := range x[s : s+w.n] {
			w.seg[i] = (v - m) * w.win[i]
		}
		w.coef = w.fft.Coefficients(w.coef, w.seg)
		for k, c := range w.coef {
			dst[k] += real(c)*real(c) + imag(c)*imag(c)
		}
		segs++
	}
	f := w.scale / float64(segs)
	last := len(dst) - 1
	for k := range dst {
		g := 2 * f
		if k == 0 || (k == last && w.n%2 == 0) {
			g = f
		}
		dst[k] *= g
	}
	return dst, nil
}

// BandPowerPSD returns the power in [lo, hi] Hz of a one-sided PSD sampled
// every df Hz from 0: the sum of the bins whose centre lies in the band,
// times df (the rectangle rule, which is exact for the periodogram's
// discrete Parseval relation).
func BandPowerPSD(psd []float64, df, lo, hi float64) float64 {
	s := 0.0
	for k, v := range psd {
		if f := float64(k) * df; f >= lo && f <= hi {
			s += v
		}
	}
	return s * df
}
