package decode

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// npyFile builds a .npy file as numpy.lib.format writes it: the magic, the
// version, the header length, the dict padded with spaces to a 64-byte
// boundary and ended by '\n', then data.
func npyFile(major byte, dict string, data []byte) []byte {
	pre := 10
	if major >= 2 {
		pre = 12
	}
	total := (pre + len(dict) + 1 + 63) / 64 * 64
	b := append([]byte(npyMagic), major, 0)
	if major == 1 {
		b = binary.LittleEndian.AppendUint16(b, uint16(total-pre))
	} else {
		b = binary.LittleEndian.AppendUint32(b, uint32(total-pre))
	}
	b = append(b, dict...)
	for len(b) < total-1 {
		b = append(b, ' ')
	}
	b = append(b, '\n')
	return append(b, data...)
}

// npyData encodes vals as elements of dtype descr.
func npyData(descr string, vals []float64) []byte {
	var order binary.AppendByteOrder = binary.LittleEndian
	if descr[0] == '>' {
		order = binary.BigEndian
	}
	var b []byte
	for _, v := range vals {
		switch descr[1:] {
		case "f4":
			b = order.AppendUint32(b, math.Float32bits(float32(v)))
		case "f8":
			b = order.AppendUint64(b, math.Float64bits(v))
		case "i1", "u1":
			b = append(b, byte(int8(v)))
		case "i2", "u2":
			b = order.AppendUint16(b, uint16(int16(v)))
		case "i4", "u4":
			b = order.AppendUint32(b, uint32(int32(v)))
		case "i8", "u8":
			b = order.AppendUint64(b, uint64(int64(v)))
		}
	}
	return b
}

func TestNPYFileMatchesNumpy(t *testing.T) {
	// The first bytes numpy.save writes for np.arange(6, dtype='<i4').reshape(2, 3)
	// (numpy ≥ 1.0: header length 118 = 'v', data at byte 128).
	want := "\x93NUMPY\x01\x00v\x00{'descr': '<i4', 'fortran_order': False, 'shape': (2, 3), }"
	b := npyFile(1, "{'descr': '<i4', 'fortran_order': False, 'shape': (2, 3), }", npyData("<i4", []float64{0, 1, 2, 3, 4, 5}))
	if !bytes.HasPrefix(b, []byte(want)) || len(b) != 128+24 || b[127] != '\n' {
		t.Fatalf("test helper does not write what numpy writes: %q", b[:min(len(b), 130)])
	}
	m, err := ReadNPY(bytes.NewReader(b), "arange.npy")
	if err != nil {
		t.Fatal(err)
	}
	if m.Rows != 2 || m.Cols != 3 || fmt.Sprint(m.Data) != "[0 1 2 3 4 5]" || m.Names != nil || m.Lines != nil {
		t.Fatalf("read %d×%d %v", m.Rows, m.Cols, m.Data)
	}
}

func TestReadNPYTypes(t *testing.T) {
	// The matrix [[1, 2, 3], [4, 5, 6]], signed types with negative values.
	c := []float64{1, 2, 3, 4, 5, 6}
	neg := []float64{-1, 2, -3, 4, -5, 6}
	for _, descr := range []string{"<f4", ">f4", "<f8", ">f8", "|i1", "<i2", ">i2", "<i4", ">i4", "<i8", ">i8", "|u1", "<u1", "<u2", ">u2", "<u4", ">u4", "<u8", ">u8"} {
		for _, major := range []byte{1, 2, 3} {
			for _, fortran := range []bool{false, true} {
				name := fmt.Sprintf("%s/v%d/fortran=%v", descr, major, fortran)
				t.Run(name, func(t *testing.T) {
					want := c
					if descr[1] != 'u' {
						want = neg
					}
					elems := want
					order := "False"
					if fortran { // column-major: columns one after the other
						elems = []float64{want[0], want[3], want[1], want[4], want[2], want[5]}
						order = "True"
					}
					dict := fmt.Sprintf("{'descr': '%s', 'fortran_order': %s, 'shape': (2, 3), }", descr, order)
					m, err := ReadNPY(bytes.NewReader(npyFile(major, dict, npyData(descr, elems))), "t.npy")
					if err != nil {
						t.Fatal(err)
					}
					if m.Rows != 2 || m.Cols != 3 || fmt.Sprint(m.Data) != fmt.Sprint(want) {
						t.Fatalf("read %d×%d %v, want 2×3 %v", m.Rows, m.Cols, m.Data, want)
					}
				})
			}
		}
	}
	// 1-D: one column; also the spacing and quoting numpy may use.
	for _, dict := range []string{
		"{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }",
		`{"descr":"<f8","fortran_order":True,"shape":(3L,)}`,
	} {
		m, err := ReadNPY(bytes.NewReader(npyFile(1, dict, npyData("<f8", []float64{0.5, -1, 2}))), "v.npy")
		if err != nil {
			t.Fatal(err)
		}
		if m.Rows != 3 || m.Cols != 1 || fmt.Sprint(m.Data) != "[0.5 -1 2]" {
			t.Fatalf("%s: read %d×%d %v", dict, m.Rows, m.Cols, m.Data)
		}
	}
	// Extremes of the integer types.
	b := npyFile(1, "{'descr': '<u8', 'fortran_order': False, 'shape': (1,), }", binary.LittleEndian.AppendUint64(nil, math.MaxUint64))
	if m, err := ReadNPY(bytes.NewReader(b), "u.npy"); err != nil || m.Data[0] != 18446744073709551615.0 {
		t.Fatalf("uint64 max: %v %v", m, err)
	}
}

