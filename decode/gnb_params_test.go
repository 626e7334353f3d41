package decode

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
)

func TestGNBParamsFile(t *testing.T) {
	x, y := gaussClasses(400, 3, 21)
	p, err := FitGNB(x, y, []string{"rest", "move"})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WriteGNBParams(&buf, p); err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()
	if !bytes.HasPrefix(data, []byte(`{"format":"bciloop.gnb","version":1,"features":3,"classes":["rest","move"],`)) {
		t.Errorf("unexpected header: %.90s", data)
	}
	q, err := ReadGNBParams(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(p, q) {
		t.Fatal("parameters differ after a round trip")
	}
	// The decoder of the parameters read back classifies as the original.
	g1, _ := NewGNB(p)
	g2, err := NewGNB(q)
	if err != nil {
		t.Fatal(err)
	}
	var a, b []float64
	for _, r := range x[:50] {
		a, b = g1.ProbTo(a, r), g2.ProbTo(b, r)
		if !reflect.DeepEqual(a, b) {
			t.Fatal("posteriors differ after a round trip")
		}
	}

	s := string(data)
	cases := []struct{ name, in, want string }{
		{"format", strings.Replace(s, `"bciloop.gnb"`, `"bciloop.lda"`, 1), `format: "bciloop.lda", want "bciloop.gnb"`},
		{"version", strings.Replace(s, `"version":1`, `"version":2`, 1), "version: 2 is not supported"},
		{"unknown field", strings.Replace(s, `"features":3`, `"features":3,"extra":1`, 1), `unknown field "extra"`},
		{"trailing", s + "{}", "trailing data"},
		{"features", strings.Replace(s, `"features":3`, `"features":4`, 1), "features: 4, but the means have 3 per class"},
		{"classes", strings.Replace(s, `["rest","move"]`, `["rest","rest"]`, 1), `classes[1]: "rest" repeats classes[0]`},
		{"vars", strings.Replace(s, `"vars":[`, `"vars":[-1,`, 1), "vars: has 7 values, want 6"},
		{"priors", strings.Replace(s, `"log_prior":[`, `"log_prior":[0,`, 1), "log_prior: has 3 values, want 2"},
	}
	for _, c := range cases {
		if _, err := ReadGNBParams(strings.NewReader(c.in)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
	bad := *q
	bad.Vars = append([]float64{0}, q.Vars[1:]...)
	bad.LogPrior = []float64{-1, -1}
	err = bad.Validate()
	if err == nil || !strings.Contains(err.Error(), "vars: value 0 is 0, must be > 0") || !strings.Contains(err.Error(), "log_prior: the priors exp(log_prior) sum to 0.7") {
		t.Errorf("Validate: %v", err)
	}
	if err := WriteGNBParams(&buf, &bad); err == nil {
		t.Error("invalid parameters written")
	}
}
