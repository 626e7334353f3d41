package loop

import (
	"fmt"
	"sync/atomic"

	"github.com/bciloop/bciloop/decode"
)

// partialCounts counts the bins that lost frames (Bin.Lost, Bin.Missed: the
// real-time queue dropped blocks or the source lost frames) and what the
// pipeline did with each, so that no loss is silent (Summary: bins_partial,
// bins_scaled, bins_predicted, bins_skipped, bins_missed,
// calibration_scaled, calibration_excluded).
type partialCounts struct {
	partial     atomic.Uint64 // bins emitted with Lost > 0
	scaled      atomic.Uint64 // decoded from counts scaled to the full bin
	predicted   atomic.Uint64 // too few frames: the decoder's prediction alone
	skipped     atomic.Uint64 // too few frames and a decoder without a predict step: no estimate
	missed      atomic.Uint64 // bins wholly lost (Bin.Missed), never emitted
	calib       atomic.Uint64 // bins with too few frames left out of calibration
	calibScaled atomic.Uint64 // calibration bins with lost frames, scaled to the full bin
}

func (c *partialCounts) note(b *decode.Bin) {
	if b.Lost > 0 {
		c.partial.Add(1)
	}
	if b.Missed > 0 {
		c.missed.Add(uint64(b.Missed))
	}
}

// maxMissedPredict bounds the predict steps run for the bins of one gap, so
// that a long outage costs bounded time: after 1000 bins (20 s of 20 ms
// bins) the stable part of the state (|eigenvalue of A| < 1, velocities) has
// relaxed to the prior to within |λ|^1000, and only the marginally stable
// part (positions) would still accumulate W.
const maxMissedPredict = 1000

// excludeFromCalibration applies calibrationRule to the current bin.
func (l *Loop) excludeFromCalibration() bool { return !calibrationRule(&l.bin, &l.partial) }

// calibrationRule applies decode.PartialRule to bin before calibration
// collects it, counting what it did in pc: a bin with at least
// decode.MinObservedFraction of its frames enters the fit with its counts
// scaled to the full bin (raw, its counts would read as low rates and bias
// the fitted baselines and tuning down); a bin with fewer is left out
// (reported false), and calibration waits for its count of usable bins.
// Replaying a session must apply the same rule to reproduce the fit.
func calibrationRule(bin *decode.Bin, pc *partialCounts) (use bool) {
	switch decode.PartialRule(bin) {
	case decode.DecodeScaled:
		pc.calibScaled.Add(1)
	case decode.PredictOnly:
		pc.calib.Add(1)
		return false
	}
	return true
}

// decodePartial decodes the current bin into l.est with decodeRule.
func (l *Loop) decodePartial() (ok bool, err error) {
	return decodeRule(l.dec, &l.est, &l.bin, &l.partial, l.cmdEnc)
}

// decodeRule decodes bin into est by decode.PartialRule: bins wholly lost
// before it (Bin.Missed) are stepped over by the decoder's predict step
// (decode.Predictor) so that its state keeps time with the stream; a
// complete bin is decoded; a bin with at least decode.MinObservedFraction of
// its frames is decoded from counts scaled to the full bin; a bin with fewer
// gets the prediction alone (flagged "predicted" in its command), or, from a
// decoder without a predict step, no estimate at all (ok false, counted as
// skipped). It sets enc's observed fraction and predicted flag for the
// command of this estimate, counts in pc, and does not allocate. Replaying a
// session must decode through it to reproduce the commands.
func decodeRule(dec decode.Decoder, est *decode.Estimate, bin *decode.Bin, pc *partialCounts, enc *commandEncoder) (ok bool, err error) {
	pred, canPredict := dec.(decode.Predictor)
	if canPredict {
		for range min(bin.Missed, maxMissedPredict) {
			if err := pred.Predict(est, bin); err != nil {
				return false, fmt.Errorf("decode: predicting over a gap: %w", err)
			}
		}
	}
	enc.observed = float64(bin.Observed()) / float64(bin.Width)
	enc.predicted = false
	switch decode.PartialRule(bin) {
	case decode.DecodeScaled:
		pc.scaled.Add(1)
	case decode.PredictOnly:
		if !canPredict {
			pc.skipped.Add(1)
			return false, nil
		}
		pc.predicted.Add(1)
		enc.predicted = true
		if err := pred.Predict(est, bin); err != nil {
			return false, fmt.Errorf("decode: %w", err)
		}
		return true, nil
	}
	if err := dec.Decode(est, bin); err != nil {
		return false, fmt.Errorf("decode: %w", err)
	}
	return true, nil
}
