package decode

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Matrix is a dense table of numbers read from a file: Rows rows (time bins,
// or trials) of Cols columns (channels, or state dimensions), row-major in
// Data, with the column names of a header row when the file has one.
type Matrix struct {
	Rows, Cols int
	Data       []float64 // Rows×Cols, row-major: Data[i*Cols+j]
	Names      []string  // column names from a header, or nil
	// Lines holds the 1-based line of each row in a CSV file (nil for
	// other formats), so that later checks can name the line at fault.
	Lines []int
}

// Where returns the location of row i for an error message: "line L" for
// a CSV file, else "row i".
func (m *Matrix) Where(i int) string {
	if i < len(m.Lines) {
		return fmt.Sprintf("line %d", m.Lines[i])
	}
	return fmt.Sprintf("row %d", i)
}

// Row returns row i, sharing Data.
func (m *Matrix) Row(i int) []float64 { return m.Data[i*m.Cols : (i+1)*m.Cols : (i+1)*m.Cols] }

// Table returns the rows as a slice of slices sharing Data, the shape the
// Fit… functions take.
func (m *Matrix) Table() [][]float64 {
	t := make([][]float64, m.Rows)
	for i := range t {
		t[i] = m.Row(i)
	}
	return t
}

// ColumnIndex returns the index of the column named name, or -1.
func (m *Matrix) ColumnIndex(name string) int {
	for j, n := range m.Names {
		if n == name {
			return j
		}
	}
	return -1
}

// MatrixError locates a problem in a matrix file: the file, the 1-based line
// (CSV) or byte offset (.npy), and the 1-based column when one is at fault.
type MatrixError struct {
	File   string
	Line   int   // CSV line, 0 when not applicable
	Column int   // 1-based matrix column, 0 when not applicable
	Offset int64 // .npy byte offset, -1 when not applicable
	Msg    string
}

func (e *MatrixError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ": line %d", e.Line)
	}
	if e.Column > 0 {
		fmt.Fprintf(&b, ", column %d", e.Column)
	}
	if e.Offset >= 0 {
		fmt.Fprintf(&b, ": offset %d", e.Offset)
	}
	b.WriteString(": ")
	b.WriteString(e.Msg)
	return b.String()
}

// csvPeek is how much of a CSV file is examined to find the delimiter.
const csvPeek = 64 << 10

// ReadCSVMatrix reads a numeric table from CSV text; name labels errors.
//
// The format is what spreadsheets, numpy.savetxt and pandas write:
//
//   - Fields are separated by a comma, a semicolon or a tab, the same on
//     every line: the first line that is neither blank nor a comment decides
//     (a tab if it has one, else a semicolon if it has one, else a comma).
//   - Lines starting with '#' are comments and blank lines are skipped
//     (numpy.savetxt writes its header as a '#' comment); a UTF-8 byte-order
//     mark is ignored; fields may be quoted ("…"), and spaces around a field
//     are ignored; line ends may be LF or CRLF.
//   - The first row is a header, whose fields name the columns, when any of
//     its fields is text (not empty and not a number); otherwise it is data.
//   - Every data field is a finite decimal number (strconv.ParseFloat: 12,
//     -3.5, 1e-3); every row has as many fields as the first.
//
// Errors name the file, the line and, for a field, its column: a ragged row
// ("line 7: 3 fields, but line 1 has 4"), a field that is not a number or
// not finite (with a hint when it looks like a decimal comma), a file with
// no data rows, and malformed quoting.
func ReadCSVMatrix(r io.Reader, name string) (*Matrix, error) {
	br := bufio.NewReaderSize(r, csvPeek)
	if bom, _ := br.Peek(3); bytes.Equal(bom, []byte("\xef\xbb\xbf")) {
		br.Discard(3)
	}
	head, err := br.Peek(csvPeek)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	cr := csv.NewReader(br)
	cr.Comma = csvDelimiter(head)
	cr.Comment = '#'
	cr.FieldsPerRecord = -1 // checked here, to name the line and both counts
	cr.TrimLeadingSpace = true
	cr.ReuseRecord = true
	m := &Matrix{}
	firstLine := 0
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return nil, &MatrixError{File: name, Line: pe.Line, Offset: -1, Msg: pe.Err.Error()}
			}
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		line, _ := cr.FieldPos(0)
		if firstLine == 0 {
			firstLine = line
			m.Cols = len(rec)
			if isHeader(rec) {
				m.Names = make([]string, len(rec))
				for j, f := range rec {
					m.Names[j] = strings.TrimSpace(f)
				}
				continue
			}
		}
		if len(rec) != m.Cols {
			return nil, &MatrixError{File: name, Line: line, Offset: -1,
				Msg: fmt.Sprintf("%d fields, but line %d has %d (every row needs the same number of columns)", len(rec), firstLine, m.Cols)}
		}
		for j, f := range rec {
			v, err := parseCSVNumber(f)
			if err != nil {
				l, _ := cr.FieldPos(j)
				return nil, &MatrixError{File: name, Line: l, Column: j + 1, Offset: -1, Msg: err.Error()}
			}
			m.Data = append(m.Data, v)
		}
		m.Lines = append(m.Lines, line)
		m.Rows++
	}
	if m.Rows == 0 {
		if m.Names != nil {
			return nil, &MatrixError{File: name, Line: firstLine, Offset: -1, Msg: "a header but no data rows"}
		}
		return nil, &MatrixError{File: name, Offset: -1, Msg: "no data rows"}
	}
	return m, nil
}

