package decode

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/bits"
	"strconv"
)

// The NumPy .npy format (NumPy Enhancement Proposal 1, "A simple file format
// for NumPy arrays", and numpy.lib.format):
//
//	offset 0   6 bytes  magic "\x93NUMPY"
//	       6   1        major version: 1, 2 or 3
//	       7   1        minor version: 0
//	       8   2 (v1) or 4 (v2, v3) bytes: header length H, little-endian
//	       10 or 12     H bytes: a Python dict literal, padded with spaces and
//	                    ended by '\n', e.g.
//	                    {'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }
//	       then the array data, shape[0]·shape[1]·itemsize bytes
//
// descr is the dtype: a byte order ('<' little-endian, '>' big-endian, '|'
// not applicable) and a kind and size (f4, f8, i1, i2, i4, i8, u1, u2, u4,
// u8 are read); fortran_order says whether the data are column-major. The
// header is Latin-1 in versions 1 and 2 and UTF-8 in version 3 (which only
// differ for structured dtypes, not read here).

// npyMagic starts every .npy file.
const npyMagic = "\x93NUMPY"

// npyMaxHeader bounds the header length read (numpy itself refuses headers
// over 10 000 bytes by default).
const npyMaxHeader = 1 << 20

// ReadNPY reads a 1-D or 2-D NumPy array in the .npy format (versions 1.0,
// 2.0 and 3.0) from r; name labels errors. A 1-D array of n values is an
// n×1 matrix (one column); a 2-D array of shape (r, c) is r×c. Element
// types are float32 and float64 and the signed and unsigned integers of 1,
// 2, 4 and 8 bytes, little- or big-endian, in C (row-major) or Fortran
// (column-major) order; all become float64 (64-bit integers beyond 2⁵³ are
// rounded). Errors name the file and the byte offset: a missing magic
// string, another version, a header that is not the dict numpy writes
// (missing, extra or repeated keys, bad values), another dtype (structured,
// complex, float16, strings, objects, booleans), an array of 0 or more than
// 2 dimensions or with no elements, data cut short or followed by extra
// bytes, and a non-finite float value (with its row and column).
func ReadNPY(r io.Reader, name string) (*Matrix, error) {
	bad := func(off int64, format string, args ...any) error {
		return &MatrixError{File: name, Offset: off, Msg: fmt.Sprintf(format, args...)}
	}
	var pre [12]byte
	if n, err := io.ReadFull(r, pre[:8]); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, bad(int64(n), "not a .npy file: %d bytes, shorter than the 10-byte preamble", n)
		}
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if string(pre[:6]) != npyMagic {
		return nil, bad(0, `not a .npy file: it does not start with the magic string "\x93NUMPY"`)
	}
	major, minor := pre[6], pre[7]
	if major < 1 || major > 3 || minor != 0 {
		return nil, bad(6, "unsupported .npy version %d.%d (this reader takes 1.0, 2.0 and 3.0)", major, minor)
	}
	lenBytes := 2
	if major >= 2 {
		lenBytes = 4
	}
	if n, err := io.ReadFull(r, pre[8:8+lenBytes]); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, bad(8+int64(n), "truncated: the file ends inside the header length")
		}
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	var hlen uint32
	if lenBytes == 2 {
		hlen = uint32(binary.LittleEndian.Uint16(pre[8:10]))
	} else {
		hlen = binary.LittleEndian.Uint32(pre[8:12])
	}
	hoff := int64(8 + lenBytes)
	if hlen > npyMaxHeader {
		return nil, bad(8, "header length %d is over the %d bytes this reader accepts", hlen, npyMaxHeader)
	}
	hdr := make([]byte, hlen)
	if n, err := io.ReadFull(r, hdr); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, bad(hoff+int64(n), "truncated: the header is %d bytes but the file ends after %d", hlen, n)
		}
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	h, pos, err := parseNPYHeader(hdr)
	if err != nil {
		return nil, bad(hoff+int64(pos), "header: %v", err)
	}
	dt, err := parseNPYDescr(h.descr)
	if err != nil {
		return nil, bad(hoff, "header: 'descr' %q: %v", h.descr, err)
	}
	rows, cols := 0, 1
	switch len(h.shape) {
	case 1:
		rows = h.shape[0]
	case 2:
		rows, cols = h.shape[0], h.shape[1]
	default:
		return nil, bad(hoff, "header: 'shape' %v: a %d-dimensional array; this reader takes 1-D (one column) and 2-D (rows × columns) arrays", h.shape, len(h.shape))
	}
	if rows == 0 || cols == 0 {
		return nil, bad(hoff, "header: 'shape' %v: the array has no elements", h.shape)
	}
	hi, count := bits.Mul64(uint64(rows), uint64(cols))
	hi2, size := bits.Mul64(count, uint64(dt.size))
	doff := hoff + int64(hlen)
	if hi != 0 || hi2 != 0 || size > math.MaxInt64/2 {
		return nil, bad(hoff, "header: 'shape' %v is too large", h.shape)
	}
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if uint64(len(data)) < size {
		return nil, bad(doff+int64(len(data)), "truncated: shape %v of %d-byte elements needs %d bytes of data, the file has %d", h.shape, dt.size, size, len(data))
	}
	if uint64(len(data)) > size {
		return nil, bad(doff+int64(size), "%d bytes after the array data (shape %v of %d-byte elements is %d bytes)", uint64(len(data))-size, h.shape, dt.size, size)
	}
	m := &Matrix{Rows: rows, Cols: cols, Data: make([]float64, count)}
	for k := 0; k < int(count); k++ {
		v := dt.decode(data[k*dt.size:])
		// Element k of the file is (i, j) = (k/cols, k%cols) in C order,
		// (k%rows, k/rows) in Fortran order.
		i, j := k/cols, k%cols
		if h.fortran {
			i, j = k%rows, k/rows
		}
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, bad(doff+int64(k*dt.size), "row %d, column %d is %g; every value must be finite", i, j, v)
		}
		m.Data[i*cols+j] = v
	}
	return m, nil
}

