package sim

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func newMotor(t testing.TB, edit func(c *MotorCortexConfig)) *MotorCortex {
	t.Helper()
	cfg := DefaultMotorCortexConfig()
	if edit != nil {
		edit(&cfg)
	}
	m, err := NewMotorCortex(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// run advances m by frames frames in chunks of chunk frames.
func run(m *MotorCortex, frames, chunk int) ([]Event, []float64) {
	var spikes []Event
	var truth []float64
	for done := 0; done < frames; done += chunk {
		spikes, truth = m.Advance(min(chunk, frames-done), spikes, truth)
	}
	return spikes, truth
}

func TestMotorCortexConfigValidate(t *testing.T) {
	def := DefaultMotorCortexConfig()
	if err := def.Validate(); err != nil {
		t.Fatalf("default config invalid: %v", err)
	}
	cases := []struct {
		key  string
		edit func(c *MotorCortexConfig)
	}{
		{"units", func(c *MotorCortexConfig) { c.Units = 0 }},
		{"units", func(c *MotorCortexConfig) { c.Units = maxUnits + 1 }},
		{"rate_hz", func(c *MotorCortexConfig) { c.RateHz = 0 }},
		{"rate_hz", func(c *MotorCortexConfig) { c.RateHz = math.NaN() }},
		{"rate_hz", func(c *MotorCortexConfig) { c.RateHz = math.Inf(1) }},
		{"speed_rms", func(c *MotorCortexConfig) { c.SpeedRMS = -1 }},
		{"velocity_tau", func(c *MotorCortexConfig) { c.VelocityTau = 0 }},
		{"workspace", func(c *MotorCortexConfig) { c.Workspace = 0 }},
		{"ref_speed", func(c *MotorCortexConfig) { c.RefSpeed = 0 }},
		{"baseline_min_hz", func(c *MotorCortexConfig) { c.BaselineMinHz = -1 }},
		{"baseline_max_hz", func(c *MotorCortexConfig) { c.BaselineMaxHz = 5 }},
		{"modulation_min_hz", func(c *MotorCortexConfig) { c.ModulationMinHz = math.NaN() }},
		{"modulation_max_hz", func(c *MotorCortexConfig) { c.ModulationMaxHz = 1 }},
		{"pitch_um", func(c *MotorCortexConfig) { c.PitchUM = -400 }},
		{"stim_gain_hz", func(c *MotorCortexConfig) { c.StimGainHz = -1 }},
		{"stim_ref_ua", func(c *MotorCortexConfig) { c.StimRefUA = 0 }},
		{"stim_sigma_um", func(c *MotorCortexConfig) { c.StimSigmaUM = 0 }},
		{"stim_radius_um", func(c *MotorCortexConfig) { c.StimRadiusUM = -1 }},
		{"stim_tau", func(c *MotorCortexConfig) { c.StimTau = -time.Millisecond }},
		{"stim_queue", func(c *MotorCortexConfig) { c.StimQueue = 0 }},
	}
	for _, c := range cases {
		t.Run(c.key, func(t *testing.T) {
			cfg := DefaultMotorCortexConfig()
			c.edit(&cfg)
			err := cfg.Validate()
			if err == nil || !strings.HasPrefix(err.Error(), c.key+": ") {
				t.Fatalf("Validate() = %v, want an error starting %q", err, c.key+": ")
			}
			if _, err := NewMotorCortex(cfg); err == nil {
				t.Fatal("NewMotorCortex accepted an invalid config")
			}
		})
	}
	t.Run("all at once", func(t *testing.T) {
		cfg := MotorCortexConfig{BaselineMinHz: 10, BaselineMaxHz: 5, ModulationMinHz: 8, ModulationMaxHz: 2, RateHz: math.NaN()}
		err := cfg.Validate()
		if err == nil {
			t.Fatal("no error")
		}
		for _, key := range []string{"units", "rate_hz", "velocity_tau", "workspace", "ref_speed", "baseline_max_hz",
			"modulation_max_hz", "pitch_um", "stim_ref_ua", "stim_sigma_um", "stim_tau", "stim_queue"} {
			if !strings.Contains(err.Error(), key+": ") {
				t.Errorf("joined error lacks %q:\n%v", key, err)
			}
		}
		if got := len(strings.Split(err.Error(), "\n")); got != 12 {
			t.Errorf("%d problems reported, want 12:\n%v", got, err)
		}
	})
}

func TestMotorCortexDeterminism(t *testing.T) {
	const frames = 3000
	a1, t1 := run(newMotor(t, nil), frames, 1)
	a2, t2 := run(newMotor(t, nil), frames, 37) // chunking must not matter
	if !slices.Equal(a1, a2) || !slices.Equal(t1, t2) {
		t.Fatal("same seed gave different output")
	}
	if len(t1) != 4*frames {
		t.Fatalf("truth has %d values, want %d", len(t1), 4*frames)
	}
	b1, u1 := run(newMotor(t, func(c *MotorCortexConfig) { c.Seed = 2 }), frames, 1)
	if slices.Equal(a1, b1) || slices.Equal(t1, u1) {
		t.Fatal("different seeds gave the same output")
	}
	for i := 1; i < len(a1); i++ {
		p, q := a1[i-1], a1[i]
		if q.Sample < p.Sample || (q.Sample == p.Sample && q.Channel <= p.Channel) {
			t.Fatalf("spikes %d, %d out of order: %+v %+v", i-1, i, p, q)
		}
	}
	if a1[len(a1)-1].Sample >= frames {
		t.Fatalf("spike at %d past the %d frames generated", a1[len(a1)-1].Sample, frames)
	}
}

func TestMotorCortexElectrodes(t *testing.T) {
	cases := []struct {
		units, side int
	}{{96, 10}, {192, 15}, {1, 3}, {5, 3}, {6, 4}}
	for _, c := range cases {
		t.Run(fmt.Sprintf("units=%d", c.units), func(t *testing.T) {
			m := newMotor(t, func(cfg *MotorCortexConfig) { cfg.Units = c.units })
			pos := m.ElectrodePositions()
			if len(pos) != c.units {
				t.Fatalf("%d positions, want %d", len(pos), c.units)
			}
			seen := map[[2]float64]bool{}
			maxC := 0.0
			for i, p := range pos {
				col, row := p[0]/400, p[1]/400
				if col != math.Trunc(col) || row != math.Trunc(row) || col < 0 || row < 0 || col >= float64(c.side) || row >= float64(c.side) {
					t.Fatalf("electrode %d at %v: not on a %d×%d grid at 400 µm", i, p, c.side, c.side)
				}
				if (row == 0 || row == float64(c.side-1)) && (col == 0 || col == float64(c.side-1)) {
					t.Fatalf("electrode %d at corner %v", i, p)
				}
				if seen[p] {
					t.Fatalf("electrode %d at %v duplicates another", i, p)
				}
				seen[p] = true
				maxC = max(maxC, col, row)
				if i > 0 && (p[1] < pos[i-1][1] || (p[1] == pos[i-1][1] && p[0] <= pos[i-1][0])) {
					t.Fatalf("electrode %d at %v not in row-major order after %v", i, p, pos[i-1])
				}
			}
			if c.units == 96 && (len(seen) != 96 || maxC != 9) {
				t.Fatalf("96 units do not fill a 10×10 array without corners")
			}
		})
	}
}

// TestMotorCortexLatent checks the latent velocity: RMS speed s, position
// bounds and p = ∫v dt except at wall bounces.
func TestMotorCortexLatent(t *testing.T) {
	m := newMotor(t, nil)
	const frames = 200_000 // 200 s: about 660 velocity time constants
	_, truth := m.Advance(frames, nil, make([]float64, 0, 4*frames))
	cfg := m.Config()
	dt := 1 / cfg.RateHz
	var ss float64
	bounces := 0
	for f := range frames {
		px, py, vx, vy := truth[4*f], truth[4*f+1], truth[4*f+2], truth[4*f+3]
		ss += vx*vx + vy*vy
		if math.Abs(px) > cfg.Workspace || math.Abs(py) > cfg.Workspace {
			t.Fatalf("frame %d: position (%v, %v) outside ±%v", f, px, py, cfg.Workspace)
		}
		if f == 0 {
			continue
		}
		for ax := range 2 {
			p, dp, v := truth[4*f+ax], truth[4*f+ax]-truth[4*(f-1)+ax], truth[4*f+2+ax]
			if math.Abs(dp-v*dt) <= 1e-9 {
				continue
			}
			// A bounce: the step was taken with the velocity before the
			// sign flip, and the position is within one step of a wall.
			if math.Abs(dp+v*dt) > 1e-9 && math.Abs(p) < cfg.Workspace-2*math.Abs(v*dt) {
				t.Fatalf("frame %d axis %d: Δp = %v but v·dt = %v away from a wall", f, ax, dp, v*dt)
			}
			bounces++
		}
	}
	rms := math.Sqrt(ss / frames)
	// Sign flips at the walls leave E|v|² unchanged. With about 330
	// independent stretches (2T each) the relative SE of the mean square is
	// about √(2/330) ≈ 8 %, of the RMS half that: 15 % is about 4 SE.
	if math.Abs(rms-cfg.SpeedRMS) > 0.15*cfg.SpeedRMS {
		t.Errorf("RMS speed %.3f, want %.3f ± 15 %%", rms, cfg.SpeedRMS)
	}
	if bounces == 0 {
		t.Error("position never reached a wall in 200 s")
	}
	t.Logf("RMS speed %.2f cm/s, %d wall bounces", rms, bounces)
}

// TestMotorCortexVelocityAutocorrelation checks the smoothness of the latent
// velocity against the closed form for white noise through two first-order
// low-pass stages of time constant T: ρ(τ) = (1 + τ/T)·e^{−τ/T}, 2/e ≈ 0.736
// at τ = T (the discrete cascade differs by O(Δt/T) = 0.3 %). Walls flip the
// velocity and would decorrelate it, so the workspace is made unreachable.
func TestMotorCortexVelocityAutocorrelation(t *testing.T) {
	m := newMotor(t, func(c *MotorCortexConfig) { c.Workspace = 1e9 })
	const frames = 200_000
	_, truth := m.Advance(frames, nil, make([]float64, 0, 4*frames))
	cfg := m.Config()
	for _, lagT := range []float64{0.5, 1, 2} {
		lag := int(lagT * cfg.VelocityTau.Seconds() * cfg.RateHz)
		want := (1 + lagT) * math.Exp(-lagT)
		for ax := range 2 {
			var c0, cl float64
			for f := 0; f+lag < frames; f++ {
				v := truth[4*f+2+ax]
				c0 += v * v
				cl += v * truth[4*(f+lag)+2+ax]
			}
			// SE of a sample autocorrelation over ~330 independent
			// stretches is about 1/√330 ≈ 0.055 at most; seeds 1–4 give
			// errors ≤ 0.02 at τ = T.
			if rho := cl / c0; math.Abs(rho-want) > 0.1 {
				t.Errorf("axis %d: autocorrelation at lag %.1fT = %.3f, want %.3f ± 0.1", ax, lagT, rho, want)
			}
		}
	}
}

// fitTuning regresses each unit's spike count in bins of binFrames on the
// bin's mean velocity: n = β0 + β1·vx + β2·vy. It returns the preferred
// direction atan2(β2, β1) and its standard error by the delta method from
// the OLS covariance σ²(XᵀX)⁻¹, σ² the residual variance (Poisson noise).
func fitTuning(spikes []Event, truth []float64, units, frames, binFrames int) (theta, se []float64) {
	nb := frames / binFrames
	counts := make([][]float64, units)
	for i := range counts {
		counts[i] = make([]float64, nb)
	}
	for _, s := range spikes {
		if b := int(s.Sample) / binFrames; b < nb {
			counts[s.Channel][b]++
		}
	}
	x := make([][3]float64, nb)
	var xtx [3][3]float64
	for b := range nb {
		var vx, vy float64
		for f := b * binFrames; f < (b+1)*binFrames; f++ {
			vx += truth[4*f+2]
			vy += truth[4*f+3]
		}
		x[b] = [3]float64{1, vx / float64(binFrames), vy / float64(binFrames)}
		for r := range 3 {
			for c := range 3 {
				xtx[r][c] += x[b][r] * x[b][c]
			}
		}
	}
	inv := inv3(xtx)
	theta, se = make([]float64, units), make([]float64, units)
	for i := range units {
		var xty [3]float64
		for b := range nb {
			for r := range 3 {
				xty[r] += x[b][r] * counts[i][b]
			}
		}
		var beta [3]float64
		for r := range 3 {
			for c := range 3 {
				beta[r] += inv[r][c] * xty[c]
			}
		}
		var rss float64
		for b := range nb {
			e := counts[i][b] - beta[0] - beta[1]*x[b][1] - beta[2]*x[b][2]
			rss += e * e
		}
		s2 := rss / float64(nb-3)
		n2 := beta[1]*beta[1] + beta[2]*beta[2]
		g := [3]float64{0, -beta[2] / n2, beta[1] / n2}
		var v float64
		for r := range 3 {
			for c := range 3 {
				v += g[r] * s2 * inv[r][c] * g[c]
			}
		}
		theta[i], se[i] = math.Atan2(beta[2], beta[1]), math.Sqrt(v)
	}
	return theta, se
}

func inv3(a [3][3]float64) [3][3]float64 {
	det := a[0][0]*(a[1][1]*a[2][2]-a[1][2]*a[2][1]) - a[0][1]*(a[1][0]*a[2][2]-a[1][2]*a[2][0]) + a[0][2]*(a[1][0]*a[2][1]-a[1][1]*a[2][0])
	var r [3][3]float64
	for i := range 3 {
		for j := range 3 {
			// cofactor of a[j][i]
			r0, r1 := (j+1)%3, (j+2)%3
			c0, c1 := (i+1)%3, (i+2)%3
			r[i][j] = (a[r0][c0]*a[r1][c1] - a[r0][c1]*a[r1][c0]) / det
		}
	}
	return r
}

func angleDiff(a, b float64) float64 {
	d := math.Mod(a-b, 2*math.Pi)
	if d > math.Pi {
		d -= 2 * math.Pi
	} else if d < -math.Pi {
		d += 2 * math.Pi
	}
	return d
}

// TestMotorCortexTuningRecovered fits each unit's counts against velocity
// over a long seeded run and recovers its preferred direction within five
// standard errors of the Poisson-noise OLS fit. Rectification does not bias
// the direction for Gaussian velocities (Stein's lemma: E[v·f(d·v)] ∝ Σd);
// 0.02 rad covers the finite sample's departure from Gaussian isotropy.
func TestMotorCortexTuningRecovered(t *testing.T) {
	m := newMotor(t, func(c *MotorCortexConfig) { c.Seed = 3 })
	const frames, bin = 200_000, 20
	spikes, truth := m.Advance(frames, nil, make([]float64, 0, 4*frames))
	theta, se := fitTuning(spikes, truth, m.Units(), frames, bin)
	tun := m.Tuning(nil)
	worst := 0.0
	for i, tu := range tun {
		d := math.Abs(angleDiff(theta[i], tu.PreferredRad))
		if se[i] > 0.15 {
			t.Errorf("unit %d: direction SE %.3f rad too large for the test to mean anything", i, se[i])
		}
		if d > 5*se[i]+0.02 {
			t.Errorf("unit %d (b=%.1f, m=%.1f): fitted direction %.3f rad, true %.3f, off by %.3f > 5·SE %.3f + 0.02",
				i, tu.BaselineHz, tu.ModulationHz, theta[i], tu.PreferredRad, d, 5*se[i])
		}
		worst = max(worst, d/se[i])
	}
	t.Logf("largest direction error %.2f SE", worst)
}

// TestMotorCortexRates compares each unit's spike count with its expected
// count Σ_f (1 − exp(−λ_i(f)·Δt)) computed from the truth velocity and the
// tuning, within 5 Poisson standard deviations, and checks mean rates lie in
// 5–40 Hz.
func TestMotorCortexRates(t *testing.T) {
	m := newMotor(t, func(c *MotorCortexConfig) { c.Seed = 4 })
	const frames = 60_000
	spikes, truth := m.Advance(frames, nil, nil)
	cfg := m.Config()
	dt := 1 / cfg.RateHz
	counts := make([]float64, m.Units())
	for _, s := range spikes {
		counts[s.Channel]++
	}
	for i, tu := range m.Tuning(nil) {
		var want float64
		dx, dy := math.Cos(tu.PreferredRad), math.Sin(tu.PreferredRad)
		for f := range frames {
			lam := max(0, tu.BaselineHz+tu.ModulationHz*(truth[4*f+2]*dx+truth[4*f+3]*dy)/cfg.RefSpeed)
			want += -math.Expm1(-lam * dt)
		}
		if math.Abs(counts[i]-want) > 5*math.Sqrt(want) {
			t.Errorf("unit %d: %v spikes, expected %.1f ± %.1f", i, counts[i], want, 5*math.Sqrt(want))
		}
		if r := counts[i] / (frames * dt); r < 5 || r > 40 {
			t.Errorf("unit %d: mean rate %.1f Hz outside 5–40 Hz", i, r)
		}
	}
}

type spikeSet map[Event]bool

func toSet(ev []Event) spikeSet {
	s := make(spikeSet, len(ev))
	for _, e := range ev {
		s[e] = true
	}
	return s
}

func nearestElectrode(pos [][2]float64, x, y float64) int {
	best, bd := 0, math.Inf(1)
	for i, p := range pos {
		if d := math.Hypot(p[0]-x, p[1]-y); d < bd {
			best, bd = i, d
		}
	}
	return best
}

func TestMotorCortexStimulationEvokes(t *testing.T) {
	const frames, start, count, period = 2000, 500, 20, 50
	seed := func(c *MotorCortexConfig) { c.Seed = 7 }
	base, truthA := run(newMotor(t, seed), frames, 20)
	m := newMotor(t, seed)
	pos := m.ElectrodePositions()
	e := nearestElectrode(pos, 1600, 1600)
	err := m.Stimulate(Stimulus{Electrode: e, AmplitudeUA: 50, PhaseUS: 200, Count: count, FreqHz: 1000.0 / period, Sample: start})
	if err != nil {
		t.Fatal(err)
	}
	stim, truthB := run(m, frames, 20)
	if !slices.Equal(truthA, truthB) {
		t.Fatal("stimulation changed the latent velocity")
	}
	a, b := toSet(base), toSet(stim)
	for ev := range a {
		if !b[ev] {
			t.Fatalf("stimulation removed spike %+v: common random numbers broken", ev)
		}
	}
	// Extra spikes per unit by delay after the last pulse, in [0, 20) ms.
	var centre, near, early, window int
	for ev := range b {
		if a[ev] {
			continue
		}
		d := math.Hypot(pos[ev.Channel][0]-pos[e][0], pos[ev.Channel][1]-pos[e][1])
		if d > 2000 {
			t.Fatalf("spike %+v added %v µm from the stimulated electrode", ev, d)
		}
		if ev.Sample < start {
			t.Fatalf("spike %+v added before the first pulse at %d", ev, start)
		}
		delay := (ev.Sample - start) % period
		if delay < 20 {
			window++
			if delay < 10 {
				early++
			}
		}
		if delay < 15 && d <= 400 {
			near++
			if d == 0 {
				centre++
			}
		}
	}
	// g·τ = 1 expected extra spike per pulse at the electrode (95 % of it in
	// 15 ms), 0.135 at each of the four 400 µm neighbours: 20 pulses expect
	// about 19 at the centre and 29 within 400 µm.
	if centre < 10 || near < 15 {
		t.Errorf("extra spikes in the 15 ms after %d pulses: %d at the electrode (want ≥ 10), %d within 400 µm (want ≥ 15)", count, centre, near)
	}
	// With τ = 5 ms, 1 − e⁻² = 86 % of the evoked spikes fall within 10 ms.
	if float64(early) < 0.7*float64(window) {
		t.Errorf("only %d of %d evoked spikes within 10 ms of a pulse", early, window)
	}
	t.Logf("extra spikes: %d at the electrode, %d within 400 µm, %d/%d within 10 ms", centre, near, early, window)
}

func TestMotorCortexStopStimulation(t *testing.T) {
	seed := func(c *MotorCortexConfig) { c.Seed = 9 }
	stim := Stimulus{Electrode: 40, AmplitudeUA: 80, PhaseUS: 200, Count: 100, FreqHz: 100, Sample: 10}
	t.Run("pending", func(t *testing.T) {
		want, wantT := run(newMotor(t, seed), 500, 10)
		m := newMotor(t, seed)
		s := stim
		s.Sample = 200
		if err := m.Stimulate(s); err != nil {
			t.Fatal(err)
		}
		got, gotT := m.Advance(100, nil, nil)
		m.StopStimulation()
		got, gotT = m.Advance(400, got, gotT)
		if !slices.Equal(got, want) || !slices.Equal(gotT, wantT) {
			t.Fatal("a cancelled pending train changed the output")
		}
	})
	t.Run("ongoing", func(t *testing.T) {
		// Pulses at 10, 20, …, 90 are applied before the stop at sample 100;
		// the result must equal a 9-pulse train without a stop.
		short := stim
		short.Count = 9
		ref := newMotor(t, seed)
		if err := ref.Stimulate(short); err != nil {
			t.Fatal(err)
		}
		want, wantT := run(ref, 500, 10)
		m := newMotor(t, seed)
		if err := m.Stimulate(stim); err != nil {
			t.Fatal(err)
		}
		got, gotT := m.Advance(100, nil, nil)
		m.StopStimulation()
		got, gotT = m.Advance(400, got, gotT)
		if !slices.Equal(got, want) || !slices.Equal(gotT, wantT) {
			t.Fatal("an ongoing train went on after StopStimulation")
		}
		unstim, _ := run(newMotor(t, seed), 500, 10)
		if slices.Equal(got, unstim) {
			t.Fatal("the 9 pulses before the stop had no effect: the test proves nothing")
		}
	})
}

func TestMotorCortexStimulateErrors(t *testing.T) {
	good := Stimulus{Electrode: 3, AmplitudeUA: 50, PhaseUS: 200, Count: 5, FreqHz: 100}
	cases := []struct {
		name string
		edit func(s *Stimulus)
		want string
	}{
		{"electrode negative", func(s *Stimulus) { s.Electrode = -1 }, "electrode -1"},
		{"electrode too large", func(s *Stimulus) { s.Electrode = 96 }, "electrode 96"},
		{"amplitude zero", func(s *Stimulus) { s.AmplitudeUA = 0 }, "amplitude"},
		{"amplitude NaN", func(s *Stimulus) { s.AmplitudeUA = math.NaN() }, "amplitude"},
		{"phase", func(s *Stimulus) { s.PhaseUS = -1 }, "phase width"},
		{"count", func(s *Stimulus) { s.Count = 0 }, "count 0"},
		{"frequency zero", func(s *Stimulus) { s.FreqHz = 0 }, "frequency 0"},
		{"frequency above rate", func(s *Stimulus) { s.FreqHz = 2000 }, "exceeds the simulation rate"},
		{"pulses overlap", func(s *Stimulus) { s.PhaseUS = 6000 }, "overlap"},
	}
	m := newMotor(t, nil)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := good
			c.edit(&s)
			err := m.Stimulate(s)
			if !errors.Is(err, ErrBadStimulus) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Stimulate(%+v) = %v, want ErrBadStimulus mentioning %q", s, err, c.want)
			}
		})
	}
	single := good
	single.Count, single.FreqHz = 1, 0 // frequency unused for one pulse
	if err := m.Stimulate(single); err != nil {
		t.Fatalf("single pulse without frequency rejected: %v", err)
	}
	m.StopStimulation()
	for i := range m.Config().StimQueue {
		if err := m.Stimulate(good); err != nil {
			t.Fatalf("stimulus %d: %v", i, err)
		}
	}
	if err := m.Stimulate(good); !errors.Is(err, ErrStimQueueFull) {
		t.Fatalf("Stimulate on a full queue = %v, want ErrStimQueueFull", err)
	}
	m.Advance(1000, nil, nil) // 5 pulses at 100 Hz finish within 50 ms and leave the queue
	if err := m.Stimulate(good); err != nil {
		t.Fatalf("queue not drained by finished trains: %v", err)
	}
}

