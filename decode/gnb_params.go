package decode

import (
	"errors"
	"fmt"
	"io"
	"math"
)

// GNBFormat and GNBVersion identify Gaussian naive Bayes parameter files.
const (
	GNBFormat  = "bciloop.gnb"
	GNBVersion = 1
)

// Features returns p, the number of features per class.
func (p *GNBParams) Features() int {
	if len(p.Classes) == 0 {
		return 0
	}
	return len(p.Means) / len(p.Classes)
}

// Validate reports every problem of p at once, each as "key: message" with
// the JSON key: at least two distinct, non-empty class names; means and
// vars C×p, finite, variances > 0; one finite log prior per class, the
// priors summing to 1 (within 1e-9).
func (p *GNBParams) Validate() error {
	errs := validateClasses(p.Classes)
	C := len(p.Classes)
	if C > 0 && (len(p.Means) == 0 || len(p.Means)%C != 0) {
		errs = append(errs, fmt.Errorf("means: has %d values, want a positive multiple of the %d classes", len(p.Means), C))
	} else {
		vecCheck(&errs, "means", p.Means, len(p.Means))
	}
	if vecCheck(&errs, "vars", p.Vars, len(p.Means)) {
		for i, v := range p.Vars {
			if !(v > 0) {
				errs = append(errs, fmt.Errorf("vars: value %d is %g, must be > 0", i, v))
				break
			}
		}
	}
	if vecCheck(&errs, "log_prior", p.LogPrior, C) && C > 0 {
		s := 0.0
		for _, v := range p.LogPrior {
			s += math.Exp(v)
		}
		if math.Abs(s-1) > 1e-9 {
			errs = append(errs, fmt.Errorf("log_prior: the priors exp(log_prior) sum to %g, want 1", s))
		}
	}
	return errors.Join(errs...)
}

// gnbFile is the JSON layout of a GNB parameter file, version 1:
//
//	{"format": "bciloop.gnb", "version": 1, "features": p, "classes": [C],
//	 "means": [C×p], "vars": [C×p], "log_prior": [C]}
//
// with the layout of every parameter file (see paramfile.go).
type gnbFile struct {
	Format   string `json:"format"`
	Version  int    `json:"version"`
	Features int    `json:"features"`
	*GNBParams
}

// WriteGNBParams writes p to w as a version-1 GNB parameter file, after
// validating it.
func WriteGNBParams(w io.Writer, p *GNBParams) error {
	if p == nil {
		return errors.New("gnb params: nil parameters")
	}
	if err := p.Validate(); err != nil {
		return fmt.Errorf("gnb params: %w", err)
	}
	return writeParamFile(w, "gnb params", &gnbFile{Format: GNBFormat, Version: GNBVersion, Features: p.Features(), GNBParams: p})
}

// ReadGNBParams reads one GNB parameter file from r, rejecting unknown
// fields, another format or version, trailing data and parameters that do
// not validate, naming the field.
func ReadGNBParams(r io.Reader) (*GNBParams, error) {
	f := gnbFile{GNBParams: new(GNBParams)}
	if err := readParamFile(r, "gnb params", &f); err != nil {
		return nil, err
	}
	errs := []error{checkFileHeader(f.Format, f.Version, GNBFormat, GNBVersion)}
	p := f.GNBParams
	if errs[0] == nil {
		if err := p.Validate(); err != nil {
			errs = append(errs, err)
		} else if f.Features != p.Features() {
			errs = append(errs, fmt.Errorf("features: %d, but the means have %d per class", f.Features, p.Features()))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("gnb params: %w", err)
	}
	return p, nil
}
