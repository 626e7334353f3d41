package decode

import (
	"errors"
	"fmt"
	"math"
	"math/cmplx"
	"sort"
)

// Biquad is one second-order IIR section
//
//	H(z) = (B0 + B1 z⁻¹ + B2 z⁻²) / (1 + A1 z⁻¹ + A2 z⁻²),
//
// a first-order section having B2 = A2 = 0. A cascade of sections ([]Biquad,
// scipy's "sos" form) multiplies their responses; cascades keep high-order
// filters numerically stable where a single transfer function would not be.
type Biquad struct {
	B0, B1, B2, A1, A2 float64
}

// Response returns the complex frequency response of the cascade at f Hz for
// sampling rate fs: Π_k H_k(e^{iω}), ω = 2πf/fs.
func Response(sos []Biquad, f, fs float64) complex128 {
	z1 := cmplx.Exp(complex(0, -2*math.Pi*f/fs)) // z⁻¹
	z2 := z1 * z1
	h := complex(1, 0)
	for _, s := range sos {
		num := complex(s.B0, 0) + complex(s.B1, 0)*z1 + complex(s.B2, 0)*z2
		den := 1 + complex(s.A1, 0)*z1 + complex(s.A2, 0)*z2
		h *= num / den
	}
	return h
}

// checkDesign validates the common arguments of the filter designs.
func checkDesign(order int, fs float64, freqs ...float64) error {
	var errs []error
	if order < 1 || order > 20 {
		errs = append(errs, fmt.Errorf("order: must be in [1, 20], got %d", order))
	}
	if !(fs > 0) || math.IsInf(fs, 0) {
		errs = append(errs, fmt.Errorf("rate: must be finite and > 0, got %g", fs))
	}
	for _, f := range freqs {
		if !(f > 0 && f < fs/2) {
			errs = append(errs, fmt.Errorf("cutoff: %g Hz must be in (0, %g) (below Nyquist)", f, fs/2))
		}
	}
	return errors.Join(errs...)
}

// butterPoles returns the left-half-plane poles of the analog Butterworth
// prototype of the given order with cutoff 1 rad/s:
// p_k = exp(iπ(2k + N + 1)/(2N)), k = 0…N−1 (Butterworth 1930).
func butterPoles(order int) []complex128 {
	p := make([]complex128, order)
	for k := range p {
		p[k] = cmplx.Exp(complex(0, math.Pi*float64(2*k+order+1)/float64(2*order)))
	}
	return p
}

// prewarp maps the digital frequency f (Hz) to the analog frequency that
// the bilinear transform sends to it: Ω = 2 fs tan(π f/fs).
func prewarp(f, fs float64) float64 { return 2 * fs * math.Tan(math.Pi*f/fs) }

// bilinear maps an analog pole or zero s to z = (2fs + s)/(2fs − s).
func bilinear(s complex128, fs float64) complex128 {
	k := complex(2*fs, 0)
	return (k + s) / (k - s)
}

// sosFromZP pairs digital poles (conjugates together, reals two by two) into
// sections, each with the numerator num (a first-order section gets
// numFirst), and scales the first section so that |H| = 1 at f Hz.
func sosFromZP(poles []complex128, num, numFirst [3]float64, f, fs float64) []Biquad {
	var cplx, real []complex128
	for _, p := range poles {
		switch {
		case imag(p) > 1e-12:
			cplx = append(cplx, p)
		case imag(p) >= -1e-12:
			real = append(real, complex(real2(p), 0))
		}
	}
	// Deterministic order: poles nearest the unit circle last (the usual
	// choice for cascades, which keeps intermediate gains moderate).
	sort.Slice(cplx, func(i, j int) bool { return cmplx.Abs(cplx[i]) < cmplx.Abs(cplx[j]) })
	sort.Slice(real, func(i, j int) bool { return real2(real[i]) < real2(real[j]) })
	var sos []Biquad
	for len(real) >= 2 {
		a, b := real2(real[0]), real2(real[1])
		sos = append(sos, Biquad{B0: num[0], B1: num[1], B2: num[2], A1: -(a + b), A2: a * b})
		real = real[2:]
	}
	for _, p := range cplx {
		sos = append(sos, Biquad{B0: num[0], B1: num[1], B2: num[2], A1: -2 * real2(p), A2: real2(p)*real2(p) + imag(p)*imag(p)})
	}
	if len(real) == 1 {
		sos = append(sos, Biquad{B0: numFirst[0], B1: numFirst[1], B2: numFirst[2], A1: -real2(real[0])})
	}
	g := cmplx.Abs(Response(sos, f, fs))
	sos[0].B0 /= g
	sos[0].B1 /= g
	sos[0].B2 /= g
	return sos
}

