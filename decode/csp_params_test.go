package decode

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
)

func TestCSPLDAParamsFile(t *testing.T) {
	const C = 6
	trials, labels, _ := cspTrials(60, C, 200, 7)
	pipe, lp, err := FitCSPLDA(trials, labels, C, 2, DefaultLDAConfigWith("T1", "T2"))
	if err != nil {
		t.Fatal(err)
	}
	p := &CSPLDAParams{
		ChannelNames: []string{"C3", "Cz", "C4", "FC3", "FCz", "FC4"},
		Rate:         160, BandHz: []float64{7, 30}, FilterOrder: 4, WindowS: []float64{1, 2},
		CSP: pipe.CSP, LDA: lp,
	}
	var buf bytes.Buffer
	if err := WriteCSPLDAParams(&buf, p); err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()
	if !bytes.HasPrefix(data, []byte(`{"format":"bciloop.csp-lda","version":1,"channel_names":["C3",`)) {
		t.Errorf("unexpected header: %.80s", data)
	}
	q, err := ReadCSPLDAParams(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(p, q) {
		t.Fatal("parameters differ after a round trip")
	}
	again, err := NewCSPLDA(q)
	if err != nil {
		t.Fatal(err)
	}
	var a, b []float64
	for _, tr := range trials[:20] {
		var ka, kb int
		a, ka = pipe.Classify(a, tr)
		b, kb = again.Classify(b, tr)
		if ka != kb || !reflect.DeepEqual(a, b) {
			t.Fatal("the pipeline read back classifies differently")
		}
	}

	s := string(data)
	cases := []struct{ name, in, want string }{
		{"format", strings.Replace(s, `"bciloop.csp-lda"`, `"bciloop.csp"`, 1), `format: "bciloop.csp", want "bciloop.csp-lda"`},
		{"unknown nested", strings.Replace(s, `"csp":{`, `"csp":{"m":2,`, 1), `unknown field "m"`},
		{"names", strings.Replace(s, `"FC4"`, `"C3"`, 1), `channel_names: entry 5 "C3" repeats entry 0`},
		{"band", strings.Replace(s, `"band_hz":[7,30]`, `"band_hz":[7,90]`, 1), "band_hz: [7, 90] must satisfy 0 < low < high < rate/2 (80 Hz)"},
		{"order", strings.Replace(s, `"filter_order":4`, `"filter_order":0`, 1), "filter_order: must be in [1, 20]"},
		{"window", strings.Replace(s, `"window_s":[1,2]`, `"window_s":[2,1]`, 1), "window_s: [2, 1] must be finite with end > start"},
		{"no lda", strings.Replace(s, `"lda":{`, `"lda0":{`, 1), `unknown field "lda0"`},
		{"channels", strings.Replace(s, `"channels":6`, `"channels":5`, 1), "csp: filters: has 24 values"},
	}
	for _, c := range cases {
		if _, err := ReadCSPLDAParams(strings.NewReader(c.in)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
	if _, err := NewCSPLDA(&CSPLDAParams{CSP: pipe.CSP}); err == nil || !strings.Contains(err.Error(), "lda: missing") {
		t.Errorf("NewCSPLDA without LDA: %v", err)
	}
	three := *lp
	three.Classes = []string{"a", "b", "c"}
	three.Weights = append(append([]float64(nil), lp.Weights...), lp.Weights[:4]...)
	three.Bias = append(append([]float64(nil), lp.Bias...), 0)
	if err := (&CSPLDAParams{CSP: pipe.CSP, LDA: &three}).Validate(); err == nil || !strings.Contains(err.Error(), "lda.classes: CSP separates 2 classes, got 3") {
		t.Errorf("three classes: %v", err)
	}
}

func TestCSPParamsFile(t *testing.T) {
	const C = 5
	trials, labels, _ := cspTrials(40, C, 100, 8)
	c, err := FitCSP(trials, labels, C, 1)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WriteCSPParams(&buf, c); err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(buf.Bytes(), []byte(`{"format":"bciloop.csp","version":1,"components":2,"channels":5,"filters":[`)) {
		t.Errorf("unexpected header: %.80s", buf.Bytes())
	}
	s := buf.String()
	d, err := ReadCSPParams(strings.NewReader(s))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c, d) {
		t.Fatal("filters differ after a round trip")
	}
	for _, k := range []struct{ name, in, want string }{
		{"components", strings.Replace(s, `"components":2`, `"components":4`, 1), "components: 4, but filters has 2 rows"},
		{"odd", strings.Replace(s, `"channels":5`, `"channels":10`, 1), "filters: has 10 values; want 2m rows of 10 channels"},
		{"channels", strings.Replace(s, `"channels":5`, `"channels":1`, 1), "channels: must be ≥ 2, got 1"},
		{"zero row", strings.Replace(s, `"filters":[`, `"filters":[0,0,0,0,0,`, 1), "filters: has 15 values"},
		{"version", strings.Replace(s, `"version":1`, `"version":0`, 1), "version: 0 is not supported"},
	} {
		if _, err := ReadCSPParams(strings.NewReader(k.in)); err == nil || !strings.Contains(err.Error(), k.want) {
			t.Errorf("%s: %v, want %q", k.name, err, k.want)
		}
	}
	zero := &CSP{Channels: 2, Filters: []float64{0, 0, 1, 1}}
	if err := zero.Validate(); err == nil || !strings.Contains(err.Error(), "filters: row 0 is all zero") {
		t.Errorf("zero row: %v", err)
	}
}
