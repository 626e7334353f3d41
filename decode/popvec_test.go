package decode

import (
	"bytes"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

// cosineData draws T bins of a 2-D velocity (AR(1), 0.9 per bin, unit
// variance) and n units with cosine tuning n_i ~ Poisson(b + m·(v·d_i)/2)
// (b = 3, m = 2 counts per bin, preferred directions evenly spaced, so that
// the population vector is unbiased; Georgopoulos et al. 1986).
func cosineData(n, T int, seed uint64) (states, counts [][]float64, pref []float64) {
	rng := rand.New(rand.NewPCG(seed, 0x706f70))
	pref = make([]float64, n)
	for i := range pref {
		pref[i] = 2 * math.Pi * float64(i) / float64(n)
	}
	var vx, vy float64
	sd := math.Sqrt(1 - 0.81)
	for t := 0; t < T; t++ {
		vx = 0.9*vx + sd*rng.NormFloat64()
		vy = 0.9*vy + sd*rng.NormFloat64()
		c := make([]float64, n)
		for i := range c {
			c[i] = poissonDraw(rng, max(0, 3+(vx*math.Cos(pref[i])+vy*math.Sin(pref[i]))))
		}
		states = append(states, []float64{vx, vy})
		counts = append(counts, c)
	}
	return states, counts, pref
}

func TestFitPopVecRecoversDirections(t *testing.T) {
	states, counts, pref := cosineData(16, 20000, 1)
	p, err := FitPopVec(states, counts, PopVecConfig{StateNames: []string{"vx", "vy"}})
	if err != nil {
		t.Fatal(err)
	}
	// With 20000 bins the regression slopes have standard errors of about
	// √(3/20000) ≈ 0.012 on a slope of 1: the angle within 0.05 rad (3°)
	// and the depth within 5 % are over four standard errors.
	for i, th := range pref {
		got := math.Atan2(p.Pref[i*2+1], p.Pref[i*2])
		if d := math.Abs(math.Remainder(got-th, 2*math.Pi)); d > 0.05 {
			t.Errorf("unit %d: preferred direction %.3f, want %.3f", i, got, th)
		}
		if math.Abs(p.Modulation[i]-1) > 0.05 || math.Abs(p.Baseline[i]-3) > 0.05 {
			t.Errorf("unit %d: modulation %.3f baseline %.3f, want 1, 3", i, p.Modulation[i], p.Baseline[i])
		}
	}
	dec, err := NewPopVec(p)
	if err != nil {
		t.Fatal(err)
	}
	test, tc, _ := cosineData(16, 2000, 2)
	r2 := NewR2(2)
	var est Estimate
	for i := range test {
		if err := dec.Decode(&est, &Bin{Counts: tc[i]}); err != nil {
			t.Fatal(err)
		}
		_ = r2.Add(est.State, test[i])
	}
	// 16 units with Poisson noise (variance 3 counts² against a unit
	// modulation) per bin: the per-bin vector reaches R² ≈ 0.7 here; 0.6 is
	// a floor far above an uninformative decoder's 0.
	t.Logf("population vector R² = %.3f", r2.R2To(nil))
	for j, v := range r2.R2To(nil) {
		if v < 0.6 {
			t.Errorf("R² of state %d = %.3f < 0.6", j, v)
		}
	}
}

func TestPopVecErrors(t *testing.T) {
	states, counts, _ := cosineData(4, 200, 3)
	for t2 := range counts {
		counts[t2][1] = 5
	}
	if _, err := FitPopVec(states, counts, PopVecConfig{}); err == nil || !strings.Contains(err.Error(), "channel 1 is constant") {
		t.Errorf("err = %v", err)
	}
	states, counts, _ = cosineData(4, 200, 3)
	if _, err := FitPopVec(states[:5], counts[:5], PopVecConfig{}); err == nil || !strings.Contains(err.Error(), "too few samples") {
		t.Errorf("err = %v", err)
	}
	for i := range states {
		states[i][1] = 2 * states[i][0]
	}
	if _, err := FitPopVec(states, counts, PopVecConfig{}); err == nil || !strings.Contains(err.Error(), "state 1 (x1) is collinear") {
		t.Errorf("err = %v", err)
	}
	states, counts, _ = cosineData(4, 200, 3)
	p, err := FitPopVec(states, counts, PopVecConfig{})
	if err != nil {
		t.Fatal(err)
	}
	dec, _ := NewPopVec(p)
	var est Estimate
	if err := dec.Decode(&est, &Bin{Seq: 4, Counts: []float64{1, 2}}); err == nil || !strings.Contains(err.Error(), "bin seq 4 has 2 channels, want 4") {
		t.Errorf("err = %v", err)
	}
	var buf bytes.Buffer
	if err := WritePopVecParams(&buf, p); err != nil {
		t.Fatal(err)
	}
	q, err := ReadPopVecParams(bytes.NewReader(buf.Bytes()))
	if err != nil || !reflect.DeepEqual(p, q) {
		t.Fatalf("round trip: %v", err)
	}
	bad := strings.Replace(buf.String(), `"modulation":[`, `"modulation":[-1,`, 1)
	if _, err := ReadPopVecParams(strings.NewReader(bad)); err == nil || !strings.Contains(err.Error(), "modulation: has 5 values, want 4") {
		t.Errorf("err = %v", err)
	}
}

func FuzzReadPopVecParams(f *testing.F) {
	states, counts, _ := cosineData(3, 100, 4)
	p, err := FitPopVec(states, counts, PopVecConfig{})
	if err != nil {
		f.Fatal(err)
	}
	var buf bytes.Buffer
	_ = WritePopVecParams(&buf, p)
	f.Add(buf.Bytes())
	f.Fuzz(func(t *testing.T, data []byte) {
		if p, err := ReadPopVecParams(bytes.NewReader(data)); err == nil {
			if _, err := NewPopVec(p); err != nil {
				t.Fatal(err)
			}
		}
	})
}
