// Package decode turns binned neural activity into estimates of intended
// movement or state: the Bin and Binner types, the Decoder interface, and the
// population-coding Bayesian decoders (Kalman filter of Wu et al. 2006, and
// more), with their fitting from calibration data and their parameter files.
//
// # Binning
//
// SpikeBinner counts spikes per channel over fixed-width bins aligned to
// sample 0 of the stream, from blocks of any size, with the mean ground truth
// of each bin when the stream carries it. Gaps in the stream (frames lost
// upstream, blocks dropped) are counted and keep every bin in its place:
// bins cut by a gap are emitted with Bin.Lost set, bins wholly inside one
// are reported in the next bin's Bin.Missed. PartialRule says what to do
// with such a bin (scale its counts to the full bin, or predict only:
// Predictor, implemented by the Kalman filters and the PPF).
//
// # Kalman decoding
//
// FitKalman and FitKalmanBins fit the linear-Gaussian model of Wu et al.
// (2006) by least squares: state x (kinematics: any columns, for example
// [px, py, vx, vy]) with x_{t+1} = A x_t + w, and spike counts z_t = H x_t +
// q. The result, KalmanParams, is plain data that WriteKalmanParams and
// ReadKalmanParams store as versioned JSON ("bciloop.kalman", version 1).
// Degenerate calibration data (too few bins, constant or collinear states,
// constant or dependent channels) are errors naming the cause; regularisation
// (KalmanConfig.QRidge, WRidge) is only ever applied on request.
//
// NewKalman runs the full filter in information form, O(d·n + d³) per bin;
// NewSteadyStateKalman (Malik et al. 2011) precomputes the converged gain and
// costs d·n + d² per bin. Both decode one bin at a time without allocating,
// and both reject a bin of the wrong shape without changing their state.
//
// # Population, point-process and baseline decoders
//
// Poisson (FitPoisson, NewPoisson) is the Bayesian population decoder of
// Zhang et al. (1998) for independent Poisson units over a 1-D or 2-D grid
// (a circular axis for directions) or over discrete classes, with tuning
// curves from smoothed occupancy-normalised histograms or Poisson fits
// (cosine, von Mises, Gaussian), a flat prior or a continuity prior (a
// discrete Bayes filter with a Gaussian random-walk transition), computed in
// the log domain with a rate floor; it reports the posterior mean or MAP and
// the posterior spread. PPF is the point-process filter of Eden et al.
// (2004) with log-linear intensities fitted by Newton–Raphson per unit.
// PopVec (Georgopoulos et al. 1986) and Wiener (ridge regression on lagged
// counts) are baselines. LDA (with Ledoit–Wolf 2004 shrinkage), GNB and
// CSP + log-variance + LDA (Ramoser et al. 2000, Blankertz et al. 2008)
// classify. Each has a config with Validate, a versioned JSON parameter file
// where noted (bciloop.poisson, .ppf, .popvec, .wiener, .lda), runs the
// decodetest kit, and decodes without allocating.
//
// # Features
//
// ButterLowpass, ButterHighpass, ButterBandpass (bilinear transform with
// prewarping) and Notch design biquad cascades; IIR runs them causally over
// frame-major blocks with per-channel state, FiltFilt forward–backward with
// scipy's default odd edge padding. CommonAverage re-references, History
// stacks lags and sliding sums of bins, BandPower is a causal band-power
// envelope, Welch a Hann-window PSD, and Threshold detects −k·σ crossings
// with the robust σ = median(|x|)/0.6745 of Quiroga et al. (2004),
// optionally adaptive.
//
// # Evaluation
//
// R2 accumulates the coefficient of determination, correlation and RMSE per
// state dimension in one pass, without allocating. Offline, LoadMatrix reads
// the data a lab already has (CSV with an optional header, or NumPy .npy),
// ContiguousFolds and CrossValidateBins run contiguous k-fold
// cross-validation (fold f tests the f-th block of bins; training drops the
// bins that lags and windows would share with it), and Regression,
// PositionErrors and Classification report the metrics: R², correlation and
// RMSE per dimension; median and mean position error; accuracy, Cohen's
// kappa and the chance level with its binomial 95 % limit (Müller-Putz et
// al. 2008). These back `bciloop eval` and `bciloop calibrate`.
//
// # Conformance
//
// Every Decoder runs the kit in package decodetest, which checks the
// contract of the interface: no allocation after warm-up, stamps carried,
// bad bins rejected without side effects, Reset, and no retention of inputs.
package decode