// csvDelimiter returns the delimiter of the first record of head that is
// neither blank nor a comment: a tab if it has one outside quotes, else a
// semicolon if it has one, else a comma.
func csvDelimiter(head []byte) rune {
	// Skip blank and comment lines, as encoding/csv does.
	for len(head) > 0 {
		i := bytes.IndexByte(head, '\n')
		line := head
		if i >= 0 {
			line = head[:i]
		}
		if len(bytes.TrimSpace(line)) != 0 && line[0] != '#' {
			break
		}
		if i < 0 {
			return ','
		}
		head = head[i+1:]
	}
	tab, semi, quoted := false, false, false
	for _, c := range head {
		switch {
		case c == '"':
			quoted = !quoted
		case quoted:
		case c == '\n':
			return pickDelimiter(tab, semi)
		case c == '\t':
			tab = true
		case c == ';':
			semi = true
		}
	}
	return pickDelimiter(tab, semi)
}

func pickDelimiter(tab, semi bool) rune {
	switch {
	case tab:
		return '\t'
	case semi:
		return ';'
	}
	return ','
}

// isHeader reports whether a first row is a header: some field is text,
// that is neither empty nor a number (nor a number out of range).
func isHeader(rec []string) bool {
	for _, f := range rec {
		s := strings.TrimSpace(f)
		if s == "" {
			continue
		}
		if _, err := strconv.ParseFloat(s, 64); err != nil && !errors.Is(err, strconv.ErrRange) {
			return true
		}
	}
	return false
}

// parseCSVNumber parses one data field.
func parseCSVNumber(f string) (float64, error) {
	s := strings.TrimSpace(f)
	if s == "" {
		return 0, errors.New("empty field; every data field must be a number")
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		var ne *strconv.NumError
		if errors.As(err, &ne) && errors.Is(ne.Err, strconv.ErrRange) {
			return 0, fmt.Errorf("%q is out of the range of a float64", s)
		}
		if strings.Count(s, ",") == 1 {
			if _, err2 := strconv.ParseFloat(strings.Replace(s, ",", ".", 1), 64); err2 == nil {
				return 0, fmt.Errorf("%q is not a number (a decimal comma? write a decimal point)", s)
			}
		}
		return 0, fmt.Errorf("%q is not a number", s)
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("%q is not finite; every value must be a finite number", s)
	}
	return v, nil
}

// WriteCSVMatrix writes m as comma-separated text, with its header (every
// name quoted) when it has names, numbers in the shortest form that reads back to the same
// float64 (so that ReadCSVMatrix returns m exactly).
func WriteCSVMatrix(w io.Writer, m *Matrix) error {
	if err := m.validate(); err != nil {
		return err
	}
	if m.Names != nil && !isHeader(m.Names) {
		return errors.New("matrix: no column name is text (all are empty or numbers), so the header would read back as data")
	}
	bw := bufio.NewWriter(w)
	if m.Names != nil {
		// Every name quoted: then no name can read as a comment, a number,
		// or a delimiter.
		for j, n := range m.Names {
			if j > 0 {
				bw.WriteByte(',')
			}
			bw.WriteByte('"')
			bw.WriteString(strings.ReplaceAll(n, `"`, `""`))
			bw.WriteByte('"')
		}
		bw.WriteByte('\n')
	}
	var buf []byte
	for i := 0; i < m.Rows; i++ {
		buf = buf[:0]
		for j, v := range m.Row(i) {
			if j > 0 {
				buf = append(buf, ',')
			}
			buf = strconv.AppendFloat(buf, v, 'g', -1, 64)
		}
		buf = append(buf, '\n')
		if _, err := bw.Write(buf); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// validate checks that m is a well-formed, non-empty matrix of finite
// values.
func (m *Matrix) validate() error {
	if m.Rows < 1 || m.Cols < 1 || len(m.Data) != m.Rows*m.Cols {
		return fmt.Errorf("matrix: %d×%d with %d values", m.Rows, m.Cols, len(m.Data))
	}
	if m.Names != nil && len(m.Names) != m.Cols {
		return fmt.Errorf("matrix: %d names for %d columns", len(m.Names), m.Cols)
	}
	if i, ok := allFinite(m.Data); !ok {
		return fmt.Errorf("matrix: row %d, column %d is %g", i/m.Cols, i%m.Cols, m.Data[i])
	}
	return nil
}

// LoadMatrix reads the matrix file at path, choosing the reader by its
// extension: .npy is a NumPy array (ReadNPY); .csv, .tsv and .txt are text
// (ReadCSVMatrix). Errors name path.
func LoadMatrix(path string) (*Matrix, error) {
	ext := strings.ToLower(filepath.Ext(path))
	switch ext {
	case ".npy", ".csv", ".tsv", ".txt":
	default:
		return nil, fmt.Errorf("%s: unknown matrix file type %q (want .csv, .tsv, .txt or .npy)", path, ext)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if ext == ".npy" {
		return ReadNPY(f, path)
	}
	return ReadCSVMatrix(f, path)
}
