package decode

import (
	"bytes"
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

func TestReadCSVMatrix(t *testing.T) {
	cases := []struct {
		name, in string
		rows     [][]float64
		names    []string
		lines    []int
	}{
		{"comma header", "vx,vy\n1,2\n3,4\n", [][]float64{{1, 2}, {3, 4}}, []string{"vx", "vy"}, []int{2, 3}},
		{"no header", "1,2\n-3.5,4e-3\n", [][]float64{{1, 2}, {-3.5, 4e-3}}, nil, []int{1, 2}},
		{"semicolon", "a;b;c\n1;2;3\n", [][]float64{{1, 2, 3}}, []string{"a", "b", "c"}, []int{2}},
		{"tab", "1\t2\n3\t4\n", [][]float64{{1, 2}, {3, 4}}, nil, []int{1, 2}},
		{"crlf and spaces", "x , y\r\n 1, 2 \r\n3 ,4\r\n", [][]float64{{1, 2}, {3, 4}}, []string{"x", "y"}, []int{2, 3}},
		{"bom", "\xef\xbb\xbfch0,ch1\n0,1\n", [][]float64{{0, 1}}, []string{"ch0", "ch1"}, []int{2}},
		{"comments and blank lines", "# written by numpy.savetxt\n\n1,2\n\n# more\n3,4", [][]float64{{1, 2}, {3, 4}}, nil, []int{3, 6}},
		{"quoted header with delimiters", "\"a;b\",\"c\"\"d\"\n1,2\n", [][]float64{{1, 2}}, []string{"a;b", `c"d`}, []int{2}},
		{"single column", "label\n0\n1\n1\n", [][]float64{{0}, {1}, {1}}, []string{"label"}, []int{2, 3, 4}},
		{"mixed header", "t,1\n5,6\n", [][]float64{{5, 6}}, []string{"t", "1"}, []int{2}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, err := ReadCSVMatrix(strings.NewReader(c.in), "in.csv")
			if err != nil {
				t.Fatal(err)
			}
			if m.Rows != len(c.rows) || m.Cols != len(c.rows[0]) {
				t.Fatalf("shape %d×%d, want %d×%d", m.Rows, m.Cols, len(c.rows), len(c.rows[0]))
			}
			for i, r := range c.rows {
				if !slices.Equal(m.Row(i), r) {
					t.Errorf("row %d = %v, want %v", i, m.Row(i), r)
				}
			}
			if !slices.Equal(m.Names, c.names) {
				t.Errorf("names %q, want %q", m.Names, c.names)
			}
			if !slices.Equal(m.Lines, c.lines) {
				t.Errorf("lines %v, want %v", m.Lines, c.lines)
			}
		})
	}
}

func TestReadCSVMatrixErrors(t *testing.T) {
	cases := []struct {
		name, in string
		want     string
	}{
		{"ragged", "a,b,c\n1,2,3\n4,5\n", "in.csv: line 3: 2 fields, but line 1 has 3"},
		{"ragged no header", "1,2\n3,4\n\n5,6,7\n", "in.csv: line 4: 3 fields, but line 1 has 2"},
		{"not a number", "a,b\n1,2\n3,x7\n", `in.csv: line 3, column 2: "x7" is not a number`},
		{"empty field", "1,,3\n", "in.csv: line 1, column 2: empty field"},
		{"nan", "1,2\n3,NaN\n", `in.csv: line 2, column 2: "NaN" is not finite`},
		{"inf", "1,-Inf\n", `in.csv: line 1, column 2: "-Inf" is not finite`},
		{"out of range", "1e999\n", `in.csv: line 1, column 1: "1e999" is out of the range`},
		{"decimal comma", "a;b\n1,5;2\n", `in.csv: line 2, column 1: "1,5" is not a number (a decimal comma?`},
		{"header only", "a,b\n", "in.csv: line 1: a header but no data rows"},
		{"empty", "", "in.csv: no data rows"},
		{"comments only", "# nothing\n\n", "in.csv: no data rows"},
		{"bare quote", "1,2\n3,4\"5\n", "in.csv: line 2: bare \" in non-quoted-field"},
		{"unterminated quote", "\"a,b\n1,2\n", "in.csv: line 2: extraneous or missing \" in quoted-field"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ReadCSVMatrix(strings.NewReader(c.in), "in.csv")
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want it to contain %q", err, c.want)
			}
			var me *MatrixError
			if !errors.As(err, &me) {
				t.Fatalf("error %T is not a *MatrixError", err)
			}
		})
	}
}

func TestCSVRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	m := &Matrix{Rows: 50, Cols: 7, Names: []string{"a", "b, c", `"q"`, "#d", " e", "1", "\tf"}}
	for i := 0; i < m.Rows*m.Cols; i++ {
		m.Data = append(m.Data, rng.NormFloat64()*math.Pow(10, float64(rng.IntN(40)-20)))
	}
	m.Data[3] = math.Copysign(0, -1)
	var buf bytes.Buffer
	if err := WriteCSVMatrix(&buf, m); err != nil {
		t.Fatal(err)
	}
	got, err := ReadCSVMatrix(&buf, "rt.csv")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"a", "b, c", `"q"`, "#d", "e", "1", "f"} // names read back trimmed
	if !slices.Equal(got.Names, want) || got.Rows != m.Rows || got.Cols != m.Cols {
		t.Fatalf("names %q shape %d×%d", got.Names, got.Rows, got.Cols)
	}
	for i, v := range m.Data {
		if math.Float64bits(got.Data[i]) != math.Float64bits(v) {
			t.Fatalf("value %d: %v read back as %v", i, v, got.Data[i])
		}
	}
	if err := WriteCSVMatrix(&buf, &Matrix{Rows: 1, Cols: 1, Data: []float64{1}, Names: []string{"2"}}); err == nil {
		t.Error("numeric names were written")
	}
}

func TestLoadMatrixExtension(t *testing.T) {
	if _, err := LoadMatrix("counts.xlsx"); err == nil || !strings.Contains(err.Error(), `unknown matrix file type ".xlsx"`) {
		t.Fatalf("error %v", err)
	}
}

// FuzzReadCSVMatrix feeds whole files to the reader: it must not panic, a
// success must be a consistent matrix of finite values, and writing that
// matrix and reading it back must give it again, bit for bit.
func FuzzReadCSVMatrix(f *testing.F) {
	for _, s := range []string{
		"vx,vy\n1,2\n3,4\n", "1;2\n3;4", "a\tb\n1\t2\n", "\xef\xbb\xbf\"x\",y\r\n1e3,-0\r\n",
		"# c\n\n1\n", "1,2\n3\n", "a,b\n1,x\n", "\"a\nb\",c\n1,2\n", "1,5;2\n", "NaN\n", "", "\"",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ReadCSVMatrix(bytes.NewReader(data), "fuzz.csv")
		if err != nil {
			var me *MatrixError
			if !errors.As(err, &me) {
				t.Fatalf("error %T %v is not a *MatrixError", err, err)
			}
			return
		}
		if err := m.validate(); err != nil {
			t.Fatal(err)
		}
		if len(m.Lines) != m.Rows {
			t.Fatalf("%d lines for %d rows", len(m.Lines), m.Rows)
		}
		var buf bytes.Buffer
		if err := WriteCSVMatrix(&buf, m); err != nil {
			t.Fatal(err)
		}
		got, err := ReadCSVMatrix(&buf, "again.csv")
		if err != nil {
			t.Fatalf("re-reading %q: %v", buf.String(), err)
		}
		if got.Rows != m.Rows || got.Cols != m.Cols || !slices.Equal(got.Names, m.Names) {
			t.Fatalf("round trip %d×%d %q, want %d×%d %q", got.Rows, got.Cols, got.Names, m.Rows, m.Cols, m.Names)
		}
		for i, v := range m.Data {
			if math.Float64bits(got.Data[i]) != math.Float64bits(v) {
				t.Fatalf("value %d: %v read back as %v", i, v, got.Data[i])
			}
		}
	})
}