func TestMotorCortexOnApplied(t *testing.T) {
	var now int64 = 1000
	type call struct{ arrived, applied, sample int64 }
	var calls []call
	var m *MotorCortex
	m = newMotor(t, func(c *MotorCortexConfig) {
		c.Clock = func() int64 { now++; return now }
		c.OnApplied = func(arrived, applied int64) { calls = append(calls, call{arrived, applied, m.Sample()}) }
	})
	if err := m.Stimulate(Stimulus{Electrode: 1, AmplitudeUA: 20, PhaseUS: 100, Count: 3, FreqHz: 100, Sample: 50, Arrived: 7}); err != nil {
		t.Fatal(err)
	}
	m.Advance(50, nil, nil)
	if len(calls) != 0 {
		t.Fatalf("OnApplied called before the first pulse: %+v", calls)
	}
	m.Advance(1, nil, nil)
	if len(calls) != 1 || calls[0].arrived != 7 || calls[0].applied != 1001 {
		t.Fatalf("after the first pulse: calls %+v, want one with arrived 7, applied 1001", calls)
	}
	m.Advance(100, nil, nil) // later pulses of the train do not report
	if len(calls) != 1 {
		t.Fatalf("OnApplied called for later pulses: %+v", calls)
	}
	// A stimulus dated in the past is applied at the next frame.
	if err := m.Stimulate(Stimulus{Electrode: 2, AmplitudeUA: 20, PhaseUS: 100, Count: 1, Sample: 3, Arrived: 8}); err != nil {
		t.Fatal(err)
	}
	m.Advance(1, nil, nil)
	if len(calls) != 2 || calls[1].arrived != 8 {
		t.Fatalf("past-dated stimulus: calls %+v, want a second call with arrived 8", calls)
	}
}

