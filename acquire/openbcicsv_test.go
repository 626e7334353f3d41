package acquire

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// openBCIFixture writes a GUI v6 style CSV of rows samples of 4 EXG
// channels at 250 Hz with seeded values; the Cyton counter (0–255) skips
// skip[r] values before row r.
func openBCIFixture(rows int, skip map[int]int, seed uint64) string {
	rng := rand.New(rand.NewPCG(seed, 0xBC1))
	var sb strings.Builder
	sb.WriteString("%OpenBCI Raw EXG Data\n%Number of channels = 4\n%Sample Rate = 250 Hz\n%Board = OpenBCI_GUI$BoardCytonSerial\n")
	sb.WriteString("Sample Index, EXG Channel 0, EXG Channel 1, EXG Channel 2, EXG Channel 3, Accel Channel 0, Accel Channel 1, Accel Channel 2, Timestamp, Marker Channel, Timestamp (Formatted)\n")
	idx := 0
	for r := range rows {
		idx = (idx + skip[r]) % 256
		fmt.Fprintf(&sb, "%d", idx)
		for range 4 {
			fmt.Fprintf(&sb, ", %.2f", rng.NormFloat64()*50)
		}
		fmt.Fprintf(&sb, ", 0.040, 0.420, 0.238, %d,0, 12:00:53.%03d\n", 1557936053329+4*r, r%1000)
		idx++
	}
	return sb.String()
}

// TestOpenBCIRealFile checks the reader against the OpenBCI GUI v6 file of
// /work/shared/data/openbci (Cyton, 8 channels, 250 Hz, about 90 s), with
// the expected figures parsed here independently of the reader.
func TestOpenBCIRealFile(t *testing.T) {
	path := sharedData(t, "openbci", "OpenBCI_GUI-v6-blinks-jawClench-alpha.txt")
	c, err := ReadOpenBCICSV(path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rows [][]string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if l := sc.Text(); !strings.HasPrefix(l, "%") {
			rows = append(rows, strings.Split(l, ","))
		}
	}
	rows = rows[1:] // column names
	if c.Rows != len(rows) || c.Rows != 22490 || c.Channels != 8 || c.Rate != 250 || c.Board != "OpenBCI_GUI$BoardCytonSerial" ||
		c.Title != "OpenBCI Raw EXG Data" || len(c.Columns) != 25 {
		t.Fatalf("rows %d (file %d), channels %d, rate %v, board %q, title %q, %d columns",
			c.Rows, len(rows), c.Channels, c.Rate, c.Board, c.Title, len(c.Columns))
	}
	num := func(s string) float64 {
		v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	lost := 0
	for _, r := range []int{0, 1, 11111, 22489} {
		row := rows[r]
		if c.SampleIndex[r] != int64(num(row[0])) || c.Timestamp[r] != num(row[22]) {
			t.Errorf("row %d: index %d timestamp %v, file %s %s", r, c.SampleIndex[r], c.Timestamp[r], row[0], row[22])
		}
		for ch := range 8 {
			if got, want := c.EXG[r*8+ch], float32(num(row[1+ch])); got != want {
				t.Errorf("row %d channel %d: %v µV, file %v", r, ch, got, want)
			}
		}
		for a := range 3 {
			if got, want := c.Accel[r*3+a], float32(num(row[9+a])); got != want {
				t.Errorf("row %d accel %d: %v, file %v", r, a, got, want)
			}
		}
	}
	for r := 1; r < len(rows); r++ {
		if (int(num(rows[r][0]))-int(num(rows[r-1][0]))+256)%256 != 1 {
			lost++
		}
	}
	for r, l := range c.Lost {
		if l != 0 {
			t.Errorf("row %d: %d lost", r, l)
			break
		}
	}
	if lost != 0 {
		t.Errorf("the file has %d counter gaps, the reader none", lost)
	}
	if c.EXG[0] != 61379.36 || c.SampleIndex[len(rows)-1] != 217 {
		t.Errorf("first EXG %v, last index %d; want 61379.36 and 217 (the file's first and last lines)", c.EXG[0], c.SampleIndex[len(rows)-1])
	}
	if d := c.Duration(); d != 22490.0/250 {
		t.Errorf("duration %v s", d)
	}
}

func TestOpenBCILost(t *testing.T) {
	cases := []struct {
		name    string
		indices []int
		want    []int64
	}{
		{"contiguous wrapping", []int{254, 255, 0, 1}, []int64{0, 0, 0, 0}},
		{"gap across the wrap", []int{254, 255, 2, 3}, []int64{0, 0, 2, 0}},
		{"gap of 255", []int{10, 10}, []int64{0, 255}},
		{"monotonic index", []int{1000, 1001, 1005}, []int64{0, 0, 3}},
		{"reset of a monotonic index", []int{1000, 1001, 3}, []int64{0, 0, 0}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var sb strings.Builder
			sb.WriteString("%Sample Rate = 250 Hz\nSample Index, EXG Channel 0\n")
			for _, i := range c.indices {
				fmt.Fprintf(&sb, "%d, 1.5\n", i)
			}
			got, err := ParseOpenBCICSV(strings.NewReader(sb.String()), "lost.csv")
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got.Lost, c.want) {
				t.Fatalf("lost %v, want %v", got.Lost, c.want)
			}
		})
	}
}