// npyHeader is the content of a .npy header dict.
type npyHeader struct {
	descr   string
	fortran bool
	shape   []int
}

// npyParser parses the Python literal of a .npy header.
type npyParser struct {
	b   []byte
	pos int
}

func (p *npyParser) ws() {
	for p.pos < len(p.b) {
		switch p.b[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

func (p *npyParser) errf(format string, args ...any) error {
	return fmt.Errorf(format, args...)
}

// expect consumes c after optional spaces.
func (p *npyParser) expect(c byte) error {
	p.ws()
	if p.pos >= len(p.b) {
		return p.errf("ends where %q was expected", c)
	}
	if p.b[p.pos] != c {
		return p.errf("%q where %q was expected", p.b[p.pos], c)
	}
	p.pos++
	return nil
}

// peek returns the next non-space byte, or 0 at the end.
func (p *npyParser) peek() byte {
	p.ws()
	if p.pos >= len(p.b) {
		return 0
	}
	return p.b[p.pos]
}

// str parses a quoted string without escapes.
func (p *npyParser) str() (string, error) {
	q := p.peek()
	if q != '\'' && q != '"' {
		if q == 0 {
			return "", p.errf("ends where a string was expected")
		}
		return "", p.errf("%q where a quoted string was expected", q)
	}
	start := p.pos + 1
	end := bytes.IndexByte(p.b[start:], q)
	if end < 0 {
		return "", p.errf("unterminated string")
	}
	s := p.b[start : start+end]
	if bytes.IndexByte(s, '\\') >= 0 {
		return "", p.errf("escape sequences are not supported in header strings")
	}
	p.pos = start + end + 1
	return string(s), nil
}

// word parses an identifier (True, False).
func (p *npyParser) word() string {
	p.ws()
	start := p.pos
	for p.pos < len(p.b) && (p.b[p.pos] >= 'A' && p.b[p.pos] <= 'Z' || p.b[p.pos] >= 'a' && p.b[p.pos] <= 'z') {
		p.pos++
	}
	return string(p.b[start:p.pos])
}

// integer parses a non-negative decimal integer (with Python 2's optional
// L suffix, which numpy strips too).
func (p *npyParser) integer() (int, error) {
	p.ws()
	start := p.pos
	for p.pos < len(p.b) && p.b[p.pos] >= '0' && p.b[p.pos] <= '9' {
		p.pos++
	}
	if p.pos == start {
		if p.pos < len(p.b) && p.b[p.pos] == '-' {
			return 0, p.errf("a negative dimension")
		}
		return 0, p.errf("a dimension (a non-negative integer) was expected")
	}
	v, err := strconv.ParseInt(string(p.b[start:p.pos]), 10, 64)
	if err != nil {
		return 0, p.errf("dimension %s is too large", p.b[start:p.pos])
	}
	if p.pos < len(p.b) && p.b[p.pos] == 'L' {
		p.pos++
	}
	return int(v), nil
}

// tuple parses a tuple of dimensions: (), (n,), (r, c), ….
func (p *npyParser) tuple() ([]int, error) {
	if err := p.expect('('); err != nil {
		return nil, err
	}
	dims := []int{}
	for {
		if p.peek() == ')' {
			p.pos++
			return dims, nil
		}
		if len(dims) >= 32 {
			return nil, p.errf("more than 32 dimensions")
		}
		v, err := p.integer()
		if err != nil {
			return nil, err
		}
		dims = append(dims, v)
		switch p.peek() {
		case ',':
			p.pos++
		case ')':
		default:
			return nil, p.errf("',' or ')' expected in the shape")
		}
	}
}

// parseNPYHeader parses the header dict; on error it returns the byte
// position of the problem.
func parseNPYHeader(b []byte) (npyHeader, int, error) {
	p := &npyParser{b: b}
	var h npyHeader
	seen := map[string]bool{}
	if err := p.expect('{'); err != nil {
		return h, p.pos, err
	}
	for {
		if p.peek() == '}' {
			p.pos++
			break
		}
		key, err := p.str()
		if err != nil {
			return h, p.pos, err
		}
		if seen[key] {
			return h, p.pos, p.errf("key %q repeats", key)
		}
		seen[key] = true
		if err := p.expect(':'); err != nil {
			return h, p.pos, err
		}
		switch key {
		case "descr":
			if c := p.peek(); c == '[' || c == '{' {
				return h, p.pos, p.errf("a structured dtype (a list of fields); this reader takes plain numeric arrays")
			}
			if h.descr, err = p.str(); err != nil {
				return h, p.pos, err
			}
		case "fortran_order":
			switch w := p.word(); w {
			case "True":
				h.fortran = true
			case "False":
			default:
				return h, p.pos, p.errf("'fortran_order' must be True or False, got %q", w)
			}
		case "shape":
			if h.shape, err = p.tuple(); err != nil {
				return h, p.pos, err
			}
		default:
			return h, p.pos, p.errf("unknown key %q (a .npy header has exactly 'descr', 'fortran_order' and 'shape')", key)
		}
		switch p.peek() {
		case ',':
			p.pos++
		case '}':
		default:
			return h, p.pos, p.errf("',' or '}' expected after the value of %q", key)
		}
	}
	p.ws()
	if p.pos != len(b) {
		return h, p.pos, p.errf("%q after the header dict", bytes.TrimSpace(b[p.pos:min(len(b), p.pos+16)]))
	}
	for _, k := range []string{"descr", "fortran_order", "shape"} {
		if !seen[k] {
			return h, p.pos, fmt.Errorf("key %q is missing", k)
		}
	}
	return h, 0, nil
}

// npyType is a numeric element type of a .npy file.
type npyType struct {
	kind  byte // 'f', 'i', 'u'
	size  int
	order binary.ByteOrder
}

// parseNPYDescr parses a dtype string such as "<f8", ">i2", "|u1".
func parseNPYDescr(s string) (npyType, error) {
	const want = "want one of f4, f8, i1, i2, i4, i8, u1, u2, u4, u8 with a byte order '<', '>' (or '|' for one byte)"
	if len(s) < 3 {
		return npyType{}, errors.New("not a numeric dtype; " + want)
	}
	t := npyType{kind: s[1]}
	size, err := strconv.Atoi(s[2:])
	if err != nil {
		return npyType{}, errors.New("not a numeric dtype; " + want)
	}
	t.size = size
	switch {
	case t.kind == 'f' && (size == 4 || size == 8):
	case (t.kind == 'i' || t.kind == 'u') && (size == 1 || size == 2 || size == 4 || size == 8):
	case t.kind == 'f':
		return npyType{}, fmt.Errorf("float%d is not supported; %s", 8*size, want)
	case t.kind == 'c':
		return npyType{}, errors.New("complex values are not supported; " + want)
	case t.kind == 'b':
		return npyType{}, errors.New("booleans are not supported; " + want)
	default:
		return npyType{}, fmt.Errorf("dtype kind %q of %d bytes is not supported; %s", t.kind, size, want)
	}
	switch s[0] {
	case '<':
		t.order = binary.LittleEndian
	case '>':
		t.order = binary.BigEndian
	case '|':
		if size != 1 {
			return npyType{}, fmt.Errorf("byte order '|' (not applicable) on a %d-byte type; %s", size, want)
		}
		t.order = binary.LittleEndian
	case '=':
		return npyType{}, errors.New("byte order '=' (native) does not say how the file is laid out; " + want)
	default:
		return npyType{}, fmt.Errorf("unknown byte order %q; %s", s[0], want)
	}
	return t, nil
}

// decode returns the element at the start of b as a float64.
func (t npyType) decode(b []byte) float64 {
	switch t.kind {
	case 'f':
		if t.size == 4 {
			return float64(math.Float32frombits(t.order.Uint32(b)))
		}
		return math.Float64frombits(t.order.Uint64(b))
	case 'i':
		switch t.size {
		case 1:
			return float64(int8(b[0]))
		case 2:
			return float64(int16(t.order.Uint16(b)))
		case 4:
			return float64(int32(t.order.Uint32(b)))
		}
		return float64(int64(t.order.Uint64(b)))
	}
	switch t.size {
	case 1:
		return float64(b[0])
	case 2:
		return float64(t.order.Uint16(b))
	case 4:
		return float64(t.order.Uint32(b))
	}
	return float64(t.order.Uint64(b))
}

// WriteNPY writes m as a 2-D little-endian float64 array in C order, in the
// .npy format version 1.0 (2.0 if the header would not fit in 64 KiB), with
// the header padded so that the data start on a 64-byte boundary, as
// numpy.save writes it. Column names are not stored.
func WriteNPY(w io.Writer, m *Matrix) error {
	if err := m.validate(); err != nil {
		return err
	}
	dict := fmt.Sprintf("{'descr': '<f8', 'fortran_order': False, 'shape': (%d, %d), }", m.Rows, m.Cols)
	major, pre := byte(1), 10
	if len(dict)+1+pre > math.MaxUint16 {
		major, pre = 2, 12
	}
	total := (pre + len(dict) + 1 + 63) / 64 * 64
	hdr := make([]byte, 0, total+8*len(m.Data))
	hdr = append(hdr, npyMagic...)
	hdr = append(hdr, major, 0)
	hlen := total - pre
	if major == 1 {
		hdr = binary.LittleEndian.AppendUint16(hdr, uint16(hlen))
	} else {
		hdr = binary.LittleEndian.AppendUint32(hdr, uint32(hlen))
	}
	hdr = append(hdr, dict...)
	for len(hdr) < total-1 {
		hdr = append(hdr, ' ')
	}
	hdr = append(hdr, '\n')
	for _, v := range m.Data {
		hdr = binary.LittleEndian.AppendUint64(hdr, math.Float64bits(v))
	}
	_, err := w.Write(hdr)
	return err
}
