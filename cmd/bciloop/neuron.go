package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"image/color"
	"io"
	"math"
	"os"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/bciloop/bciloop/model"
)

func init() {
	register("neuron", command{
		"neuron --model {lif,izhikevich,adex,fhn,hh} [--class RS] [--param k=v ...] --current I --duration D [--onset T] [--csv out.csv] [--plot out.png]",
		cmdNeuron,
	})
}

// paramList collects repeated --param k=v flags.
type paramList []string

func (p *paramList) String() string     { return strings.Join(*p, ",") }
func (p *paramList) Set(v string) error { *p = append(*p, v); return nil }

// neuronModels are the single-cell models the command simulates, with their
// published default parameters (model package docs cite each).
var neuronModels = map[string]func(class string) (model.Model, error){
	"lif":        func(string) (model.Model, error) { return model.VogelsAbbottLIF(), nil },
	"izhikevich": func(c string) (model.Model, error) { return model.NewIzhikevich(c) },
	"adex":       func(string) (model.Model, error) { return model.BretteGerstnerAdEx(), nil },
	"fhn":        func(string) (model.Model, error) { return model.ClassicFitzHughNagumo(), nil },
	"hh":         func(string) (model.Model, error) { return model.HH1952(), nil },
}

// cmdNeuron is the single-cell "neural dynamics simulator": it integrates a
// model under a step current with model.Simulate (adaptive RK45 with spike
// times located inside steps) and writes the trajectory.
func cmdNeuron(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("neuron", flag.ContinueOnError)
	fs.SetOutput(stderr)
	name := fs.String("model", "", "model: lif, izhikevich, adex, fhn, hh")
	class := fs.String("class", "RS", "Izhikevich firing class: "+strings.Join(model.IzhikevichClasses(), ", "))
	var params paramList
	fs.Var(&params, "param", "override a model parameter, NAME=VALUE (repeatable; names as in the model package)")
	current := fs.Float64("current", 0, "step current, in the model's input unit (LIF mV-equivalent·, Izhikevich dimensionless, AdEx pA, FHN dimensionless, HH µA/cm²)")
	duration := fs.Duration("duration", 500*time.Millisecond, "simulated time (the models' time unit is ms)")
	onset := fs.Duration("onset", 0, "time at which the current steps on")
	sample := fs.Duration("sample", 100*time.Microsecond, "output sample spacing")
	csvOut := fs.String("csv", "", "write the trajectory (t and every state variable) to this CSV file")
	plotOut := fs.String("plot", "", "write a PNG of the first variable over time, and the phase plane with nullclines for 2-D models")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: bciloop neuron --model NAME [flags]\n\nSimulates one model cell under a step current; prints a JSON summary (spikes, rate, ISIs).\n\nflags:")
		fs.PrintDefaults()
	}
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return usageErr("neuron: unexpected arguments %q", pos)
	}
	mk, ok := neuronModels[*name]
	if !ok {
		return usageErr("neuron: --model %q is not one of %s", *name, strings.Join(sortedKeys(neuronModels), ", "))
	}
	if *duration <= 0 || *onset < 0 || *onset >= *duration || *sample <= 0 {
		return usageErr("neuron: need --duration > 0, 0 ≤ --onset < --duration, --sample > 0")
	}
	if math.IsNaN(*current) || math.IsInf(*current, 0) {
		return usageErr("neuron: --current must be finite")
	}
	m, err := mk(*class)
	if err != nil {
		return usageErr("neuron: %v", err)
	}
	if m, err = setParams(m, params); err != nil {
		return usageErr("neuron: %v", err)
	}
	if err := m.Validate(); err != nil {
		return usageErr("neuron: %s parameters: %v", *name, err)
	}
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	in := model.Step(ms(*onset), *current)
	tr, err := model.Simulate(m, in, 0, ms(*duration), model.SimOptions{SampleDt: ms(*sample)})
	if err != nil {
		return fmt.Errorf("neuron: %w", err)
	}
	if *csvOut != "" {
		if err := writeTrajectoryCSV(*csvOut, tr); err != nil {
			return err
		}
	}
	if *plotOut != "" {
		if err := plotTrajectory(*plotOut, *name, m, *current, tr); err != nil {
			return err
		}
	}
	isis := tr.ISIs()
	sum := map[string]any{
		"model": *name, "current": *current, "duration_ms": ms(*duration),
		"spikes": len(tr.Spikes), "rate_hz": float64(len(tr.Spikes)) / (ms(*duration-*onset) / 1000),
		"spike_times_ms": tr.Spikes, "isi_ms": isis, "steps": tr.Stats.Steps, "rejected": tr.Stats.Rejected,
	}
	if *name == "izhikevich" {
		sum["class"] = *class
	}
	return json.NewEncoder(stdout).Encode(sum)
}

func sortedKeys[V any](m map[string]V) []string {
	k := make([]string, 0, len(m))
	for n := range m {
		k = append(k, n)
	}
	sort.Strings(k)
	return k
}

