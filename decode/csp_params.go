package decode

import (
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
)

// CSPFormat and CSPVersion identify CSP filter files; CSPLDAFormat and
// CSPLDAVersion identify CSP + LDA pipeline files.
const (
	CSPFormat     = "bciloop.csp"
	CSPVersion    = 1
	CSPLDAFormat  = "bciloop.csp-lda"
	CSPLDAVersion = 1
)

// Validate reports every problem of c at once, each as "key: message":
// at least 2 channels, and 2m filters (m ≥ 1, 2m ≤ channels) of finite
// weights, none all zero.
func (c *CSP) Validate() error {
	var errs []error
	if c.Channels < 2 {
		errs = append(errs, fmt.Errorf("channels: must be ≥ 2, got %d", c.Channels))
		return errors.Join(errs...)
	}
	k := len(c.Filters) / c.Channels
	if len(c.Filters) == 0 || len(c.Filters)%c.Channels != 0 || k%2 != 0 || k > c.Channels {
		errs = append(errs, fmt.Errorf("filters: has %d values; want 2m rows of %d channels with 1 ≤ m and 2m ≤ %d", len(c.Filters), c.Channels, c.Channels))
		return errors.Join(errs...)
	}
	if vecCheck(&errs, "filters", c.Filters, len(c.Filters)) {
		for r := 0; r < k; r++ {
			row := c.Filters[r*c.Channels : (r+1)*c.Channels]
			if dot(row, row) == 0 {
				errs = append(errs, fmt.Errorf("filters: row %d is all zero", r))
			}
		}
	}
	return errors.Join(errs...)
}

// cspFile is the JSON layout of a CSP filter file, version 1:
//
//	{"format": "bciloop.csp", "version": 1, "components": 2m,
//	 "channels": C, "filters": [2m×C, row-major]}
type cspFile struct {
	Format     string `json:"format"`
	Version    int    `json:"version"`
	Components int    `json:"components"`
	*CSP
}

// WriteCSPParams writes c to w as a version-1 CSP filter file, after
// validating it.
func WriteCSPParams(w io.Writer, c *CSP) error {
	if c == nil {
		return errors.New("csp params: nil filters")
	}
	if err := c.Validate(); err != nil {
		return fmt.Errorf("csp params: %w", err)
	}
	return writeParamFile(w, "csp params", &cspFile{Format: CSPFormat, Version: CSPVersion, Components: c.Components(), CSP: c})
}

// ReadCSPParams reads one CSP filter file from r, rejecting unknown fields,
// another format or version, trailing data and filters that do not
// validate.
func ReadCSPParams(r io.Reader) (*CSP, error) {
	f := cspFile{CSP: new(CSP)}
	if err := readParamFile(r, "csp params", &f); err != nil {
		return nil, err
	}
	errs := []error{checkFileHeader(f.Format, f.Version, CSPFormat, CSPVersion)}
	if errs[0] == nil {
		if err := f.CSP.Validate(); err != nil {
			errs = append(errs, err)
		} else if f.Components != f.CSP.Components() {
			errs = append(errs, fmt.Errorf("components: %d, but filters has %d rows", f.Components, f.CSP.Components()))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("csp params: %w", err)
	}
	return f.CSP, nil
}

// CSPLDAParams are the parameters of the CSP + log-variance + LDA pipeline
// (CSPLDA) with the preprocessing its trials had, so that new trials can be
// prepared the same way: the labels of the input channels in order, their
// sample rate, the zero-phase Butterworth band-pass (ButterBandpass of
// FilterOrder over BandHz, run with FiltFilt) and the epoch window (seconds
// from the cue). ChannelNames, Rate, BandHz and WindowS may be left empty
// (0) when unknown.
type CSPLDAParams struct {
	ChannelNames []string   `json:"channel_names"`
	Rate         float64    `json:"rate"`
	BandHz       []float64  `json:"band_hz"`
	FilterOrder  int        `json:"filter_order"`
	WindowS      []float64  `json:"window_s"`
	CSP          *CSP       `json:"csp"`
	LDA          *LDAParams `json:"lda"`
}

// Validate reports every problem of p at once, each as "key: message".
func (p *CSPLDAParams) Validate() error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if p.CSP == nil {
		add("csp: missing")
	} else if err := p.CSP.Validate(); err != nil {
		add("csp: %w", err)
	}
	if p.LDA == nil {
		add("lda: missing")
	} else if err := p.LDA.Validate(); err != nil {
		add("lda: %w", err)
	} else {
		if len(p.LDA.Classes) != 2 {
			add("lda.classes: CSP separates 2 classes, got %d", len(p.LDA.Classes))
		}
		if p.CSP != nil && p.CSP.Channels > 0 && p.LDA.Features() != p.CSP.Components() {
			add("lda: takes %d features, but the CSP gives %d", p.LDA.Features(), p.CSP.Components())
		}
	}
	if len(p.ChannelNames) > 0 {
		if p.CSP != nil && len(p.ChannelNames) != p.CSP.Channels {
			add("channel_names: has %d names for %d channels", len(p.ChannelNames), p.CSP.Channels)
		}
		seen := map[string]int{}
		for i, n := range p.ChannelNames {
			if n == "" {
				add("channel_names: entry %d is empty", i)
			} else if j, ok := seen[n]; ok {
				add("channel_names: entry %d %q repeats entry %d", i, n, j)
			} else {
				seen[n] = i
			}
		}
	}
	if !(p.Rate >= 0) || math.IsInf(p.Rate, 0) {
		add("rate: must be finite and ≥ 0 (0: not recorded), got %g", p.Rate)
	}
	switch len(p.BandHz) {
	case 0:
		if p.FilterOrder != 0 {
			add("filter_order: %d without a band_hz", p.FilterOrder)
		}
	case 2:
		lo, hi := p.BandHz[0], p.BandHz[1]
		if !(lo > 0 && hi > lo) || math.IsInf(hi, 0) || (p.Rate > 0 && !(hi < p.Rate/2)) {
			add("band_hz: [%g, %g] must satisfy 0 < low < high < rate/2 (%g Hz)", lo, hi, p.Rate/2)
		}
		if p.FilterOrder < 1 || p.FilterOrder > 20 {
			add("filter_order: must be in [1, 20] with a band_hz, got %d", p.FilterOrder)
		}
	default:
		add("band_hz: has %d values, want 2 [low, high] or none", len(p.BandHz))
	}
	switch len(p.WindowS) {
	case 0:
	case 2:
		if _, ok := allFinite(p.WindowS); !ok || !(p.WindowS[1] > p.WindowS[0]) {
			add("window_s: [%g, %g] must be finite with end > start", p.WindowS[0], p.WindowS[1])
		}
	default:
		add("window_s: has %d values, want 2 [start, end] or none", len(p.WindowS))
	}
	return errors.Join(errs...)
}