func TestReadNPYErrors(t *testing.T) {
	good := func(dict string, data []byte) []byte { return npyFile(1, dict, data) }
	f8 := func(n int) []byte { return npyData("<f8", make([]float64, n)) }
	long := npyFile(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }", f8(2))
	long = append(long, 0)
	v1len := npyFile(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }", f8(1))
	binary.LittleEndian.PutUint16(v1len[8:], 60000)
	cases := []struct {
		name string
		in   []byte
		want string
	}{
		{"empty", nil, "offset 0: not a .npy file: 0 bytes"},
		{"magic", []byte("\x93NUMPZ\x01\x00\x00\x00"), `offset 0: not a .npy file: it does not start with the magic string`},
		{"version 4", append([]byte(npyMagic), 4, 0, 0, 0), "offset 6: unsupported .npy version 4.0"},
		{"version 1.1", append([]byte(npyMagic), 1, 1, 0, 0), "offset 6: unsupported .npy version 1.1"},
		{"short length", append([]byte(npyMagic), 2, 0, 1), "offset 9: truncated: the file ends inside the header length"},
		{"truncated header", v1len, "truncated: the header is 60000 bytes but the file ends after"},
		{"not a dict", good("['descr']", nil), `offset 10: header: '[' where '{' was expected`},
		{"missing key", good("{'descr': '<f8', 'shape': (1,), }", f8(1)), `header: key "fortran_order" is missing`},
		{"extra key", good("{'descr': '<f8', 'fortran_order': False, 'shape': (1,), 'x': 1}", f8(1)), `unknown key "x"`},
		{"repeated key", good("{'descr': '<f8', 'descr': '<f8', 'fortran_order': False, 'shape': (1,)}", f8(1)), `key "descr" repeats`},
		{"structured", good("{'descr': [('a', '<f8')], 'fortran_order': False, 'shape': (1,), }", f8(1)), "a structured dtype"},
		{"complex", good("{'descr': '<c16', 'fortran_order': False, 'shape': (1,), }", f8(2)), "complex values are not supported"},
		{"float16", good("{'descr': '<f2', 'fortran_order': False, 'shape': (1,), }", []byte{0, 0}), "float16 is not supported"},
		{"bool", good("{'descr': '|b1', 'fortran_order': False, 'shape': (1,), }", []byte{1}), "booleans are not supported"},
		{"string", good("{'descr': '<U3', 'fortran_order': False, 'shape': (1,), }", make([]byte, 12)), `dtype kind 'U'`},
		{"object", good("{'descr': '|O', 'fortran_order': False, 'shape': (1,), }", make([]byte, 8)), "not a numeric dtype"},
		{"native order", good("{'descr': '=f8', 'fortran_order': False, 'shape': (1,), }", f8(1)), "byte order '=' (native)"},
		{"bar on f8", good("{'descr': '|f8', 'fortran_order': False, 'shape': (1,), }", f8(1)), "byte order '|' (not applicable) on a 8-byte type"},
		{"fortran maybe", good("{'descr': '<f8', 'fortran_order': Maybe, 'shape': (1,), }", f8(1)), `'fortran_order' must be True or False, got "Maybe"`},
		{"negative dim", good("{'descr': '<f8', 'fortran_order': False, 'shape': (-1,), }", f8(1)), "a negative dimension"},
		{"3-D", good("{'descr': '<f8', 'fortran_order': False, 'shape': (1, 1, 1), }", f8(1)), "a 3-dimensional array"},
		{"0-D", good("{'descr': '<f8', 'fortran_order': False, 'shape': (), }", f8(1)), "a 0-dimensional array"},
		{"no elements", good("{'descr': '<f8', 'fortran_order': False, 'shape': (0, 3), }", nil), "the array has no elements"},
		{"huge", good("{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296), }", nil), "is too large"},
		{"truncated data", good("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 2), }", f8(3)), "offset 152: truncated: shape [2 2] of 8-byte elements needs 32 bytes of data, the file has 24"},
		{"trailing data", long, "offset 144: 1 bytes after the array data"},
		{"trailing text", good("{'descr': '<f8', 'fortran_order': False, 'shape': (1,), } x", f8(1)), `"x" after the header dict`},
		{"nan", good("{'descr': '<f8', 'fortran_order': True, 'shape': (2, 2), }", npyData("<f8", []float64{0, 0, math.NaN(), 0})), "offset 144: row 0, column 1 is NaN"},
		{"inf f4", good("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", npyData("<f4", []float64{0, math.Inf(-1)})), "row 1, column 0 is -Inf"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ReadNPY(bytes.NewReader(c.in), "bad.npy")
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "bad.npy: offset ") {
				t.Fatalf("error %v, want it to start with the file and offset and contain %q", err, c.want)
			}
			var me *MatrixError
			if !errors.As(err, &me) {
				t.Fatalf("error %T is not a *MatrixError", err)
			}
		})
	}
}

func TestNPYRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, shape := range [][2]int{{1, 1}, {7, 3}, {300, 17}} {
		m := &Matrix{Rows: shape[0], Cols: shape[1]}
		for i := 0; i < shape[0]*shape[1]; i++ {
			m.Data = append(m.Data, rng.NormFloat64())
		}
		var buf bytes.Buffer
		if err := WriteNPY(&buf, m); err != nil {
			t.Fatal(err)
		}
		if hl := int(binary.LittleEndian.Uint16(buf.Bytes()[8:])); (10+hl)%64 != 0 {
			t.Errorf("data start at %d, not on a 64-byte boundary", 10+hl)
		}
		got, err := ReadNPY(&buf, "rt.npy")
		if err != nil {
			t.Fatal(err)
		}
		if got.Rows != m.Rows || got.Cols != m.Cols || fmt.Sprint(got.Data) != fmt.Sprint(m.Data) {
			t.Fatalf("%v: round trip differs", shape)
		}
	}
}

// FuzzReadNPY feeds whole files to the reader: it must not panic, a success
// must be a consistent matrix of finite values, and WriteNPY of it must read
// back identically.
func FuzzReadNPY(f *testing.F) {
	f.Add(npyFile(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 2), }", npyData("<f8", []float64{1, 2, 3, 4})))
	f.Add(npyFile(2, "{'descr': '>i2', 'fortran_order': True, 'shape': (3,), }", npyData(">i2", []float64{-1, 0, 7})))
	f.Add(npyFile(3, "{'descr': '|u1', 'fortran_order': False, 'shape': (1, 2), }", []byte{0, 255}))
	f.Add(npyFile(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", npyData("<f4", []float64{math.NaN()})))
	f.Add(npyFile(1, "{'descr': [('a', '<f8')], 'fortran_order': False, 'shape': (1,), }", nil))
	f.Add([]byte("\x93NUMPY\x01\x00"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ReadNPY(bytes.NewReader(data), "fuzz.npy")
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
		var buf bytes.Buffer
		if err := WriteNPY(&buf, m); err != nil {
			t.Fatal(err)
		}
		got, err := ReadNPY(&buf, "again.npy")
		if err != nil {
			t.Fatal(err)
		}
		if got.Rows != m.Rows || got.Cols != m.Cols {
			t.Fatalf("round trip %d×%d, want %d×%d", got.Rows, got.Cols, m.Rows, m.Cols)
		}
		for i, v := range m.Data {
			if math.Float64bits(got.Data[i]) != math.Float64bits(v) {
				t.Fatalf("value %d: %v read back as %v", i, v, got.Data[i])
			}
		}
	})
}