func TestMotorCortexStimulateConcurrent(t *testing.T) {
	m := newMotor(t, func(c *MotorCortexConfig) { c.StimQueue = 4 })
	var stop atomic.Bool
	var wg sync.WaitGroup
	var accepted atomic.Int64
	wg.Add(2)
	go func() {
		defer wg.Done()
		for i := 0; !stop.Load(); i++ {
			err := m.Stimulate(Stimulus{Electrode: i % 96, AmplitudeUA: 30, PhaseUS: 100, Count: 3, FreqHz: 200, Sample: m.Sample() + 2})
			if err == nil {
				accepted.Add(1)
			} else if !errors.Is(err, ErrStimQueueFull) {
				t.Error(err)
				return
			}
		}
	}()
	go func() {
		defer wg.Done()
		for !stop.Load() {
			time.Sleep(100 * time.Microsecond)
			m.StopStimulation()
		}
	}()
	spikes := make([]Event, 0, 4096)
	truth := make([]float64, 0, 80)
	for range 2000 {
		spikes, truth = m.Advance(20, spikes[:0], truth[:0])
	}
	stop.Store(true)
	wg.Wait()
	if accepted.Load() == 0 {
		t.Fatal("no stimulus accepted")
	}
}

func TestMotorCortexAllocs(t *testing.T) {
	m := newMotor(t, func(c *MotorCortexConfig) { c.OnApplied = func(int64, int64) {} })
	spikes := make([]Event, 0, 4096)
	truth := make([]float64, 0, 4*20)
	spikes, truth = m.Advance(20, spikes, truth)
	if n := testing.AllocsPerRun(200, func() { spikes, truth = m.Advance(20, spikes[:0], truth[:0]) }); n != 0 {
		t.Errorf("Advance allocates %v per call", n)
	}
	if n := testing.AllocsPerRun(200, func() {
		if err := m.Stimulate(Stimulus{Electrode: 5, AmplitudeUA: 40, PhaseUS: 200, Count: 2, FreqHz: 500}); err != nil {
			t.Fatal(err)
		}
		spikes, truth = m.Advance(5, spikes[:0], truth[:0])
		m.StopStimulation()
	}); n != 0 {
		t.Errorf("Stimulate + Advance + StopStimulation allocate %v per call", n)
	}
}