// NewCSPLDA returns the pipeline of p (which it copies).
func NewCSPLDA(p *CSPLDAParams) (*CSPLDA, error) {
	if p == nil {
		return nil, errors.New("csp-lda: nil parameters")
	}
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("csp-lda: invalid parameters: %w", err)
	}
	l, err := NewLDA(p.LDA)
	if err != nil {
		return nil, fmt.Errorf("csp-lda: %w", err)
	}
	return &CSPLDA{CSP: &CSP{Channels: p.CSP.Channels, Filters: slices.Clone(p.CSP.Filters)}, LDA: l}, nil
}

// cspLDAFile is the JSON layout of a CSP + LDA file, version 1:
//
//	{"format": "bciloop.csp-lda", "version": 1, "channel_names": [C] or null,
//	 "rate": Hz, "band_hz": [low, high] or null, "filter_order": N,
//	 "window_s": [start, end] or null,
//	 "csp": {"channels": C, "filters": [2m×C]},
//	 "lda": {"classes": [2], "weights": [2×2m], "bias": [2], "gamma": γ}}
type cspLDAFile struct {
	Format  string `json:"format"`
	Version int    `json:"version"`
	*CSPLDAParams
}

// WriteCSPLDAParams writes p to w as a version-1 CSP + LDA file, after
// validating it.
func WriteCSPLDAParams(w io.Writer, p *CSPLDAParams) error {
	if p == nil {
		return errors.New("csp-lda params: nil parameters")
	}
	if err := p.Validate(); err != nil {
		return fmt.Errorf("csp-lda params: %w", err)
	}
	return writeParamFile(w, "csp-lda params", &cspLDAFile{Format: CSPLDAFormat, Version: CSPLDAVersion, CSPLDAParams: p})
}

// ReadCSPLDAParams reads one CSP + LDA file from r, rejecting unknown
// fields (also inside "csp" and "lda"), another format or version, trailing
// data and parameters that do not validate.
func ReadCSPLDAParams(r io.Reader) (*CSPLDAParams, error) {
	f := cspLDAFile{CSPLDAParams: new(CSPLDAParams)}
	if err := readParamFile(r, "csp-lda params", &f); err != nil {
		return nil, err
	}
	errs := []error{checkFileHeader(f.Format, f.Version, CSPLDAFormat, CSPLDAVersion)}
	if errs[0] == nil {
		if err := f.CSPLDAParams.Validate(); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("csp-lda params: %w", err)
	}
	return f.CSPLDAParams, nil
}
