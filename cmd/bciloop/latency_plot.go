package main

import (
	"image/color"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// plotCCDF draws the complementary CDF of every row on log–log axes: the
// fraction of messages slower than x, so the tail (p99 at 10⁻², p99.9 at
// 10⁻³) reads off directly.
func plotCCDF(r *latencyReport, path string) error {
	p := plot.New()
	p.Title.Text = "Latency CCDF per boundary (" + orDefault(r.Load, "config source") + ")"
	p.X.Label.Text = "latency (µs)"
	p.Y.Label.Text = "P(latency > x)"
	p.X.Scale, p.Y.Scale = plot.LogScale{}, plot.LogScale{}
	p.X.Tick.Marker, p.Y.Tick.Marker = plot.LogTicks{Prec: -1}, plot.LogTicks{Prec: -1}
	p.Legend.Top = true
	i := 0
	for _, row := range r.Rows {
		us, above := row.ccdf[0], row.ccdf[1]
		var xy plotter.XYs
		floor := 1 / float64(row.Q.Count)
		for k := range us {
			// P = 0 after the largest value cannot sit on a log axis:
			// the last point is drawn at 1/count.
			y := math.Max(above[k], floor/2)
			if us[k] <= 0 {
				continue
			}
			xy = append(xy, plotter.XY{X: us[k], Y: y})
		}
		if len(xy) == 0 {
			continue
		}
		ln, err := plotter.NewLine(xy)
		if err != nil {
			return err
		}
		ln.Color = plotutil.Color(i)
		ln.Dashes = plotutil.Dashes(i / 7)
		ln.Width = vg.Points(1.3)
		p.Add(ln)
		p.Legend.Add(row.Name, ln)
		i++
	}
	p.Add(plotter.NewGrid())
	return p.Save(8*vg.Inch, 5*vg.Inch, path)
}

// plotTimeline draws every command's end-to-end latency and every probe's
// bare hop against the time since warm-up, on a log latency axis.
func plotTimeline(r *latencyReport, path string) error {
	p := plot.New()
	p.Title.Text = "Latency over time (" + orDefault(r.Load, "config source") + ")"
	p.X.Label.Text = "time since warm-up (s)"
	p.Y.Label.Text = "latency (µs)"
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	add := func(name string, xy plotter.XYs, c color.Color) error {
		if len(xy) == 0 {
			return nil
		}
		sc, err := plotter.NewScatter(xy)
		if err != nil {
			return err
		}
		sc.GlyphStyle.Color = c
		sc.GlyphStyle.Radius = vg.Points(1.2)
		p.Add(sc)
		p.Legend.Add(name, sc)
		return nil
	}
	var e2e, bare, bins plotter.XYs
	for _, t := range r.Timeline {
		if t[1] > 0 {
			e2e = append(e2e, plotter.XY{X: t[0], Y: t[1]})
		}
	}
	for _, t := range r.BareTimeline {
		if t[1] > 0 {
			bare = append(bare, plotter.XY{X: t[0], Y: t[1]})
		}
	}
	if len(e2e) == 0 { // no commands (decoder none): the bins stream instead
		for _, t := range r.BinsTimeline {
			if t[1] > 0 {
				bins = append(bins, plotter.XY{X: t[0], Y: t[1]})
			}
		}
	}
	if len(e2e)+len(bare)+len(bins) == 0 {
		p.Y.Scale, p.Y.Tick.Marker = plot.LinearScale{}, plot.DefaultTicks{}
		p.Title.Text += ": no message reached the other process"
	}
	if err := add("e2e: arrival → command received in another process", e2e, plotutil.Color(0)); err != nil {
		return err
	}
	if err := add("arrival → bin received in another process", bins, plotutil.Color(2)); err != nil {
		return err
	}
	if err := add("bare NATS hop (probe)", bare, plotutil.Color(1)); err != nil {
		return err
	}
	p.Legend.Top = true
	p.Add(plotter.NewGrid())
	return p.Save(8*vg.Inch, 4*vg.Inch, path)
}
