package decode

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func encodeParams(t testing.TB, p *KalmanParams) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteKalmanParams(&buf, p); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestKalmanParamsRoundTrip(t *testing.T) {
	m := testLDS(4, 12, 51)
	s, c := m.simulate(300, 52)
	cfg := DefaultKalmanConfig()
	cfg.StateNames = m.names
	p, err := FitKalmanBins(toBins(s, c), cfg)
	if err != nil {
		t.Fatal(err)
	}
	data := encodeParams(t, p)
	if !bytes.HasPrefix(data, []byte(`{"format":"bciloop.kalman","version":1,"states":4,"channels":12,`)) {
		t.Errorf("unexpected header: %.80s", data)
	}
	q, err := ReadKalmanParams(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	// Shortest round-trip formatting: bit-identical floats.
	if !reflect.DeepEqual(p, q) {
		t.Fatal("parameters differ after a round trip")
	}

	path := filepath.Join(t.TempDir(), "kalman.json")
	if err := SaveKalmanParams(path, p); err != nil {
		t.Fatal(err)
	}
	r, err := LoadKalmanParams(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(p, r) {
		t.Fatal("parameters differ after Save and Load")
	}
	if _, err := LoadKalmanParams(filepath.Join(t.TempDir(), "missing.json")); err == nil {
		t.Error("missing file loaded")
	}
	// A failed save leaves no temporary file behind.
	dir := t.TempDir()
	bad := smallParams()
	bad.Q[0] = -1
	if err := SaveKalmanParams(filepath.Join(dir, "k.json"), bad); err == nil {
		t.Error("invalid params saved")
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("left %d files behind", len(ents))
	}
}

// editParams returns the encoding of smallParams with one top-level field
// replaced by raw JSON (or removed when raw is "").
func editParams(t testing.TB, key, raw string) []byte {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(encodeParams(t, smallParams()), &m); err != nil {
		t.Fatal(err)
	}
	if raw == "" {
		delete(m, key)
	} else {
		m[key] = json.RawMessage(raw)
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestReadKalmanParamsErrors(t *testing.T) {
	tests := []struct {
		name string
		data []byte
		want []string
	}{
		{"empty", nil, []string{"EOF"}},
		{"not json", []byte("kalman"), []string{"invalid character"}},
		{"format", editParams(t, "format", `"bciloop.lda"`), []string{`format: "bciloop.lda", want "bciloop.kalman"`}},
		{"version", editParams(t, "version", `2`), []string{"version: 2 is not supported (this build reads version 1)"}},
		{"unknown field", editParams(t, "gain", `[1]`), []string{`unknown field "gain"`}},
		{"states", editParams(t, "states", `3`), []string{"states: 3, but state_mean has 2 values"}},
		{"channels", editParams(t, "channels", `4`), []string{"channels: 4, but count_mean has 3 values"}},
		{"shape a", editParams(t, "a", `[1, 0, 0]`), []string{"a: has 3 values, want 4"}},
		{"shape h and q", []byte(strings.Replace(string(editParams(t, "h", `[1]`)), `"q":[`, `"q":[1,`, 1)),
			[]string{"h: has 1 values, want 6", "q: has 10 values, want 9"}},
		{"missing q", editParams(t, "q", ""), []string{"q: has 0 values, want 9"}},
		{"overflow", editParams(t, "a", `[1e999, 0, 0, 1]`), []string{"a"}},
		{"string number", editParams(t, "w", `["1", 0, 0, 1]`), []string{"w"}},
		{"w not SPD", editParams(t, "w", `[1, 2, 2, 1]`), []string{"w: not positive definite"}},
		{"q not symmetric", editParams(t, "q", `[1, 0.5, 0, 0, 2, 0, 0, 0, 1]`), []string{"q: not symmetric: [0,1] = 0.5 but [1,0] = 0"}},
		{"p0 singular", editParams(t, "p0", `[1, 1, 1, 1]`), []string{"p0: not positive definite"}},
		{"names", editParams(t, "state_names", `["px", "px"]`), []string{`state_names: entry 1 "px" repeats entry 0`}},
		{"negative width", editParams(t, "bin_width", `-20`), []string{"bin_width: must be ≥ 0"}},
		{"trailing", append(encodeParams(t, smallParams()), []byte(`{}`)...), []string{"trailing data"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := ReadKalmanParams(bytes.NewReader(tc.data))
			if err == nil {
				t.Fatalf("read succeeded: %+v", p)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestWriteKalmanParamsRejectsInvalid(t *testing.T) {
	p := smallParams()
	p.H[2] = 0
	p.A = p.A[:3]
	p.StateNames = nil
	err := WriteKalmanParams(io.Discard, p)
	if err == nil {
		t.Fatal("invalid params written")
	}
	for _, w := range []string{"a: has 3 values, want 4", "state_names: has 0 names for 2 states"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q lacks %q", err, w)
		}
	}
	if err := WriteKalmanParams(io.Discard, nil); err == nil {
		t.Error("nil params written")
	}
}

// halves reads data in two parts, as a stream that delivers it in pieces.
type halves struct{ a, b []byte }

func (h *halves) Read(p []byte) (int, error) {
	if len(h.a) > 0 {
		n := copy(p, h.a)
		h.a = h.a[n:]
		return n, nil
	}
	if len(h.b) > 0 {
		n := copy(p, h.b)
		h.b = h.b[n:]
		return n, nil
	}
	return 0, io.EOF
}

func FuzzReadKalmanParams(f *testing.F) {
	valid := encodeParams(f, smallParams())
	f.Add(valid)
	f.Add(editParams(f, "w", `[1, 2, 2, 1]`))
	f.Add(editParams(f, "version", `7`))
	f.Add(editParams(f, "h", `[1, 2]`))
	f.Add(editParams(f, "count_mean", `[]`))
	f.Add(editParams(f, "state_names", `null`))
	f.Add(valid[:len(valid)/2])
	f.Add([]byte(`{"format":"bciloop.kalman","version":1}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ReadKalmanParams(bytes.NewReader(data))
		// Delivered in two pieces, the same bytes read the same.
		h := &halves{a: data[:len(data)/2], b: data[len(data)/2:]}
		p2, err2 := ReadKalmanParams(h)
		if (err == nil) != (err2 == nil) || !reflect.DeepEqual(p, p2) {
			t.Fatalf("whole and halved reads differ: %v / %v", err, err2)
		}
		if err != nil {
			return
		}
		var buf bytes.Buffer
		if err := WriteKalmanParams(&buf, p); err != nil {
			t.Fatalf("read parameters do not write: %v", err)
		}
		q, err := ReadKalmanParams(&buf)
		if err != nil {
			t.Fatalf("written parameters do not read: %v", err)
		}
		if !reflect.DeepEqual(p, q) {
			t.Fatal("round trip changed the parameters")
		}
		if _, err := NewKalman(p); err != nil {
			t.Fatalf("valid parameters make no filter: %v", err)
		}
	})
}
