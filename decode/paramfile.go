package decode

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
)

// The parameter files of the decoders other than Kalman share the layout of
// the Kalman file (see WriteKalmanParams): one JSON object whose first keys
// are "format" (the decoder's format name) and "version", followed by the
// decoder's parameters, numbers in the shortest form that reads back to the
// same float64. Readers reject unknown fields, trailing data, another format
// or version, and parameters that do not validate, naming the field.

// writeParamFile marshals the file object v (which carries format and
// version) and writes it with a trailing newline.
func writeParamFile(w io.Writer, who string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("%s: %w", who, err)
	}
	b = append(b, '\n')
	if _, err := w.Write(b); err != nil {
		return fmt.Errorf("%s: %w", who, err)
	}
	return nil
}

// readParamFile decodes exactly one JSON object from r into v, strictly.
func readParamFile(r io.Reader, who string, v any) error {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%s: %w", who, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("%s: trailing data after the parameter object", who)
	}
	return nil
}

// checkFileHeader reports a wrong format name or version.
func checkFileHeader(format string, version int, wantFormat string, wantVersion int) error {
	var errs []error
	if format != wantFormat {
		errs = append(errs, fmt.Errorf("format: %q, want %q", format, wantFormat))
	}
	if version != wantVersion {
		errs = append(errs, fmt.Errorf("version: %d is not supported (this build reads version %d)", version, wantVersion))
	}
	return errors.Join(errs...)
}

// shapedParams are the parameters of a decoder with States() states over
// Units() units.
type shapedParams interface {
	Validate() error
	States() int
	Units() int
}

// shapedHeader opens the parameter files of decoders with a state over
// units (ppf, popvec, wiener): format, version, and the shape, which the
// reader checks against the parameters.
type shapedHeader struct {
	Format  string `json:"format"`
	Version int    `json:"version"`
	States  int    `json:"states"`
	Units   int    `json:"units"`
}

func newShapedHeader(format string, version int, p shapedParams) shapedHeader {
	return shapedHeader{Format: format, Version: version, States: p.States(), Units: p.Units()}
}

// writeShaped validates p and writes file, the header and p in one object.
func writeShaped(w io.Writer, who string, p shapedParams, file any) error {
	if err := p.Validate(); err != nil {
		return fmt.Errorf("%s: %w", who, err)
	}
	return writeParamFile(w, who, file)
}

// readShaped reads file (embedding h and p) from r and checks the header's
// format, version and shape against p.
func readShaped(r io.Reader, who string, file any, h *shapedHeader, format string, version int, p shapedParams) error {
	if err := readParamFile(r, who, file); err != nil {
		return err
	}
	errs := []error{checkFileHeader(h.Format, h.Version, format, version)}
	if errs[0] == nil {
		if err := p.Validate(); err != nil {
			errs = append(errs, err)
		} else if h.States != p.States() || h.Units != p.Units() {
			errs = append(errs, fmt.Errorf("states, units: %d and %d, but the parameters have %d states and %d units", h.States, h.Units, p.States(), p.Units()))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%s: %w", who, err)
	}
	return nil
}

// WriteFileAtomic writes what write produces to the file at path, replacing
// it atomically (a temporary file in the same directory is renamed over it);
// on any error the file at path is untouched and no temporary file remains.
// It is how the parameter files of every decoder are saved.
func WriteFileAtomic(path string, write func(io.Writer) error) (err error) {
	var buf bytes.Buffer
	if err := write(&buf); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			os.Remove(tmp.Name())
		}
	}()
	if _, err := tmp.Write(buf.Bytes()); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// vecCheck reports, as "key: message", a vector of the wrong length or with
// a non-finite value.
func vecCheck(errs *[]error, key string, v []float64, want int) bool {
	if len(v) != want {
		*errs = append(*errs, fmt.Errorf("%s: has %d values, want %d", key, len(v), want))
		return false
	}
	if i, ok := allFinite(v); !ok {
		*errs = append(*errs, fmt.Errorf("%s: value %d is %g, must be finite", key, i, v[i]))
		return false
	}
	return true
}

// binShape is the bin shape a fitted model expects: channels, and the width
// and rate of its calibration bins (0: not checked).
type binShape struct {
	n     int
	width int
	rate  float64
}