func BenchmarkMotorCortexAdvance(b *testing.B) {
	for _, units := range []int{96, 192} {
		for _, frames := range []int{1, 20} {
			b.Run(fmt.Sprintf("units=%d/frames=%d", units, frames), func(b *testing.B) {
				m := newMotor(b, func(c *MotorCortexConfig) { c.Units = units })
				spikes := make([]Event, 0, 4096)
				truth := make([]float64, 0, 4*frames)
				b.ReportAllocs()
				for b.Loop() {
					spikes, truth = m.Advance(frames, spikes[:0], truth[:0])
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*frames), "ns/frame")
			})
		}
	}
}

func BenchmarkMotorCortexStimulate(b *testing.B) {
	m := newMotor(b, nil)
	spikes := make([]Event, 0, 4096)
	truth := make([]float64, 0, 4)
	b.ReportAllocs()
	for b.Loop() {
		if err := m.Stimulate(Stimulus{Electrode: 42, AmplitudeUA: 50, PhaseUS: 200, Count: 1}); err != nil {
			b.Fatal(err)
		}
		spikes, truth = m.Advance(1, spikes[:0], truth[:0])
	}
}

func ExampleMotorCortex() {
	cfg := DefaultMotorCortexConfig()
	cfg.Seed = 42
	m, err := NewMotorCortex(cfg)
	if err != nil {
		panic(err)
	}
	// One second of activity, then a 10-pulse train on electrode 42.
	spikes, truth := m.Advance(1000, nil, nil)
	fmt.Printf("%d units at %v Hz, truth %v\n", m.Units(), m.Rate(), m.TruthNames())
	fmt.Printf("1 s: %d spikes, final velocity (%.2f, %.2f) cm/s\n", len(spikes), truth[len(truth)-2], truth[len(truth)-1])
	if err := m.Stimulate(Stimulus{Electrode: 42, AmplitudeUA: 50, PhaseUS: 200, Count: 10, FreqHz: 100}); err != nil {
		panic(err)
	}
	spikes, _ = m.Advance(100, spikes[:0], nil)
	onElectrode := 0
	for _, s := range spikes {
		if s.Channel == 42 {
			onElectrode++
		}
	}
	fmt.Printf("next 100 ms with stimulation: %d spikes, %d on electrode 42\n", len(spikes), onElectrode)
	// Output:
	// 96 units at 1000 Hz, truth [px py vx vy]
	// 1 s: 1633 spikes, final velocity (2.26, -0.24) cm/s
	// next 100 ms with stimulation: 178 spikes, 8 on electrode 42
}

