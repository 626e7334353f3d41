package acquire

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
)

// OpenBCI GUI raw CSV files ("OpenBCI Raw EXG Data", GUI v5 and v6; see
// the OpenBCI documentation, "OpenBCI GUI: Data Format", and
// OpenBCI_GUI/DataWriterODF.pde which writes them):
//
//	%OpenBCI Raw EXG Data
//	%Number of channels = 8
//	%Sample Rate = 250 Hz
//	%Board = OpenBCI_GUI$BoardCytonSerial
//	Sample Index, EXG Channel 0, …, EXG Channel 7, Accel Channel 0, …, Timestamp, Marker Channel, Timestamp (Formatted)
//	0, 61379.36, 49492.89, …, 1557936053329,0, 12:00:53.329
//
// "%" lines form the header; the first other line names the columns; then
// one row per sample, comma separated. EXG channels are in µV; Sample Index
// is the board's packet counter (0–255 on the Cyton, wrapping), so a gap in
// it is a lost packet; Timestamp is the host time the GUI received the
// sample (ms since the Unix epoch in GUI v6). Columns named "… (Formatted)"
// hold text; every other column must be numeric.

// OpenBCICSV is an OpenBCI GUI raw CSV file held in memory.
type OpenBCICSV struct {
	Title    string   // first header line without "%", e.g. "OpenBCI Raw EXG Data"
	Board    string   // "%Board = …", empty when absent
	Rate     float64  // "%Sample Rate = … Hz"
	Channels int      // EXG channels
	Columns  []string // column names as in the file, trimmed

	Rows        int       // samples (rows)
	SampleIndex []int64   // Sample Index column, per row
	EXG         []float32 // frame-major EXG in µV: EXG[row·Channels+c]
	Accel       []float32 // frame-major accelerometer (3 per row, g), or nil when absent
	Timestamp   []float64 // Timestamp column per row as written, or nil when absent
	Marker      []float64 // Marker Channel per row, or nil when absent

	// Lost[r] is the number of samples lost just before row r, from gaps
	// in the Sample Index (see Lost below); Lost[0] is 0.
	Lost []int64
}

// CSVError locates a problem in a text file.
type CSVError struct {
	File   string
	Line   int    // 1-based line number
	Column string // column name, or "" for the whole line
	Msg    string
}

func (e *CSVError) Error() string {
	if e.Column != "" {
		return fmt.Sprintf("%s:%d: column %q: %s", e.File, e.Line, e.Column, e.Msg)
	}
	return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
}

// ReadOpenBCICSV reads the OpenBCI GUI raw CSV file at path.
func ReadOpenBCICSV(path string) (*OpenBCICSV, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ParseOpenBCICSV(f, path)
}

// maxCSVLine bounds one line of an OpenBCI CSV file.
const maxCSVLine = 1 << 20

