package main

import (
	"fmt"
	"image/color"
	"math"
	"os"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/bciloop/bciloop/sim"
)

// rasterNeurons is about how many neurons a raster shows: each population
// contributes its first neurons in proportion to its size (a 4000-neuron
// network over 10 s at 20 Hz gives 10⁵ dots).
const rasterNeurons = 500

// rasterPop is the part of one population a raster shows: neurons
// [first, first+show), drawn on rows row0, row0+1, ….
type rasterPop struct {
	name              string
	first, show, row0 int
	pts               plotter.XYs
}

// raster collects the spikes of bciloop sim --raster.
type raster struct {
	pops []rasterPop
	rate float64 // steps per second
	rows int
}

// newRaster picks the neurons shown: every population of the network (the
// presets have E and I), each with its share of rasterNeurons (at least
// one), ordered by their first neuron.
func newRaster(nw *sim.Network) *raster {
	r := &raster{rate: nw.Rate()}
	total := nw.Neurons()
	for _, name := range []string{"E", "I"} {
		first, n, ok := nw.PopulationRange(name)
		if !ok {
			continue
		}
		show := min(n, max(1, int(math.Round(float64(n)*rasterNeurons/float64(total)))))
		r.pops = append(r.pops, rasterPop{name: name, first: first, show: show, row0: r.rows})
		r.rows += show
	}
	if len(r.pops) == 0 { // a network without the preset names: its first neurons
		r.pops = []rasterPop{{name: "neurons", show: min(total, rasterNeurons)}}
		r.rows = r.pops[0].show
	}
	return r
}

// add records the spikes of ev that fall on a shown neuron.
func (r *raster) add(ev []sim.Event) {
	for _, e := range ev {
		for k := range r.pops {
			p := &r.pops[k]
			if j := int(e.Channel) - p.first; j >= 0 && j < p.show {
				p.pts = append(p.pts, plotter.XY{X: float64(e.Sample) / r.rate, Y: float64(p.row0 + j)})
				break
			}
		}
	}
}

// write draws the raster (time in s against the shown neurons' rows, one
// colour per population) as a PNG at path.
func (r *raster) write(path, title string, durS float64) error {
	pt := plot.New()
	pt.Title.Text = title
	pt.X.Label.Text = "time (s)"
	pt.Y.Label.Text = "neuron"
	names := []string{"blue", "red"}
	pt.X.Min, pt.X.Max = 0, durS
	pt.Y.Min, pt.Y.Max = -0.5, float64(r.rows)-0.5
	colors := []color.Color{color.RGBA{R: 30, G: 80, B: 200, A: 255}, color.RGBA{R: 210, G: 40, B: 40, A: 255}}
	for k := range r.pops {
		p := &r.pops[k]
		sc, err := plotter.NewScatter(p.pts)
		if err != nil {
			return fmt.Errorf("--raster: %w", err)
		}
		sc.GlyphStyle.Shape = draw.BoxGlyph{}
		sc.GlyphStyle.Radius = vg.Points(0.6)
		sc.GlyphStyle.Color = colors[k%len(colors)]
		pt.Add(sc)
		pt.Y.Label.Text += fmt.Sprintf("; %s %d–%d: %s", p.name, p.row0, p.row0+p.show-1, names[k%len(names)])
	}
	img := vgimg.NewWith(vgimg.UseWH(24*vg.Centimeter, 12*vg.Centimeter), vgimg.UseDPI(120))
	pt.Draw(draw.New(img))
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("--raster: %w", err)
	}
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(f); err != nil {
		f.Close()
		return fmt.Errorf("--raster: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("--raster: %w", err)
	}
	return nil
}