// TestSpikeDecision checks the bounded shortcut against the direct
// comparison u < 1 − e^{−x} on a grid that straddles both bounds.
func TestSpikeDecision(t *testing.T) {
	xs := []float64{0, 1e-6, 0.001, 0.01, 0.05, 0.2, 1, 3, 50}
	for _, x := range xs {
		p := -math.Expm1(-x)
		us := []float64{0, p * 0.5, math.Nextafter(p, 0), p, math.Nextafter(p, 1), (p + x) / 2, x, math.Nextafter(x, 1), 0.999999}
		for _, u := range us {
			if u >= 1 || u < 0 {
				continue
			}
			if got, want := spike(u, x), u < p; got != want {
				t.Errorf("spike(u=%v, x=%v) = %v, want %v (p = %v)", u, x, got, want, p)
			}
		}
	}
}

// TestMotorCortexKernel compares the grid-searched stimulation kernel with a
// brute-force search over all pairs.
func TestMotorCortexKernel(t *testing.T) {
	cases := []struct {
		units  int
		radius float64
	}{{96, 800}, {96, 0}, {96, 399}, {96, 400}, {50, 1e6}, {200, 1250}}
	for _, c := range cases {
		t.Run(fmt.Sprintf("units=%d/radius=%v", c.units, c.radius), func(t *testing.T) {
			m := newMotor(t, func(cfg *MotorCortexConfig) { cfg.Units, cfg.StimRadiusUM = c.units, c.radius })
			pos := m.ElectrodePositions()
			for k := range c.units {
				var want []int32
				for j := range c.units {
					if math.Hypot(pos[j][0]-pos[k][0], pos[j][1]-pos[k][1]) <= c.radius {
						want = append(want, int32(j))
					}
				}
				got := m.kUnit[m.kOff[k]:m.kOff[k+1]]
				if !slices.Equal(got, want) {
					t.Fatalf("electrode %d: kernel units %v, want %v", k, got, want)
				}
				for idx, j := range got {
					d := math.Hypot(pos[j][0]-pos[k][0], pos[j][1]-pos[k][1])
					if w, wantW := m.kW[int(m.kOff[k])+idx], math.Exp(-d*d/(2*200*200)); math.Abs(w-wantW) > 1e-12 {
						t.Fatalf("electrode %d unit %d: weight %v, want %v", k, j, w, wantW)
					}
				}
			}
		})
	}
}