func real2(c complex128) float64 { return real(c) }

// ButterLowpass designs a digital Butterworth low-pass filter of the given
// order with −3 dB cutoff fc Hz at sampling rate fs, by the bilinear
// transform with the cutoff prewarped (Oppenheim & Schafer 2010, §7.1.2):
// analog poles Ω_c·p_k, all N zeros at z = −1, and unit gain at DC. The
// result matches scipy.signal.butter(N, fc, fs=fs, output="sos") up to the
// order of sections.
func ButterLowpass(order int, fc, fs float64) ([]Biquad, error) {
	if err := checkDesign(order, fs, fc); err != nil {
		return nil, fmt.Errorf("butterworth low-pass: %w", err)
	}
	w := prewarp(fc, fs)
	var poles []complex128
	for _, p := range butterPoles(order) {
		poles = append(poles, bilinear(p*complex(w, 0), fs))
	}
	return sosFromZP(poles, [3]float64{1, 2, 1}, [3]float64{1, 1, 0}, 0, fs), nil
}

// ButterHighpass designs the Butterworth high-pass filter of ButterLowpass's
// method: analog poles Ω_c/p_k (the low-pass to high-pass substitution
// s → Ω_c/s), all zeros at z = +1, and unit gain at Nyquist.
func ButterHighpass(order int, fc, fs float64) ([]Biquad, error) {
	if err := checkDesign(order, fs, fc); err != nil {
		return nil, fmt.Errorf("butterworth high-pass: %w", err)
	}
	w := prewarp(fc, fs)
	var poles []complex128
	for _, p := range butterPoles(order) {
		poles = append(poles, bilinear(complex(w, 0)/p, fs))
	}
	return sosFromZP(poles, [3]float64{1, -2, 1}, [3]float64{1, -1, 0}, fs/2, fs), nil
}

// ButterBandpass designs a Butterworth band-pass filter of 2·order poles
// (order sections) with −3 dB edges lo and hi Hz: the low-pass prototype
// through the substitution s → (s² + Ω_0²)/(s·B), Ω_0² = Ω_lo·Ω_hi,
// B = Ω_hi − Ω_lo (both edges prewarped), so each prototype pole p gives the
// two poles (pB ± √((pB)² − 4Ω_0²))/2; N zeros at z = +1 and N at z = −1;
// unit gain at the centre frequency (f_0 = (fs/π)·atan(Ω_0/(2fs))).
func ButterBandpass(order int, lo, hi, fs float64) ([]Biquad, error) {
	if err := checkDesign(order, fs, lo, hi); err != nil {
		return nil, fmt.Errorf("butterworth band-pass: %w", err)
	}
	if !(hi > lo) {
		return nil, fmt.Errorf("butterworth band-pass: cutoff: high edge %g Hz must be above low edge %g Hz", hi, lo)
	}
	wl, wh := prewarp(lo, fs), prewarp(hi, fs)
	w0sq, bw := wl*wh, wh-wl
	var poles []complex128
	for _, p := range butterPoles(order) {
		pb := p * complex(bw, 0)
		r := cmplx.Sqrt(pb*pb - complex(4*w0sq, 0))
		poles = append(poles, bilinear((pb+r)/2, fs), bilinear((pb-r)/2, fs))
	}
	f0 := fs / math.Pi * math.Atan(math.Sqrt(w0sq)/(2*fs))
	return sosFromZP(poles, [3]float64{1, 0, -1}, [3]float64{1, 0, -1}, f0, fs), nil
}

