package model

import (
	"math"
	"strings"
	"testing"
)

// hhRepetitive reports whether a resting HH cell given a step of amp µA/cm²
// at 10 ms still fires in the last 150 ms of a 300 ms run.
func hhRepetitive(t *testing.T, p HodgkinHuxley, amp float64) bool {
	tr, err := Simulate(p, Step(10, amp), 0, 300, SimOptions{SpikesOnly: true, AbsTol: 1e-7, RelTol: 1e-7})
	if err != nil {
		t.Fatal(err)
	}
	return len(tr.Spikes) > 0 && tr.Spikes[len(tr.Spikes)-1] > 150
}

// TestHHRheobase: at 6.3 °C the HH model fires repetitively for sustained
// steps above I ≈ 6.26 µA/cm², the saddle-node of periodic orbits that
// bounds the bistable range 6.26 < I < 9.78 (Rinzel & Miller 1980, Math
// Biosci 49:27; Guckenheimer & Labouriau 1993, Bull Math Biol 55:937). The
// threshold measured by bisection on step amplitude must be within 2 % of
// 6.26 (and inside the 6–7 µA/cm² range of SCIENCE.md). Smaller steps (above
// ≈ 2.3 µA/cm²) give a single onset spike only.
func TestHHRheobase(t *testing.T) {
	p := HH1952()
	lo, hi := 5.0, 7.0
	if hhRepetitive(t, p, lo) || !hhRepetitive(t, p, hi) {
		t.Fatalf("bracket [%v, %v] does not straddle the threshold", lo, hi)
	}
	for hi-lo > 0.01 {
		m := 0.5 * (lo + hi)
		if hhRepetitive(t, p, m) {
			hi = m
		} else {
			lo = m
		}
	}
	th := 0.5 * (lo + hi)
	t.Logf("repetitive-firing threshold %.3f µA/cm² (literature 6.26)", th)
	if math.Abs(th-6.26)/6.26 > 0.02 {
		t.Errorf("repetitive-firing threshold %.3f µA/cm², literature 6.26", th)
	}
	tr, err := Simulate(p, Step(10, 3), 0, 200, SimOptions{SpikesOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(tr.Spikes) != 1 {
		t.Errorf("3 µA/cm² step: %d spikes, want a single onset spike", len(tr.Spikes))
	}
}

// TestHHSpikeShape: resting potential −65 mV (E_L = −54.387 mV is chosen for
// that; Dayan & Abbott 2001 §5.6); action potential peak ≈ +40 mV, i.e.
// ≈ 105 mV above rest (HH 1952 Fig. 12 computed ≈ 100–110 mV), accepted in
// [+35, +50] mV; width at half amplitude 1–2 ms at 6.3 °C.
func TestHHSpikeShape(t *testing.T) {
	p := HH1952()
	vr, _, _, _ := p.Rest()
	if math.Abs(vr+65) > 0.05 {
		t.Errorf("rest %v mV, want −65 ± 0.05", vr)
	}
	tr, err := Simulate(p, Step(10, 10), 0, 25, SimOptions{SampleDt: 0.005})
	if err != nil {
		t.Fatal(err)
	}
	v := tr.Var("V")
	jm := 0
	for j := range v {
		if v[j] > v[jm] {
			jm = j
		}
	}
	peak := v[jm]
	half := (peak + vr) / 2
	a, b := jm, jm
	for a > 0 && v[a] > half {
		a--
	}
	for b < len(v)-1 && v[b] > half {
		b++
	}
	width := tr.T[b] - tr.T[a]
	t.Logf("rest %.3f mV, peak %.2f mV, half-amplitude width %.3f ms", vr, peak, width)
	if peak < 35 || peak > 50 {
		t.Errorf("spike peak %.1f mV, want 35–50", peak)
	}
	if width < 1 || width > 2 {
		t.Errorf("half-amplitude width %.2f ms, want 1–2", width)
	}
	// Q10 = 3: at 16.3 °C the kinetics are 3× faster, the spike narrower.
	q := p
	q.Temp = 16.3
	tr2, err := Simulate(q, Step(10, 30), 0, 25, SimOptions{SampleDt: 0.005})
	if err != nil {
		t.Fatal(err)
	}
	v2 := tr2.Var("V")
	jm = 0
	for j := range v2 {
		if v2[j] > v2[jm] {
			jm = j
		}
	}
	a, b = jm, jm
	half2 := (v2[jm] + v2[0]) / 2
	for a > 0 && v2[a] > half2 {
		a--
	}
	for b < len(v2)-1 && v2[b] > half2 {
		b++
	}
	if w2 := tr2.T[b] - tr2.T[a]; w2 > 0.6*width {
		t.Errorf("16.3 °C width %.2f ms not much narrower than 6.3 °C width %.2f ms", w2, width)
	}
}

func TestHHStepperMatchesSimulate(t *testing.T) {
	p := HH1952()
	ref, err := Simulate(p, Step(10, 10), 0, 100, SimOptions{SpikesOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, dt := range []float64{0.025, 0.0125} {
		s, err := NewHHStepper(p, dt)
		if err != nil {
			t.Fatal(err)
		}
		v, m, h, n, in, sp := []float64{0}, []float64{0}, []float64{0}, []float64{0}, []float64{0}, []bool{false}
		s.Init(v, m, h, n)
		var times []float64
		steps := int(math.Round(100 / dt))
		for k := range steps {
			in[0] = 0
			if float64(k)*dt >= 10-1e-9 {
				in[0] = 10
			}
			if s.Step(v, m, h, n, in, sp) > 0 {
				times = append(times, float64(k+1)*dt)
			}
		}
		if len(times) != len(ref.Spikes) {
			t.Fatalf("dt=%v: %d spikes, reference %d", dt, len(times), len(ref.Spikes))
		}
		for i := range times {
			if d := math.Abs(times[i] - ref.Spikes[i]); d > 0.1 {
				t.Errorf("dt=%v spike %d: %.3f vs reference %.3f", dt, i, times[i], ref.Spikes[i])
			}
		}
	}
}

func TestHHValidate(t *testing.T) {
	bad := HH1952()
	bad.C, bad.GL, bad.Temp = 0, -0.3, 99
	err := bad.Validate()
	for _, f := range []string{"C:", "GL:", "Temp:"} {
		if err == nil || !strings.Contains(err.Error(), f) {
			t.Errorf("Validate() = %v, want %q", err, f)
		}
	}
	if _, err := NewHHStepper(HH1952(), 0.1); err == nil || !strings.Contains(err.Error(), "dt:") {
		t.Errorf("dt 0.1: %v", err)
	}
	if _, err := Simulate(HH1952(), Const(5), 0, 10, SimOptions{Method: RK4Method, Dt: 0.2}); err == nil {
		t.Error("RK4 dt 0.2 ms accepted for HH")
	}
}

func TestHHStepperNoAlloc(t *testing.T) {
	s, _ := NewHHStepper(HH1952(), 0.025)
	const n = 16
	v, m, h, k, in := make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n)
	sp := make([]bool, n)
	s.Init(v, m, h, k)
	for i := range in {
		in[i] = float64(i)
	}
	if a := testing.AllocsPerRun(100, func() { s.Step(v, m, h, k, in, sp) }); a != 0 {
		t.Errorf("HHStepper.Step: %v allocs", a)
	}
}

func TestHHRatesFast(t *testing.T) {
	for v := -120.0; v <= 80; v += 0.013 {
		a := [6]float64{}
		b := [6]float64{}
		a[0], a[1], a[2], a[3], a[4], a[5] = HHRates(v)
		b[0], b[1], b[2], b[3], b[4], b[5] = hhRatesFast(v)
		for k := range a {
			if math.Abs(a[k]-b[k]) > 1e-12*math.Max(1e-3, math.Abs(a[k])) {
				t.Fatalf("V=%v rate %d: %v vs %v", v, k, a[k], b[k])
			}
		}
	}
	// The removable singularities: α_m at −40 mV → 1, α_n at −55 mV → 0.1.
	if am, _, _, _, an, _ := hhRatesFast(-40); math.Abs(am-1) > 1e-12 || math.Abs(an-0.01*15/(1-math.Exp(-1.5))) > 1e-12 {
		t.Errorf("α_m(−40) = %v, α_n(−40) = %v", am, an)
	}
	if _, _, _, _, an, _ := hhRatesFast(-55); math.Abs(an-0.1) > 1e-12 {
		t.Errorf("α_n(−55) = %v", an)
	}
}
