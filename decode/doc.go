// Package decode turns binned neural activity into estimates of intended
// movement or state: the Bin and Binner types, the Decoder interface, and the
// population-coding Bayesian decoders (Kalman filter of Wu et al. 2006, and
// more), with their fitting from calibration data and their parameter files.
package decode