// Notch designs a second-order IIR notch (band-stop) at f0 Hz with quality
// factor q (f0 over the −3 dB bandwidth), as scipy.signal.iirnotch: with
// ω_0 = 2πf_0/fs, Δω = ω_0/q and g = 1/(1 + tan(Δω/2)),
//
//	H(z) = g (1 − 2cos ω_0 z⁻¹ + z⁻²) / (1 − 2g cos ω_0 z⁻¹ + (2g − 1) z⁻²),
//
// which is exactly zero at f0 and has unit gain at DC and Nyquist. For mains
// interference: Notch(50 or 60, 30, fs).
func Notch(f0, q, fs float64) ([]Biquad, error) {
	if err := checkDesign(2, fs, f0); err != nil {
		return nil, fmt.Errorf("notch: %w", err)
	}
	if !(q > 0) || math.IsInf(q, 0) {
		return nil, fmt.Errorf("notch: q: must be finite and > 0, got %g", q)
	}
	w0 := 2 * math.Pi * f0 / fs
	g := 1 / (1 + math.Tan(w0/q/2))
	c := math.Cos(w0)
	return []Biquad{{B0: g, B1: -2 * g * c, B2: g, A1: -2 * g * c, A2: 2*g - 1}}, nil
}

// IIR runs a biquad cascade causally over multichannel frame-major blocks,
// with per-channel state carried from block to block (Direct Form II
// transposed, in float64), so that a stream filtered in blocks of any size
// equals the stream filtered whole. Process does not allocate.
//
// Concurrency: an IIR is used by one goroutine at a time.
type IIR struct {
	sos      []Biquad
	channels int
	z        []float64 // per channel, per section: z1, z2
}

// NewIIR returns a causal filter of the cascade sos over channels channels,
// starting from rest (zero state).
func NewIIR(sos []Biquad, channels int) (*IIR, error) {
	if len(sos) == 0 {
		return nil, errors.New("iir: no sections")
	}
	if channels < 1 {
		return nil, fmt.Errorf("iir: channels: must be ≥ 1, got %d", channels)
	}
	for i, s := range sos {
		if _, ok := allFinite([]float64{s.B0, s.B1, s.B2, s.A1, s.A2}); !ok {
			return nil, fmt.Errorf("iir: section %d has a non-finite coefficient", i)
		}
	}
	return &IIR{sos: append([]Biquad(nil), sos...), channels: channels, z: make([]float64, 2*len(sos)*channels)}, nil
}

// Reset returns every channel to rest.
func (f *IIR) Reset() { clear(f.z) }

// Process filters src (frame-major, len a multiple of the channel count)
// into dst (same length; dst may be src). It panics on a length mismatch (a
// wiring error).
func (f *IIR) Process(dst, src []float32) {
	C := f.channels
	if len(src)%C != 0 || len(dst) != len(src) {
		panic(fmt.Sprintf("decode.IIR.Process: len(src) = %d, len(dst) = %d for %d channels", len(src), len(dst), C))
	}
	S := len(f.sos)
	frames := len(src) / C
	// Section-outer, channel-middle, frame-inner keeps each channel's
	// state in registers over a block; frame-major data is strided by C.
	for c := 0; c < C; c++ {
		for k, s := range f.sos {
			zi := f.z[(c*S+k)*2 : (c*S+k)*2+2 : (c*S+k)*2+2]
			z1, z2 := zi[0], zi[1]
			in := src
			if k > 0 {
				in = dst
			}
			for t, i := 0, c; t < frames; t, i = t+1, i+C {
				x := float64(in[i])
				y := s.B0*x + z1
				z1 = s.B1*x - s.A1*y + z2
				z2 = s.B2*x - s.A2*y
				dst[i] = float32(y)
			}
			zi[0], zi[1] = z1, z2
		}
	}
}