// check validates obs: present, the right channel count, width and rate,
// and finite counts.
func (s *binShape) check(who string, obs *Bin) error {
	if obs == nil {
		return fmt.Errorf("%s: nil bin", who)
	}
	if len(obs.Counts) != s.n {
		return fmt.Errorf("%s: bin seq %d has %d channels, want %d", who, obs.Seq, len(obs.Counts), s.n)
	}
	if s.width > 0 && obs.Width != s.width {
		return fmt.Errorf("%s: bin seq %d is %d frames wide, but the model was fitted on %d-frame bins", who, obs.Seq, obs.Width, s.width)
	}
	if s.rate > 0 && obs.Rate != s.rate {
		return fmt.Errorf("%s: bin seq %d is at %g Hz, but the model was fitted at %g Hz", who, obs.Seq, obs.Rate, s.rate)
	}
	if i, ok := allFinite(obs.Counts); !ok {
		return fmt.Errorf("%s: bin seq %d: counts[%d] is %g", who, obs.Seq, i, obs.Counts[i])
	}
	return nil
}

// stamp copies the bin's stamps into dst.
func stamp(dst *Estimate, obs *Bin) {
	dst.Seq = obs.Seq
	dst.Sample = obs.End()
	dst.Arrived = obs.Arrived
}

// checkRows validates a calibration table: T rows of equal, non-zero width,
// all finite. what names the table in errors ("states", "counts").
func checkRows(what string, rows [][]float64) (int, error) {
	if len(rows) == 0 {
		return 0, fmt.Errorf("%s: no rows", what)
	}
	w := len(rows[0])
	if w == 0 {
		return 0, fmt.Errorf("%s[0] is empty", what)
	}
	for t, r := range rows {
		if len(r) != w {
			return 0, fmt.Errorf("%s[%d] has %d values, want %d", what, t, len(r), w)
		}
		if j, ok := allFinite(r); !ok {
			return 0, fmt.Errorf("%s[%d][%d] is %g", what, t, j, r[j])
		}
	}
	return w, nil
}

// constantChannels returns an error naming every channel (column) of counts
// that is constant over the rows, or nil.
func constantChannels(counts [][]float64) error {
	n := len(counts[0])
	var errs []error
	for i := 0; i < n; i++ {
		c := counts[0][i]
		constant := true
		for _, r := range counts[1:] {
			if r[i] != c {
				constant = false
				break
			}
		}
		if constant {
			errs = append(errs, fmt.Errorf("channel %d is constant (%g per bin) over the calibration data: it carries no information; remove it", i, c))
		}
	}
	return errors.Join(errs...)
}

// binsTable extracts, from calibration bins, the truth columns cols (all of
// them when cols is nil), the counts, and which bins directly follow the
// previous one; it checks that all bins share one width and rate.
func binsTable(who string, bins []Bin, cols []int) (states, counts [][]float64, cont []bool, err error) {
	if len(bins) == 0 {
		return nil, nil, nil, fmt.Errorf("%s: no bins", who)
	}
	states = make([][]float64, len(bins))
	counts = make([][]float64, len(bins))
	cont = make([]bool, len(bins))
	for t := range bins {
		b := &bins[t]
		if len(b.Truth) == 0 {
			return nil, nil, nil, fmt.Errorf("%s: bins[%d] (seq %d) has no ground truth (Truth is empty)", who, t, b.Seq)
		}
		if b.Width != bins[0].Width || b.Rate != bins[0].Rate {
			return nil, nil, nil, fmt.Errorf("%s: bins[%d] (seq %d) is %d frames at %g Hz, but bins[0] is %d frames at %g Hz",
				who, t, b.Seq, b.Width, b.Rate, bins[0].Width, bins[0].Rate)
		}
		if cols == nil {
			states[t] = b.Truth
		} else {
			s := make([]float64, len(cols))
			for j, c := range cols {
				if c < 0 || c >= len(b.Truth) {
					return nil, nil, nil, fmt.Errorf("%s: truth column %d out of range: bins[%d] has %d truth values", who, c, t, len(b.Truth))
				}
				s[j] = b.Truth[c]
			}
			states[t] = s
		}
		counts[t] = b.Counts
		cont[t] = t > 0 && b.Start == bins[t-1].End()
	}
	if bins[0].Width <= 0 || !(bins[0].Rate > 0) || math.IsInf(bins[0].Rate, 0) {
		return nil, nil, nil, fmt.Errorf("%s: bins have width %d frames and rate %g Hz; want width > 0 and a finite rate > 0", who, bins[0].Width, bins[0].Rate)
	}
	return states, counts, cont, nil
}
