package decode

import "fmt"

// Observed returns the frames of the bin that were observed, Width − Lost.
func (b *Bin) Observed() int { return b.Width - b.Lost }

// MinObservedFraction is the smallest fraction of a bin's frames that must
// have been observed for PartialRule to use its counts. Below it the decoder
// only predicts.
//
// The rule follows from the count model every decoder here assumes (Dayan &
// Abbott 2001, §1.4): a channel's count in a bin is Poisson with mean λ·t,
// t the observed time. Over a fraction f = Observed/Width of the bin, the
// count n has mean f·λ·T, so the raw count reads as a rate f times too low
// (a bin missing half its frames looks like a 50 % drop in firing, which a
// Kalman filter decodes as a large movement); n/f is the unbiased estimate
// of the full-bin count, with variance λ·T/f, 1/f times the full-bin Poisson
// variance, while the decoders weigh it as a full bin. As f → 0 the scaled
// count is noise, and the honest step is the filter's predict step alone:
// x⁻ = A x, P⁻ = A P Aᵀ + W. The cut-off ¼ (variance at most 4× Poisson) is
// empirical: on the 30 s sim-cursor run with 10 % of blocks dropped in
// bursts (loop TestDroppedBlocksDecoding, seeds 7–12) velocity R² with ¼ was
// as good as or better than with ½ (fewer bins predicted only) and with
// 1/100 or 1/10 (noisy scaled bins), for the Kalman filter and the PPF; the
// differences are small (≈0.01 in R²).
const MinObservedFraction = 0.25

// PartialAction is what PartialRule says to do with a bin.
type PartialAction int

const (
	// DecodeFull: every frame observed, decode the bin as it is.
	DecodeFull PartialAction = iota
	// DecodeScaled: at least MinObservedFraction observed; the counts were
	// scaled by Width/Observed to the full bin, decode them.
	DecodeScaled
	// PredictOnly: too few frames observed; advance the decoder's state
	// without the counts (Predictor), or skip the bin if it cannot.
	PredictOnly
)

// PartialRule applies the partial-bin rule of MinObservedFraction to b in
// place: a complete bin is left alone (DecodeFull); a bin with at least that
// fraction observed has its Counts scaled by Width/Observed (DecodeScaled);
// any other bin is left alone and reported PredictOnly. It does not allocate.
func PartialRule(b *Bin) PartialAction {
	if b.Lost <= 0 {
		return DecodeFull
	}
	obs := b.Observed()
	if obs <= 0 || float64(obs) < MinObservedFraction*float64(b.Width) {
		return PredictOnly
	}
	s := float64(b.Width) / float64(obs)
	for i := range b.Counts {
		b.Counts[i] *= s
	}
	return DecodeScaled
}

// Predictor is implemented by decoders with a state-transition model (the
// Kalman filters and the point-process filter): Predict advances the state
// by one bin without an observation, x⁻ = A x, P⁻ = A P Aᵀ + W, adopts the
// prediction as the posterior, and writes it into dst (stamped with obs's
// Seq, End and Arrived; obs's counts are not read, and obs may describe a
// bin that was never observed). Like Decode it must not allocate after the
// first call with a given dst.
type Predictor interface {
	Predict(dst *Estimate, obs *Bin) error
}

var (
	_ Predictor = (*Kalman)(nil)
	_ Predictor = (*SteadyStateKalman)(nil)
	_ Predictor = (*PPF)(nil)
)

// predictCov writes A P Aᵀ + W into pn (d×d; tmp scratch).
func predictCov(pn, tmp, a, p, w []float64, d int) {
	mulAB(tmp, a, p, d, d, d)
	mulABt(pn, tmp, a, d, d, d)
	for i, v := range w {
		pn[i] += v
	}
	symmetrize(pn, d)
}

// Predict runs the Kalman predict step alone (see Predictor).
func (k *Kalman) Predict(dst *Estimate, obs *Bin) error {
	m := k.m
	if obs == nil {
		return fmt.Errorf("kalman: nil bin")
	}
	mulVec(k.xp, m.a, m.d, m.d, k.x)
	predictCov(k.pn, m.tmp, m.a, k.p, m.w, m.d)
	copy(k.x, k.xp)
	k.p, k.pn = k.pn, k.p
	m.output(dst, obs, k.x, k.p)
	return nil
}

// Predict runs the predict step alone, x⁻ = A x (see Predictor); the
// covariance reported is A P∞ Aᵀ + W, the prediction covariance of the
// steady state (the filter's fixed gain does not track it).
func (s *SteadyStateKalman) Predict(dst *Estimate, obs *Bin) error {
	m := s.m
	if obs == nil {
		return fmt.Errorf("steady-state kalman: nil bin")
	}
	mulVec(s.xn, m.a, m.d, m.d, s.x)
	s.x, s.xn = s.xn, s.x
	predictCov(m.pp, m.tmp, m.a, s.pinf, m.w, m.d)
	m.output(dst, obs, s.x, m.pp)
	return nil
}

// Predict runs the point-process filter's predict step alone (see
// Predictor); with no spikes observed the update of Eden et al. (2004) has
// no information to add.
func (f *PPF) Predict(dst *Estimate, obs *Bin) error {
	if obs == nil {
		return fmt.Errorf("ppf: nil bin")
	}
	d := f.d
	mulVec(f.xp, f.a, d, d, f.x)
	predictCov(f.pn, f.tmp, f.a, f.p, f.w, d)
	copy(f.x, f.xp)
	f.p, f.pn = f.pn, f.p
	f.estimate(dst, obs)
	return nil
}