// sosFilter filters x in place with the cascade from the state z (2 per
// section), updating z.
func sosFilter(sos []Biquad, x, z []float64) {
	for k, s := range sos {
		z1, z2 := z[2*k], z[2*k+1]
		for t, v := range x {
			y := s.B0*v + z1
			z1 = s.B1*v - s.A1*y + z2
			z2 = s.B2*v - s.A2*y
			x[t] = y
		}
		z[2*k], z[2*k+1] = z1, z2
	}
}

// sosZI writes into z the steady-state of the cascade for a unit step
// input (scipy.signal.sosfilt_zi): for DF2T with x = 1 and output g = H(1),
// z2 = B2 − A2·g and z1 = g − B0; each section's input is the previous
// section's steady-state output.
func sosZI(sos []Biquad, z []float64) {
	scale := 1.0
	for k, s := range sos {
		den := 1 + s.A1 + s.A2
		g := 1.0
		if den != 0 {
			g = (s.B0 + s.B1 + s.B2) / den
		}
		z[2*k+1] = scale * (s.B2 - s.A2*g)
		z[2*k] = scale * (g - s.B0)
		scale *= g
	}
}

// FiltFiltPad returns the edge padding FiltFilt uses for a cascade: as
// scipy.signal.sosfiltfilt's default, 3·(2·sections + 1) samples, less
// the count of trailing zero coefficients shared by numerators and
// denominators (first-order sections).
func FiltFiltPad(sos []Biquad) int {
	zb, za := 0, 0
	for _, s := range sos {
		if s.B2 == 0 {
			zb++
		}
		if s.A2 == 0 {
			za++
		}
	}
	return 3 * (2*len(sos) + 1 - min(zb, za))
}

// FiltFilt filters x forward and backward with the cascade sos (Gustafsson
// 1996's forward–backward scheme as in scipy.signal.sosfiltfilt with its
// defaults) and writes the result into dst (len(x); dst may be x): zero
// phase, magnitude |H|². The signal is extended at both ends by odd
// reflection about its end values, x_{−k} = 2x_0 − x_k and likewise at the
// end, over FiltFiltPad(sos) samples (fewer when x is shorter: it needs
// len(x) > pad, or it returns an error), and each pass starts from the
// steady state for a step of the first sample of its input (sosfilt_zi·x_0),
// which suppresses the start-up transient. It allocates its work buffer;
// FiltFilt is for offline (calibration) use.
func FiltFilt(dst, x []float64, sos []Biquad) ([]float64, error) {
	if len(sos) == 0 {
		return nil, errors.New("filtfilt: no sections")
	}
	pad := FiltFiltPad(sos)
	if len(x) <= pad {
		return nil, fmt.Errorf("filtfilt: %d samples; the edge padding of this filter needs more than %d", len(x), pad)
	}
	n := len(x)
	ext := make([]float64, n+2*pad)
	for k := 1; k <= pad; k++ {
		ext[pad-k] = 2*x[0] - x[k]
		ext[pad+n-1+k] = 2*x[n-1] - x[n-1-k]
	}
	copy(ext[pad:], x)
	zi := make([]float64, 2*len(sos))
	z := make([]float64, 2*len(sos))
	sosZI(sos, zi)
	for i, v := range zi {
		z[i] = v * ext[0]
	}
	sosFilter(sos, ext, z)
	for i, j := 0, len(ext)-1; i < j; i, j = i+1, j-1 {
		ext[i], ext[j] = ext[j], ext[i]
	}
	for i, v := range zi {
		z[i] = v * ext[0]
	}
	sosFilter(sos, ext, z)
	dst = grow(dst, n)
	for i := 0; i < n; i++ {
		dst[i] = ext[len(ext)-1-pad-i]
	}
	return dst, nil
}