// ParseOpenBCICSV parses an OpenBCI GUI raw CSV file from r; name labels
// errors. A ragged row (a field count other than the header's) or a
// non-numeric value is an error naming the line and column. Sample counter
// gaps are counted in Lost: when every Sample Index lies in [0, 255] the
// counter is taken to wrap at 256 (the Cyton's packet counter), so a gap g
// is (index − previous − 1) mod 256 and gaps of 256 samples or more are
// invisible; otherwise a gap is index − previous − 1 when positive.
func ParseOpenBCICSV(r io.Reader, name string) (*OpenBCICSV, error) {
	c := &OpenBCICSV{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), maxCSVLine)
	line := 0
	bad := func(col, format string, args ...any) error {
		return &CSVError{File: name, Line: line, Column: col, Msg: fmt.Sprintf(format, args...)}
	}
	headerChannels := -1
	idxCol, accelCol, tsCol, markerCol := -1, -1, -1, -1
	var exgCols []int
	var text []bool // per column: text, not parsed
	var fields [][]byte
	var vals []float64
	haveColumns := false
	for sc.Scan() {
		line++
		b := bytes.TrimRight(sc.Bytes(), "\r")
		if len(bytes.TrimSpace(b)) == 0 {
			continue
		}
		if b[0] == '%' {
			if haveColumns || c.Rows > 0 {
				return nil, bad("", "header line (starting with %%) after the column names")
			}
			h := strings.TrimSpace(string(b[1:]))
			key, val, ok := strings.Cut(h, "=")
			key, val = strings.TrimSpace(key), strings.TrimSpace(val)
			switch {
			case line == 1 && !ok:
				c.Title = h
			case ok && key == "Number of channels":
				n, err := strconv.Atoi(val)
				if err != nil || n < 1 || n > 1024 {
					return nil, bad("", "%q: the channel count must be an integer in [1, 1024]", h)
				}
				headerChannels = n
			case ok && key == "Sample Rate":
				v, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(val, "Hz")), 64)
				if err != nil || !(v > 0) || math.IsInf(v, 0) {
					return nil, bad("", "%q: the sample rate must be a number > 0 followed by Hz", h)
				}
				c.Rate = v
			case ok && key == "Board":
				c.Board = val
			}
			continue
		}
		fields = splitCSVLine(fields[:0], b)
		if !haveColumns {
			haveColumns = true
			if _, err := strconv.ParseFloat(string(bytes.TrimSpace(fields[0])), 64); err != nil {
				// A column-name line.
				for _, f := range fields {
					c.Columns = append(c.Columns, string(bytes.TrimSpace(f)))
				}
				for i, col := range c.Columns {
					switch {
					case col == "Sample Index":
						idxCol = i
					case strings.HasPrefix(col, "EXG Channel "):
						exgCols = append(exgCols, i)
					case col == "Accel Channel 0":
						accelCol = i
					case col == "Timestamp":
						tsCol = i
					case col == "Marker Channel":
						markerCol = i
					}
					text = append(text, strings.Contains(col, "(Formatted)"))
				}
				if idxCol < 0 {
					return nil, bad("", "no \"Sample Index\" column among %q", c.Columns)
				}
				if len(exgCols) == 0 {
					return nil, bad("", "no \"EXG Channel\" column among %q", c.Columns)
				}
				if headerChannels >= 0 && headerChannels != len(exgCols) {
					return nil, bad("", "%d EXG columns, but the header says %d channels", len(exgCols), headerChannels)
				}
				if accelCol >= 0 && (accelCol+2 >= len(c.Columns) || c.Columns[accelCol+1] != "Accel Channel 1" || c.Columns[accelCol+2] != "Accel Channel 2") {
					return nil, bad("", "Accel Channel 0 is not followed by Accel Channel 1 and 2")
				}
				continue
			}
			// No column names (older GUI files): the sample index, then the
			// header's EXG channels.
			if headerChannels < 0 {
				return nil, bad("", "no column names and no \"%%Number of channels\" header to lay out the columns")
			}
			c.Columns = []string{"Sample Index"}
			idxCol = 0
			for i := range headerChannels {
				c.Columns = append(c.Columns, fmt.Sprintf("EXG Channel %d", i))
				exgCols = append(exgCols, i+1)
			}
			for range len(fields) - len(c.Columns) {
				c.Columns = append(c.Columns, "")
			}
			text = make([]bool, len(c.Columns))
		}
		if len(fields) != len(c.Columns) {
			return nil, bad("", "%d fields, the header has %d columns (a ragged row)", len(fields), len(c.Columns))
		}
		vals = vals[:0]
		for i, f := range fields {
			if text[i] {
				vals = append(vals, 0)
				continue
			}
			s := string(bytes.TrimSpace(f))
			v, err := strconv.ParseFloat(s, 64)
			if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, bad(c.Columns[i], "%q is not a finite number", s)
			}
			if i == idxCol && (v != math.Trunc(v) || math.Abs(v) > 1<<53) {
				return nil, bad(c.Columns[i], "%q is not an integer sample index", s)
			}
			vals = append(vals, v)
		}
		c.SampleIndex = append(c.SampleIndex, int64(vals[idxCol]))
		for _, i := range exgCols {
			c.EXG = append(c.EXG, float32(vals[i]))
		}
		if accelCol >= 0 {
			c.Accel = append(c.Accel, float32(vals[accelCol]), float32(vals[accelCol+1]), float32(vals[accelCol+2]))
		}
		if tsCol >= 0 {
			c.Timestamp = append(c.Timestamp, vals[tsCol])
		}
		if markerCol >= 0 {
			c.Marker = append(c.Marker, vals[markerCol])
		}
		c.Rows++
	}
	if err := sc.Err(); err != nil {
		line++
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, bad("", "line longer than %d bytes", maxCSVLine)
		}
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if c.Rate == 0 {
		return nil, &CSVError{File: name, Line: 1, Msg: "no \"%Sample Rate = … Hz\" header line"}
	}
	if c.Rows == 0 {
		return nil, &CSVError{File: name, Line: line, Msg: "no samples"}
	}
	c.Channels = len(exgCols)
	c.Lost = make([]int64, c.Rows)
	wrap := true
	for _, v := range c.SampleIndex {
		if v < 0 || v > 255 {
			wrap = false
			break
		}
	}
	for r := 1; r < c.Rows; r++ {
		d := c.SampleIndex[r] - c.SampleIndex[r-1] - 1
		if wrap {
			d = ((d % 256) + 256) % 256
		}
		c.Lost[r] = max(0, d)
	}
	return c, nil
}

// splitCSVLine splits b at commas, appending the fields to dst. OpenBCI GUI
// files never quote fields.
func splitCSVLine(dst [][]byte, b []byte) [][]byte {
	for {
		i := bytes.IndexByte(b, ',')
		if i < 0 {
			return append(dst, b)
		}
		dst = append(dst, b[:i])
		b = b[i+1:]
	}
}

// Duration returns the span of the samples in seconds on the sample clock,
// lost samples included.
func (c *OpenBCICSV) Duration() float64 {
	n := int64(c.Rows)
	for _, l := range c.Lost {
		n += l
	}
	return float64(n) / c.Rate
}