func TestOpenBCIRejects(t *testing.T) {
	good := openBCIFixture(5, nil, 1)
	lines := strings.SplitAfter(good, "\n")
	with := func(line int, text string) string {
		l := append([]string(nil), lines...)
		l[line-1] = text
		return strings.Join(l, "")
	}
	cases := []struct {
		name, in string
		want     []string
	}{
		{"ragged row", with(8, "2, 1.0, 2.0\n"), []string{"bad.csv:8:", "3 fields", "11 columns"}},
		{"non-numeric", with(9, "3, 1.0, abc, 3, 4, 0, 0, 0, 1557936053341,0, 12:00:53.003\n"), []string{"bad.csv:9:", `column "EXG Channel 1"`, `"abc"`}},
		{"non-integer index", with(7, "1.5, 1, 2, 3, 4, 0, 0, 0, 1,0, x\n"), []string{"bad.csv:7:", `"Sample Index"`, "integer"}},
		{"no rate", with(3, "%Something = else\n"), []string{"bad.csv:1:", "Sample Rate"}},
		{"bad rate", with(3, "%Sample Rate = fast Hz\n"), []string{"bad.csv:3:", "sample rate"}},
		{"channel count", with(2, "%Number of channels = 8\n"), []string{"bad.csv:5:", "4 EXG columns", "8 channels"}},
		{"header after columns", with(6, "%late header\n"), []string{"bad.csv:6:", "header line"}},
		{"no samples", strings.Join(lines[:5], ""), []string{"no samples"}},
		{"no columns, no channel count", "%Sample Rate = 250 Hz\n0, 1, 2\n", []string{"bad.csv:2:", "no column names"}},
		{"no EXG column", "%Sample Rate = 250 Hz\nSample Index, Other\n0, 1\n", []string{"bad.csv:2:", "EXG"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseOpenBCICSV(strings.NewReader(c.in), "bad.csv")
			var ce *CSVError
			if !errors.As(err, &ce) {
				t.Fatalf("err %v, want a *CSVError", err)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestOpenBCIWithoutColumnNames(t *testing.T) {
	in := "%OpenBCI Raw EEG Data\n%Number of channels = 2\n%Sample Rate = 200.0 Hz\n0, 1.5, -2.5, 0.1\r\n1, 3, 4, 0.2\r\n"
	c, err := ParseOpenBCICSV(strings.NewReader(in), "old.txt")
	if err != nil {
		t.Fatal(err)
	}
	if c.Rows != 2 || c.Channels != 2 || c.Rate != 200 || !reflect.DeepEqual(c.EXG, []float32{1.5, -2.5, 3, 4}) || c.Accel != nil {
		t.Fatalf("%+v", c)
	}
}

// halves is a Reader returning b in two reads split at cut.
func halves(b []byte, cut int) io.Reader {
	cut = min(max(cut, 0), len(b))
	return io.MultiReader(&onceReader{b[:cut]}, &onceReader{b[cut:]})
}

type onceReader struct{ b []byte }

func (r *onceReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.b)
	r.b = r.b[n:]
	return n, nil
}

func FuzzParseOpenBCICSV(f *testing.F) {
	f.Add([]byte(openBCIFixture(6, map[int]int{3: 2}, 1)), 100)
	f.Add([]byte("%Number of channels = 1\n%Sample Rate = 250 Hz\n0, 1\n"), 10)
	f.Add([]byte("%Sample Rate = 250 Hz\nSample Index, EXG Channel 0, Timestamp (Formatted)\n0, 1, 12:00\n1,2\n"), 40)
	f.Fuzz(func(t *testing.T, b []byte, cut int) {
		whole, err1 := ParseOpenBCICSV(strings.NewReader(string(b)), "fuzz.csv")
		split, err2 := ParseOpenBCICSV(halves(b, cut), "fuzz.csv")
		if fmt.Sprint(err1) != fmt.Sprint(err2) || !reflect.DeepEqual(whole, split) {
			t.Fatalf("whole and split at %d differ:\n%v %+v\n%v %+v", cut, err1, whole, err2, split)
		}
		if err1 != nil {
			return
		}
		if len(whole.EXG) != whole.Rows*whole.Channels || len(whole.Lost) != whole.Rows || len(whole.SampleIndex) != whole.Rows {
			t.Fatalf("inconsistent: %d rows, %d channels, %d values", whole.Rows, whole.Channels, len(whole.EXG))
		}
	})
}