// setParams overrides float64 fields of the model's parameter struct by
// name (case-insensitive), returning the modified copy.
func setParams(m model.Model, params []string) (model.Model, error) {
	if len(params) == 0 {
		return m, nil
	}
	v := reflect.New(reflect.TypeOf(m)).Elem()
	v.Set(reflect.ValueOf(m))
	if v.Kind() != reflect.Struct {
		return nil, fmt.Errorf("--param: %T has no settable parameters", m)
	}
	var names []string
	for i := 0; i < v.NumField(); i++ {
		if v.Type().Field(i).IsExported() && v.Field(i).Kind() == reflect.Float64 {
			names = append(names, v.Type().Field(i).Name)
		}
	}
	var errs []error
	for _, p := range params {
		k, val, ok := strings.Cut(p, "=")
		if !ok {
			errs = append(errs, fmt.Errorf("--param %q: want NAME=VALUE", p))
			continue
		}
		x, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
		if err != nil {
			errs = append(errs, fmt.Errorf("--param %q: %q is not a number", p, val))
			continue
		}
		f := v.FieldByNameFunc(func(n string) bool { return strings.EqualFold(n, strings.TrimSpace(k)) })
		if !f.IsValid() || f.Kind() != reflect.Float64 || !f.CanSet() {
			errs = append(errs, fmt.Errorf("--param %q: %T has no parameter %q (have: %s)", p, m, k, strings.Join(names, ", ")))
			continue
		}
		f.SetFloat(x)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return v.Interface().(model.Model), nil
}

func writeTrajectoryCSV(path string, tr *model.Trajectory) (err error) {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("--csv: %w", err)
	}
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("--csv: %w", cerr)
		}
	}()
	w := csv.NewWriter(f)
	head := []string{"t_ms"}
	for _, v := range tr.Vars {
		h := v.Name
		if v.Unit != "" {
			h += "_" + v.Unit
		}
		head = append(head, h)
	}
	if err := w.Write(head); err != nil {
		return fmt.Errorf("--csv: %w", err)
	}
	row := make([]string, len(head))
	for j, t := range tr.T {
		row[0] = strconv.FormatFloat(t, 'g', 10, 64)
		for k := range tr.Vars {
			row[k+1] = strconv.FormatFloat(tr.X[k][j], 'g', 10, 64)
		}
		if err := w.Write(row); err != nil {
			return fmt.Errorf("--csv: %w", err)
		}
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return fmt.Errorf("--csv: %w", err)
	}
	return nil
}

// constInput is the input of the phase plane: the step's final value.
type constInput float64

func (c constInput) At(float64) float64 { return float64(c) }

// plotTrajectory draws the first state variable over time and, for 2-D
// models, the phase plane: the trajectory with the nullclines at the step's
// current (model.Nullclines2D).
func plotTrajectory(path, name string, m model.Model, current float64, tr *model.Trajectory) error {
	label := func(v model.StateVar) string {
		if v.Unit == "" {
			return v.Name
		}
		return v.Name + " (" + v.Unit + ")"
	}
	xy := func(xs, ys []float64) plotter.XYs {
		pts := make(plotter.XYs, len(xs))
		for i := range xs {
			pts[i].X, pts[i].Y = xs[i], ys[i]
		}
		return pts
	}
	pt := plot.New()
	pt.Title.Text = fmt.Sprintf("%s, I = %g", name, current)
	pt.X.Label.Text = "t (ms)"
	pt.Y.Label.Text = label(tr.Vars[0])
	line, err := plotter.NewLine(xy(tr.T, tr.X[0]))
	if err != nil {
		return fmt.Errorf("--plot: %w", err)
	}
	pt.Add(line)
	plots := []*plot.Plot{pt}
	if len(tr.Vars) == 2 {
		pp := plot.New()
		pp.Title.Text = "phase plane and nullclines"
		pp.X.Label.Text, pp.Y.Label.Text = label(tr.Vars[0]), label(tr.Vars[1])
		orbit, err := plotter.NewLine(xy(tr.X[0], tr.X[1]))
		if err != nil {
			return fmt.Errorf("--plot: %w", err)
		}
		pp.Add(orbit)
		xlo, xhi := bounds(tr.X[0])
		ylo, yhi := bounds(tr.X[1])
		sys := model.NewModelSystem(m, constInput(current))
		fN, gN, err := model.Nullclines2D(sys, xlo, xhi, ylo, yhi, 200, 200)
		if err != nil {
			return fmt.Errorf("--plot: nullclines: %w", err)
		}
		for i, pts := range [][][2]float64{fN, gN} {
			xs := make(plotter.XYs, len(pts))
			for k, p := range pts {
				xs[k].X, xs[k].Y = p[0], p[1]
			}
			sc, err := plotter.NewScatter(xs)
			if err != nil {
				return fmt.Errorf("--plot: %w", err)
			}
			sc.GlyphStyle.Radius = vg.Points(1)
			sc.GlyphStyle.Color = []color.Color{color.RGBA{R: 200, A: 255}, color.RGBA{B: 200, A: 255}}[i]
			pp.Add(sc)
			pp.Legend.Add([]string{label(tr.Vars[0]) + "-nullcline", label(tr.Vars[1]) + "-nullcline"}[i], sc)
		}
		plots = append(plots, pp)
	}
	const w, h = 16 * vg.Centimeter, 10 * vg.Centimeter
	img := vgimg.New(w, h*vg.Length(len(plots)))
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: len(plots), Cols: 1}
	for i, p := range plots {
		p.Draw(tiles.At(dc, 0, i))
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("--plot: %w", err)
	}
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(f); err != nil {
		f.Close()
		return fmt.Errorf("--plot: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("--plot: %w", err)
	}
	return nil
}

// bounds returns the range of xs widened by 10 % on each side.
func bounds(xs []float64) (lo, hi float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, x := range xs {
		lo, hi = min(lo, x), max(hi, x)
	}
	pad := 0.1 * (hi - lo)
	if pad == 0 {
		pad = 1
	}
	return lo - pad, hi + pad
}