// replayIntent replays recorded velocities, frame by frame, and checks that
// it is asked for every frame once, in order.
type replayIntent struct {
	t     testing.TB
	v     []float64 // vx, vy per frame from sample first
	first int64
	next  int64
}

func (r *replayIntent) Velocity(sample int64) (float64, float64) {
	if sample != r.next {
		r.t.Errorf("Velocity(%d), want frame %d", sample, r.next)
	}
	r.next = sample + 1
	i := 2 * (sample - r.first)
	return r.v[i], r.v[i+1]
}

// constIntent asks for one velocity (NaN counts as 0 in the brain).
type constIntent struct{ vx, vy float64 }

func (c constIntent) Velocity(int64) (float64, float64) { return c.vx, c.vy }

func TestMotorCortexIntent(t *testing.T) {
	const frames = 5000
	wide := func(c *MotorCortexConfig) { c.Workspace = 1e6 } // no wall bounce in the reference
	t.Run("replayed latent velocity gives the same spikes and truth", func(t *testing.T) {
		ref := newMotor(t, wide)
		wantSpikes, wantTruth := run(ref, frames, 7)
		vel := make([]float64, 0, 2*frames)
		for f := range frames {
			vel = append(vel, wantTruth[4*f+2], wantTruth[4*f+3])
		}
		m := newMotor(t, wide)
		it := &replayIntent{t: t, v: vel}
		m.SetIntent(it)
		gotSpikes, gotTruth := run(m, frames, 13)
		if it.next != frames {
			t.Fatalf("intent asked for %d frames, want %d", it.next, frames)
		}
		if !slices.Equal(gotSpikes, wantSpikes) {
			t.Fatalf("spikes differ: %d vs %d", len(gotSpikes), len(wantSpikes))
		}
		if !slices.Equal(gotTruth, wantTruth) {
			t.Fatal("truth differs from the latent run whose velocity was replayed")
		}
	})
	t.Run("truth is the intended velocity and its integral", func(t *testing.T) {
		m := newMotor(t, nil)
		m.SetIntent(constIntent{vx: 20, vy: math.NaN()})
		_, truth := run(m, 1000, 10)
		last := truth[len(truth)-4:]
		// 1000 frames at 1 kHz of 20 cm/s: 20 cm, beyond the 15 cm
		// workspace of the latent process (no walls for an intent).
		if math.Abs(last[0]-20) > 1e-9 || last[1] != 0 || last[2] != 20 || last[3] != 0 {
			t.Fatalf("last truth %v, want [20 0 20 0]", last)
		}
	})
	t.Run("removing the intent resumes the frozen latent process", func(t *testing.T) {
		ref := newMotor(t, nil)
		_, want := run(ref, 300, 1)
		m := newMotor(t, nil)
		m.SetIntent(constIntent{})
		run(m, 200, 50)
		m.SetIntent(nil)
		_, got := run(m, 300, 1)
		for f := range 300 {
			if got[4*f+2] != want[4*f+2] || got[4*f+3] != want[4*f+3] {
				t.Fatalf("frame %d: velocity (%v, %v), want the latent (%v, %v)", f, got[4*f+2], got[4*f+3], want[4*f+2], want[4*f+3])
			}
		}
	})
	t.Run("deterministic and allocation-free", func(t *testing.T) {
		a, b := newMotor(t, nil), newMotor(t, nil)
		a.SetIntent(constIntent{vx: 5, vy: -3})
		b.SetIntent(constIntent{vx: 5, vy: -3})
		sa, ta := run(a, 2000, 20)
		sb, tb := run(b, 2000, 20)
		if !slices.Equal(sa, sb) || !slices.Equal(ta, tb) {
			t.Fatal("two runs from one seed and one intent differ")
		}
		spikes := make([]Event, 0, 4096)
		truth := make([]float64, 0, 4*20)
		if n := testing.AllocsPerRun(100, func() { spikes, truth = a.Advance(20, spikes[:0], truth[:0]) }); n != 0 {
			t.Fatalf("Advance with an intent allocates %v times per call", n)
		}
	})
}
