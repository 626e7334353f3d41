package decode

import (
	"errors"
	"fmt"
	"slices"
)

// Fold is one fold of contiguous k-fold cross-validation: the test rows
// [TestStart, TestEnd) and the training rows (ascending).
type Fold struct {
	Index              int
	TestStart, TestEnd int
	Train              []int
}

// ContiguousFolds splits the rows 0…n−1 of a time series into k contiguous
// folds: fold f tests the f-th contiguous block of rows,
//
//	[⌊f·n/k⌋, ⌊(f+1)·n/k⌋),  f = 0…k−1,
//
// (blocks differ in size by at most one row and cover every row exactly
// once), and trains on every other row except the purge rows on each side of
// the block. Contiguous blocks, not shuffled rows, because neighbouring bins
// of a recording are correlated: a shuffled split tests on rows whose
// neighbours were trained on and overstates accuracy (Roberts et al. 2017,
// "Cross-validation strategies for data with temporal, spatial, hierarchical,
// or phylogenetic structure", Ecography 40:913–929). The purge (a gap, as
// in the "purged" k-fold of López de Prado 2018, Advances in Financial
// Machine Learning, §7.4) drops the training rows that share data with the
// test block: a row made from the last L bins of counts (a filter with L
// taps), or paired with the target lag bins later, shares bins with rows up
// to L−1+|lag| away, so purge = L−1+|lag| keeps every bin of the test block
// out of training.
//
// Errors: k < 2, n < k, a negative purge, and a fold left with no training
// row.
func ContiguousFolds(n, k, purge int) ([]Fold, error) {
	switch {
	case k < 2:
		return nil, fmt.Errorf("cross-validation: need at least 2 folds, got %d", k)
	case n < k:
		return nil, fmt.Errorf("cross-validation: %d rows for %d folds; need at least one row per fold", n, k)
	case purge < 0:
		return nil, fmt.Errorf("cross-validation: purge must be ≥ 0 rows, got %d", purge)
	}
	folds := make([]Fold, k)
	for f := range folds {
		lo, hi := f*n/k, (f+1)*n/k
		var train []int
		for r := 0; r < n; r++ {
			if r < lo-purge || r >= hi+purge {
				train = append(train, r)
			}
		}
		if len(train) == 0 {
			return nil, fmt.Errorf("cross-validation: fold %d (test rows %d–%d of %d) has no training row left after purging %d rows on each side; use fewer folds or more data", f, lo, hi-1, n, purge)
		}
		folds[f] = Fold{Index: f, TestStart: lo, TestEnd: hi, Train: train}
	}
	return folds, nil
}

// checkFold reports a fold that is out of range or trains on a test row.
func checkFold(fd *Fold, n int) error {
	if fd.TestStart < 0 || fd.TestEnd > n || fd.TestStart >= fd.TestEnd {
		return fmt.Errorf("fold %d: test rows [%d, %d) are not a non-empty range within the %d rows", fd.Index, fd.TestStart, fd.TestEnd, n)
	}
	if len(fd.Train) == 0 {
		return fmt.Errorf("fold %d: no training rows", fd.Index)
	}
	for _, r := range fd.Train {
		if r < 0 || r >= n {
			return fmt.Errorf("fold %d: training row %d is out of range [0, %d)", fd.Index, r, n)
		}
		if r >= fd.TestStart && r < fd.TestEnd {
			return fmt.Errorf("fold %d: training row %d is a test row", fd.Index, r)
		}
	}
	return nil
}

// CrossValidateBins cross-validates a decoder on bins with folds (from
// ContiguousFolds): for each fold, fit receives the fold's training bins, in
// order, and returns a decoder, which is Reset and then decodes the fold's
// test bins in order (a filter starts each test block from its prior). It
// returns the estimate of every bin tested (pred[r] is a copy of
// Estimate.State for bin r; nil for a bin in no test block).
//
// The bins' Start and Width must show the gaps that training across a test
// block leaves (bins from one continuous run do): the Fit…Bins functions
// then fit transitions and lag histories only on consecutive bins.
//
// Errors: a fold out of range, overlapping test blocks, a fold that trains
// on one of its test bins, and any error of fit or Decode, named with the
// fold.
func CrossValidateBins(bins []Bin, folds []Fold, fit func(fold int, train []Bin) (Decoder, error)) ([][]float64, error) {
	if len(bins) == 0 {
		return nil, errors.New("cross-validation: no bins")
	}
	if len(folds) == 0 {
		return nil, errors.New("cross-validation: no folds")
	}
	n := len(bins)
	tested := make([]bool, n)
	for i := range folds {
		fd := &folds[i]
		if err := checkFold(fd, n); err != nil {
			return nil, fmt.Errorf("cross-validation: %w", err)
		}
		for r := fd.TestStart; r < fd.TestEnd; r++ {
			if tested[r] {
				return nil, fmt.Errorf("cross-validation: fold %d: row %d is tested by an earlier fold too", fd.Index, r)
			}
			tested[r] = true
		}
	}
	pred := make([][]float64, n)
	var est Estimate
	for i := range folds {
		fd := &folds[i]
		train := make([]Bin, len(fd.Train))
		for j, r := range fd.Train {
			train[j] = bins[r]
		}
		dec, err := fit(fd.Index, train)
		if err != nil {
			return nil, fmt.Errorf("fold %d (test bins %d–%d): %w", fd.Index, fd.TestStart, fd.TestEnd-1, err)
		}
		dec.Reset()
		for r := fd.TestStart; r < fd.TestEnd; r++ {
			if err := dec.Decode(&est, &bins[r]); err != nil {
				return nil, fmt.Errorf("fold %d (test bins %d–%d): %w", fd.Index, fd.TestStart, fd.TestEnd-1, err)
			}
			pred[r] = slices.Clone(est.State)
		}
	}
	return pred, nil
}
