package decode

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// KalmanFormat and KalmanVersion identify Kalman parameter files.
const (
	KalmanFormat  = "bciloop.kalman"
	KalmanVersion = 1
)

// kalmanFile is the JSON layout of a Kalman parameter file, version 1:
//
//	{"format": "bciloop.kalman", "version": 1, "states": d, "channels": n,
//	 "state_names": [...], "bin_width": frames, "rate": Hz,
//	 "state_mean": [d], "count_mean": [n],
//	 "a": [d×d], "w": [d×d], "h": [n×d], "q": [n×n], "p0": [d×d]}
//
// Matrices are row-major arrays of numbers. Numbers are written in the
// shortest form that reads back to the same float64, so a file round-trips
// bit for bit.
type kalmanFile struct {
	Format   string `json:"format"`
	Version  int    `json:"version"`
	States   int    `json:"states"`
	Channels int    `json:"channels"`
	*KalmanParams
}

// WriteKalmanParams writes p to w as a version-1 Kalman parameter file,
// after validating it.
func WriteKalmanParams(w io.Writer, p *KalmanParams) error {
	if p == nil {
		return errors.New("kalman params: nil parameters")
	}
	if err := p.Validate(); err != nil {
		return fmt.Errorf("kalman params: %w", err)
	}
	f := kalmanFile{Format: KalmanFormat, Version: KalmanVersion, States: p.States(), Channels: p.Channels(), KalmanParams: p}
	b, err := json.Marshal(&f)
	if err != nil {
		return fmt.Errorf("kalman params: %w", err)
	}
	b = append(b, '\n')
	if _, err := w.Write(b); err != nil {
		return fmt.Errorf("kalman params: %w", err)
	}
	return nil
}

// ReadKalmanParams reads one Kalman parameter file from r. It rejects
// unknown fields, another format or version, trailing data, and parameters
// that do not validate (wrong shapes for the declared states and channels,
// non-finite numbers, W, Q or P0 not symmetric positive definite), naming the
// field at fault.
func ReadKalmanParams(r io.Reader) (*KalmanParams, error) {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	f := kalmanFile{KalmanParams: new(KalmanParams)}
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("kalman params: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("kalman params: trailing data after the parameter object")
	}
	var errs []error
	if f.Format != KalmanFormat {
		errs = append(errs, fmt.Errorf("format: %q, want %q", f.Format, KalmanFormat))
	}
	if f.Version != KalmanVersion {
		errs = append(errs, fmt.Errorf("version: %d is not supported (this build reads version %d)", f.Version, KalmanVersion))
	}
	p := f.KalmanParams
	if f.States != p.States() {
		errs = append(errs, fmt.Errorf("states: %d, but state_mean has %d values", f.States, p.States()))
	}
	if f.Channels != p.Channels() {
		errs = append(errs, fmt.Errorf("channels: %d, but count_mean has %d values", f.Channels, p.Channels()))
	}
	if len(errs) == 0 {
		if err := p.Validate(); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("kalman params: %w", err)
	}
	return p, nil
}

// SaveKalmanParams writes p to the file at path, replacing it atomically (a
// temporary file in the same directory is renamed over it).
func SaveKalmanParams(path string, p *KalmanParams) (err error) {
	var buf bytes.Buffer
	if err := WriteKalmanParams(&buf, p); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("kalman params: %w", err)
	}
	defer func() {
		if err != nil {
			os.Remove(tmp.Name())
		}
	}()
	if _, err := tmp.Write(buf.Bytes()); err != nil {
		tmp.Close()
		return fmt.Errorf("kalman params: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("kalman params: %w", err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return fmt.Errorf("kalman params: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("kalman params: %w", err)
	}
	return nil
}

// LoadKalmanParams reads the Kalman parameter file at path.
func LoadKalmanParams(path string) (*KalmanParams, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("kalman params: %w", err)
	}
	defer f.Close()
	p, err := ReadKalmanParams(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return p, nil
}
