package acquire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

// sharedData returns the path of a file under /work/shared/data (the
// repository's sibling "shared" folder), skipping the test when absent.
func sharedData(t testing.TB, parts ...string) string {
	t.Helper()
	p := filepath.Join(append([]string{"..", "..", "shared", "data"}, parts...)...)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("test data %s absent (%v): the shared data folder is not next to the repository", p, err)
	}
	return p
}

// edfFixture returns a small EDF-family file description and seeded data:
// three signals of 2, 4 and 4 samples per record (mixed rates), five
// records of 0.5 s, and (for EDF+/BDF+) three annotations.
func edfFixture(format EDFFormat, discontinuous bool, seed uint64) (*EDF, [][]float64) {
	rng := rand.New(rand.NewPCG(seed, 0xEDF))
	e := &EDF{
		Format: format, Discontinuous: discontinuous,
		Patient: "MCH-0234567 F 02-MAY-1951 Haagse_Harry", Recording: "Startdate 02-MAR-2002 PSG-1234/2002 NN Telemetry03",
		Start:          time.Date(2002, 3, 2, 13, 5, 9, 0, time.UTC),
		RecordDuration: 0.5,
		Signals: []EDFSignal{
			{Label: "EEG Fpz-Cz", Transducer: "AgAgCl electrode", PhysicalDimension: "uV", PhysicalMin: -440, PhysicalMax: 510, Prefilter: "HP:0.1Hz LP:75Hz", SamplesPerRecord: 4},
			{Label: "EEG Pz-Oz", PhysicalDimension: "mV", PhysicalMin: 2, PhysicalMax: -2, DigitalMin: -2048, DigitalMax: 2047, SamplesPerRecord: 4}, // inverted physical range
			{Label: "Temp rectal", PhysicalDimension: "degC", SamplesPerRecord: 2},                                                                   // auto range
		},
	}
	if discontinuous {
		e.RecordStarts = []float64{0, 0.5, 2, 2.5, 4.25}
	}
	records := 5
	data := make([][]float64, len(e.Signals))
	for i, s := range e.Signals {
		lo, hi := min(s.PhysicalMin, s.PhysicalMax), max(s.PhysicalMin, s.PhysicalMax)
		if lo == 0 && hi == 0 {
			lo, hi = 36.5, 37.5
		}
		data[i] = make([]float64, records*s.SamplesPerRecord)
		for k := range data[i] {
			data[i][k] = lo + rng.Float64()*(hi-lo)
		}
	}
	if format.plus() {
		e.Annotations = []Annotation{
			{Onset: 0, Duration: 0.25, Text: "Lights off"},
			{Onset: 0.75, Duration: -1, Text: "Arousal ± 1"}, // UTF-8 text (EDF+ allows it in TALs)
			{Onset: 2.125, Duration: 1.5, Text: "Sleep stage 2"},
		}
	}
	return e, data
}

func encodeEDF(t testing.TB, e *EDF, data [][]float64) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteEDF(&buf, e, data); err != nil {
		t.Fatalf("WriteEDF: %v", err)
	}
	return buf.Bytes()
}

func decodeEDFBytes(b []byte, name string) (*EDF, error) {
	return DecodeEDF(bytes.NewReader(b), int64(len(b)), name)
}

func TestEDFRoundTrip(t *testing.T) {
	cases := []struct {
		format        EDFFormat
		discontinuous bool
	}{
		{FormatEDF, false}, {FormatEDFPlus, false}, {FormatEDFPlus, true},
		{FormatBDF, false}, {FormatBDFPlus, false}, {FormatBDFPlus, true},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%v/discontinuous=%v", c.format, c.discontinuous), func(t *testing.T) {
			in, data := edfFixture(c.format, c.discontinuous, 1)
			raw := encodeEDF(t, in, data)
			out, err := decodeEDFBytes(raw, "roundtrip.edf")
			if err != nil {
				t.Fatal(err)
			}
			if out.Format != c.format || out.Discontinuous != c.discontinuous || out.Records != 5 || out.RecordDuration != 0.5 ||
				!out.Start.Equal(in.Start) || out.Patient != in.Patient || out.Recording != in.Recording {
				t.Fatalf("header: format %v discontinuous %v records %d duration %v start %v patient %q recording %q",
					out.Format, out.Discontinuous, out.Records, out.RecordDuration, out.Start, out.Patient, out.Recording)
			}
			wantBytes := out.HeaderBytes + out.Records*out.RecordBytes
			if len(raw) != wantBytes {
				t.Fatalf("file %d bytes, header says %d", len(raw), wantBytes)
			}
			if len(out.Signals) != len(in.Signals) {
				t.Fatalf("%d signals, want %d", len(out.Signals), len(in.Signals))
			}
			for i, s := range out.Signals {
				w := in.Signals[i]
				if s.Label != w.Label || s.PhysicalDimension != w.PhysicalDimension || s.SamplesPerRecord != w.SamplesPerRecord ||
					s.Transducer != w.Transducer || s.Prefilter != w.Prefilter || s.Rate != float64(w.SamplesPerRecord)/0.5 {
					t.Errorf("signal %d: %+v, want %+v", i, s, w)
				}
				got, err := out.Physical(i)
				if err != nil {
					t.Fatal(err)
				}
				tol := math.Abs(s.Gain)/2*(1+1e-9) + 1e-12
				for k, x := range data[i] {
					if d := math.Abs(got[k] - x); d > tol {
						t.Fatalf("signal %d sample %d: read %v, wrote %v: error %v > half a step %v", i, k, got[k], x, d, tol)
					}
				}
			}
			if in.Signals[1].PhysicalMin > in.Signals[1].PhysicalMax != (out.Signals[1].Gain < 0) {
				t.Errorf("inverted physical range lost: gain %v", out.Signals[1].Gain)
			}
			if len(out.Annotations) != len(in.Annotations) {
				t.Fatalf("annotations %+v, want %+v", out.Annotations, in.Annotations)
			}
			for i, a := range out.Annotations {
				if a != in.Annotations[i] {
					t.Errorf("annotation %d: %+v, want %+v", i, a, in.Annotations[i])
				}
			}
			for r, s := range out.RecordStarts {
				want := float64(r) * 0.5
				if c.discontinuous {
					want = in.RecordStarts[r]
				}
				if s != want {
					t.Errorf("record %d starts at %v, want %v", r, s, want)
				}
			}
		})
	}
}

// TestEDFRealFile checks the reader against PhysioNet's eegmmidb S001R04
// (see /work/shared/data/README.md: EDF+C, 64 EEG channels at 160 Hz, 125
// records of 1 s, cues T0/T1/T2) with figures computed here from the raw
// bytes and from the companion .edf.event file, independently of the
// reader.
func TestEDFRealFile(t *testing.T) {
	path := sharedData(t, "eegmmidb", "S001R04.edf")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	e, err := ReadEDF(path)
	if err != nil {
		t.Fatal(err)
	}
	field := func(off, n int) string { return strings.TrimSpace(string(raw[off : off+n])) }
	ns, _ := strconv.Atoi(field(252, 4)) // 65: 64 EEG + the annotation signal
	if e.Format != FormatEDFPlus || e.Discontinuous || len(e.Signals) != 64 || ns != 65 {
		t.Fatalf("format %v discontinuous %v, %d ordinary signals of %d; want EDF+C, 64 of 65", e.Format, e.Discontinuous, len(e.Signals), ns)
	}
	// 125 records of 1 s (the dataset's documentation); the record size
	// follows from the file size alone.
	if e.Records != 125 || e.RecordDuration != 1 {
		t.Fatalf("%d records of %v s, want 125 of 1 s", e.Records, e.RecordDuration)
	}
	if got, want := e.RecordBytes, (len(raw)-256*(ns+1))/125; got != want {
		t.Fatalf("record bytes %d, from the file size %d", got, want)
	}
	// Per-signal physical and digital ranges, read straight from the
	// header columns (Kemp et al. 1992 layout): PhysioNet wrote ±8092 for
	// both, so physical = digital (gain 1).
	col := func(k, i int) string {
		off := 256
		for j := range k {
			off += ns * edfSignalFields[j].width
		}
		return field(off+i*edfSignalFields[k].width, edfSignalFields[k].width)
	}
	for i, s := range e.Signals {
		if col(3, i) != "-8092" || col(4, i) != "8092" || col(5, i) != "-8092" || col(6, i) != "8092" {
			t.Fatalf("signal %d raw ranges %s %s %s %s", i, col(3, i), col(4, i), col(5, i), col(6, i))
		}
		if s.PhysicalMin != -8092 || s.PhysicalMax != 8092 || s.DigitalMin != -8092 || s.DigitalMax != 8092 || s.Gain != 1 || s.Offset != 0 ||
			s.Rate != 160 || s.PhysicalDimension != "uV" || s.Label != col(0, i) {
			t.Fatalf("signal %d: %+v", i, s)
		}
	}
	if e.Signals[0].Label != "Fc5." || e.Signals[63].Label != "Iz.." {
		t.Errorf("labels %q … %q", e.Signals[0].Label, e.Signals[63].Label)
	}
	if want := time.Date(2009, 8, 12, 16, 15, 0, 0, time.UTC); !e.Start.Equal(want) {
		t.Errorf("start %v, want %v", e.Start, want)
	}
	// Samples: signal c of record r starts at header + r·record + c·160·2.
	phys := make([]float64, 160*125)
	for _, c := range []int{0, 31, 63} {
		if n, err := e.ReadPhysical(phys, c, 0); err != nil || n != len(phys) {
			t.Fatalf("ReadPhysical(%d): %d, %v", c, n, err)
		}
		for _, k := range []int{0, 1, 159, 160, 9999, 19999} {
			r, j := k/160, k%160
			off := e.HeaderBytes + r*e.RecordBytes + c*320 + 2*j
			if want := float64(int16(binary.LittleEndian.Uint16(raw[off:]))); phys[k] != want {
				t.Errorf("signal %d sample %d: %v, raw bytes give %v", c, k, phys[k], want)
			}
		}
	}
	frames := make([]float32, 64*400)
	if n, err := e.ReadFrames(frames, nil, 100); err != nil || n != 400 {
		t.Fatalf("ReadFrames: %d, %v", n, err)
	}
	one := make([]float64, 400)
	for _, c := range []int{0, 17, 63} {
		e.ReadPhysical(one, c, 100)
		for f := range 400 {
			if float64(frames[f*64+c]) != one[f] {
				t.Fatalf("frame %d channel %d: ReadFrames %v, ReadPhysical %v", f, c, frames[f*64+c], one[f])
			}
		}
	}
	// Annotations: the .edf.event file (PhysioNet's WFDB annotations of
	// the same run) holds one "Tn duration: d" string per cue.
	ev, err := os.ReadFile(sharedData(t, "eegmmidb", "S001R04.edf.event"))
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	total := 0.0
	for i, a := range e.Annotations {
		counts[a.Text]++
		total += a.Duration
		if i > 0 && a.Onset <= e.Annotations[i-1].Onset {
			t.Errorf("annotation %d onset %v not after %v", i, a.Onset, e.Annotations[i-1].Onset)
		}
		want := 4.1 // T1, T2 in the event file: "duration: 4.1"; T0: 4.2
		if a.Text == "T0" {
			want = 4.2
		}
		if a.Duration != want {
			t.Errorf("annotation %d %q: duration %v, want %v", i, a.Text, a.Duration, want)
		}
	}
	for _, cue := range []string{"T0", "T1", "T2"} {
		if want := bytes.Count(ev, []byte(cue+" duration")); counts[cue] != want {
			t.Errorf("%s: %d annotations, the event file has %d", cue, counts[cue], want)
		}
	}
	if len(e.Annotations) != 30 || counts["T0"] != 15 || counts["T1"]+counts["T2"] != 15 {
		t.Errorf("annotations %v (%d), want 30: 15 T0 and 15 T1/T2", counts, len(e.Annotations))
	}
	if e.Annotations[0].Onset != 0 || e.Annotations[0].Text != "T0" || total > 125 {
		t.Errorf("first annotation %+v, total duration %v s", e.Annotations[0], total)
	}
	for r, s := range e.RecordStarts {
		if s != float64(r) {
			t.Fatalf("record %d starts at %v s", r, s)
		}
	}
}

func TestEDFOpenMatchesRead(t *testing.T) {
	in, data := edfFixture(FormatBDFPlus, false, 3)
	path := filepath.Join(t.TempDir(), "x.bdf")
	if err := WriteEDFFile(path, in, data); err != nil {
		t.Fatal(err)
	}
	if err := WriteEDFFile(path, in, data); !errors.Is(err, os.ErrExist) {
		t.Fatalf("second WriteEDFFile: %v, want an error: existing files are never overwritten", err)
	}
	a, err := ReadEDF(path)
	if err != nil {
		t.Fatal(err)
	}
	b, err := OpenEDF(path)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	for i := range a.Signals {
		x, _ := a.Physical(i)
		y, err := b.Physical(i)
		if err != nil {
			t.Fatal(err)
		}
		for k := range x {
			if x[k] != y[k] {
				t.Fatalf("signal %d sample %d: %v vs %v", i, k, x[k], y[k])
			}
		}
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestEDFRejects(t *testing.T) {
	in, data := edfFixture(FormatEDFPlus, false, 2)
	good := encodeEDF(t, in, data)
	g, err := decodeEDFBytes(good, "good.edf")
	if err != nil {
		t.Fatal(err)
	}
	mut := func(f func(b []byte) []byte) []byte { return f(append([]byte(nil), good...)) }
	put := func(b []byte, off int, s string) { copy(b[off:], s+strings.Repeat(" ", 8-len(s))) }
	ns := len(g.Signals) + 1
	// Offsets of per-signal columns (Kemp et al. 1992).
	colOff := func(k, i int) int {
		off := 256
		for j := range k {
			off += ns * edfSignalFields[j].width
		}
		return off + i*edfSignalFields[k].width
	}
	annot := g.all[g.annots[0]]
	annotOff := func(r int) int { return g.HeaderBytes + r*g.RecordBytes + annot.byteOff }
	cases := []struct {
		name string
		data []byte
		want []string
	}{
		{"short", good[:100], []string{"offset 0", "fixed header"}},
		{"truncated by one byte", good[:len(good)-1], []string{"number of data records", "truncated: 4 complete records"}},
		{"truncated header", good[:300], []string{"number of signals", "header"}},
		{"trailing byte", append(append([]byte(nil), good...), 0), []string{"1 bytes of trailing data"}},
		{"version", mut(func(b []byte) []byte { b[0] = '1'; return b }), []string{"offset 0: version"}},
		{"header bytes", mut(func(b []byte) []byte { put(b, 184, "1024"); return b }), []string{"offset 184: header bytes"}},
		{"records not a number", mut(func(b []byte) []byte { put(b, 236, "five"); return b }), []string{"offset 236: number of data records"}},
		{"records unknown, partial", append(mut(func(b []byte) []byte { put(b, 236, "-1"); return b }), 1, 2), []string{"-1 (unknown)", "2 bytes over"}},
		{"duration", mut(func(b []byte) []byte { put(b, 244, "1e1"); return b }), []string{"offset 244: duration"}},
		{"signals", mut(func(b []byte) []byte { copy(b[252:], "0   "); return b }), []string{"offset 252: number of signals"}},
		{"date", mut(func(b []byte) []byte { put(b, 168, "31.02.02"); return b }), []string{"offset 168: start date and time"}},
		{"digital minimum", mut(func(b []byte) []byte { put(b, colOff(5, 1), "abc"); return b }), []string{fmt.Sprintf("offset %d: signal 1 digital minimum", colOff(5, 1)), `"abc"`}},
		{"digital order", mut(func(b []byte) []byte { put(b, colOff(5, 0), "40000"); return b }), []string{"signal 0 digital minimum", "must be below"}},
		{"digital range", mut(func(b []byte) []byte { put(b, colOff(6, 0), "40000"); return b }), []string{"signal 0 digital range", "16-bit"}},
		{"physical equal", mut(func(b []byte) []byte { put(b, colOff(3, 0), "510"); return b }), []string{"signal 0 physical minimum", "equals"}},
		{"several fields at once", mut(func(b []byte) []byte { put(b, colOff(3, 0), "510"); put(b, colOff(5, 1), "x"); return b }),
			[]string{"signal 0 physical minimum", "signal 1 digital minimum"}},
		{"samples per record", mut(func(b []byte) []byte { put(b, colOff(8, 2), "0"); return b }), []string{"signal 2 samples per record"}},
		{"no time keeping", mut(func(b []byte) []byte { copy(b[annotOff(2):], "+1\x14Oops\x14\x00"); return b }),
			[]string{fmt.Sprintf("offset %d: record 2 annotations", annotOff(2)), "time-keeping"}},
		{"not contiguous", mut(func(b []byte) []byte { copy(b[annotOff(3):], "+9.5\x14\x14\x00"); return b }), // as long as the "+1.5" it replaces
			[]string{"record 3 time keeping", "continuous (+C)"}},
		{"onset without sign", mut(func(b []byte) []byte { copy(b[annotOff(0):], "0\x14\x14\x00"); return b }), []string{"record 0 annotations", "onset"}},
		{"unterminated TAL", mut(func(b []byte) []byte {
			n := annot.SamplesPerRecord * 2
			copy(b[annotOff(1):], "+0.5\x14\x14"+strings.Repeat("x", n))
			return b[:len(good)]
		}), []string{"record 1 annotations", "not terminated"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := decodeEDFBytes(c.data, "bad.edf")
			if err == nil {
				t.Fatal("no error")
			}
			if !errors.Is(err, ErrEDF) {
				t.Errorf("%v does not wrap ErrEDF", err)
			}
			for _, w := range append(c.want, "bad.edf") {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestWriteEDFReportsEveryProblem(t *testing.T) {
	e := &EDF{
		Format: FormatEDF, RecordDuration: 1.0 / 3,
		Annotations: []Annotation{{Onset: 1, Text: "x"}},
		Signals: []EDFSignal{
			{Label: "a label longer than sixteen", SamplesPerRecord: 2},
			{Label: "Fp1", PhysicalDimension: "µV", SamplesPerRecord: 2, DigitalMin: 5, DigitalMax: 5},
			{Label: "Fp2", SamplesPerRecord: 0},
		},
	}
	data := [][]float64{{1, 2, 3}, {1, math.NaN()}, {}}
	err := WriteEDF(io.Discard, e, data)
	if err == nil {
		t.Fatal("no error")
	}
	for _, w := range []string{
		"annotations: EDF cannot hold annotations", "data[0]: 3 samples are not a whole number",
		"signals[2].samples_per_record: must be ≥ 1", "record_duration: 0.3333333333333333 cannot be written exactly",
		"signals[0].label: \"a label longer than sixteen\" is longer than 16", "signals[1].physical_dimension:",
		"signals[1].digital_min: [5, 5]", "data[1][1]: NaN cannot be written",
	} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error lacks %q:\n%v", w, err)
		}
	}
}

func TestEDFNumber(t *testing.T) {
	cases := []struct {
		v    float64
		dir  int
		want string
		ok   bool
	}{
		{0, 0, "0", true},
		{-8092, -1, "-8092", true},
		{0.5, 0, "0.5", true},
		{-440.123456789, -1, "-440.124", true}, // lower limits round down
		{510.123456789, 1, "510.1235", true},   // upper limits round up
		{1.0 / 3, 0, "0.333333", true},
		{12345678, 0, "12345678", true},
		{-1234567.8, -1, "-1234568", true},
		{123456789, 0, "", false},
		{math.Inf(1), 0, "", false},
		{-0.0000001, 0, "0", true},
	}
	for _, c := range cases {
		got, ok := edfNumber(c.v, c.dir)
		if got != c.want || ok != c.ok {
			t.Errorf("edfNumber(%v, %d) = %q, %v; want %q, %v", c.v, c.dir, got, ok, c.want, c.ok)
		}
	}
}

func TestParseTALs(t *testing.T) {
	type ann struct {
		onset, dur float64
		text       string
	}
	cases := []struct {
		name  string
		in    string
		keep  bool
		start float64
		want  []ann
		err   string
	}{
		{"time keeping only", "+0\x14\x14\x00\x00\x00", true, 0, nil, ""},
		{"Kemp & Olivan example", "+180\x14Lights off\x14Close door\x14\x00+1800.2\x1525.5\x14Apnea\x14\x00", false, 0,
			[]ann{{180, -1, "Lights off"}, {180, -1, "Close door"}, {1800.2, 25.5, "Apnea"}}, ""},
		{"time keeping with text", "+567\x14\x14Recording starts\x14\x00", true, 567, []ann{{567, -1, "Recording starts"}}, ""},
		{"negative onset", "-0.5\x15\x31\x14before\x14\x00", false, 0, []ann{{-0.5, 1, "before"}}, ""},
		{"missing time keeping", "+1\x14x\x14\x00", true, 0, nil, "time-keeping"},
		{"empty", "\x00\x00", true, 0, nil, "no time-keeping TAL"},
		{"no sign", "1\x14\x14\x00", false, 0, nil, "'+' or '-'"},
		{"no digits", "+\x14\x14\x00", false, 0, nil, "no digits"},
		{"bad separator", "+1\x15\x14x\x14\x00", false, 0, nil, "duration"},
		{"unterminated", "+1\x14abc", false, 0, nil, "not terminated"},
		{"no final zero", "+1\x14abc\x14", false, 0, nil, "not terminated by 0x00"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var got []ann
			start, err := parseTALs([]byte(c.in), c.keep, func(o, d float64, s string) { got = append(got, ann{o, d, s}) })
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("err %v, want %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if start != c.start || fmt.Sprint(got) != fmt.Sprint(c.want) {
				t.Fatalf("start %v annotations %v; want %v %v", start, got, c.start, c.want)
			}
		})
	}
}

func TestEDFReadAllocs(t *testing.T) {
	in, data := edfFixture(FormatBDFPlus, false, 4)
	e, err := decodeEDFBytes(encodeEDF(t, in, data), "a.bdf")
	if err != nil {
		t.Fatal(err)
	}
	sigs, _, err := e.FrameSignals([]int{0, 1})
	if err != nil {
		t.Fatal(err)
	}
	frames := make([]float32, 2*7)
	phys := make([]float64, 9)
	e.ReadFrames(frames, sigs, 0)
	e.ReadPhysical(phys, 0, 0)
	start := int64(0)
	allocs := testing.AllocsPerRun(100, func() {
		start = (start + 3) % 10
		if _, err := e.ReadFrames(frames, sigs, start); err != nil && err != io.EOF {
			t.Fatal(err)
		}
		if _, err := e.ReadPhysical(phys, 0, start); err != nil && err != io.EOF {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("ReadFrames + ReadPhysical allocate %v times per call", allocs)
	}
	if _, _, err := e.FrameSignals(nil); !errors.Is(err, ErrEDFRates) {
		t.Fatalf("mixed rates: %v, want ErrEDFRates", err)
	}
	n, err := e.ReadFrames(make([]float32, 2*30), sigs, 0)
	if n != 20 || err != io.EOF {
		t.Fatalf("reading past the end: %d frames, %v; want 20, io.EOF", n, err)
	}
}

func FuzzDecodeEDF(f *testing.F) {
	for _, c := range []struct {
		format EDFFormat
		disc   bool
	}{{FormatEDF, false}, {FormatEDFPlus, false}, {FormatEDFPlus, true}, {FormatBDF, false}, {FormatBDFPlus, true}} {
		e, data := edfFixture(c.format, c.disc, 9)
		var buf bytes.Buffer
		if err := WriteEDF(&buf, e, data); err != nil {
			f.Fatal(err)
		}
		f.Add(buf.Bytes())
	}
	f.Add([]byte("0       "))
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := decodeEDFBytes(b, "fuzz.edf")
		if err != nil {
			if !errors.Is(err, ErrEDF) {
				t.Fatalf("error %v does not wrap ErrEDF", err)
			}
			return
		}
		if got := e.HeaderBytes + e.Records*e.RecordBytes; got != len(b) {
			t.Fatalf("accepted a file of %d bytes whose header says %d", len(b), got)
		}
		for i := range e.Signals {
			x, err := e.Physical(i)
			if err != nil {
				t.Fatalf("Physical(%d): %v", i, err)
			}
			if int64(len(x)) != e.Samples(i) {
				t.Fatalf("signal %d: %d samples, want %d", i, len(x), e.Samples(i))
			}
		}
		if sigs, _, err := e.FrameSignals(nil); err == nil {
			dst := make([]float32, len(sigs)*int(min(e.Samples(0), 1000)))
			if _, err := e.ReadFrames(dst, sigs, 0); err != nil && err != io.EOF {
				t.Fatal(err)
			}
		}
	})
}

func BenchmarkEDFReadFrames(b *testing.B) {
	path := sharedData(b, "eegmmidb", "S001R04.edf")
	e, err := OpenEDF(path)
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	sigs, _, _ := e.FrameSignals(nil)
	dst := make([]float32, 64*160)
	b.ReportAllocs()
	b.SetBytes(int64(len(dst)) * 2)
	for i := 0; b.Loop(); i++ {
		if _, err := e.ReadFrames(dst, sigs, int64(i%125)*160); err != nil {
			b.Fatal(err)
		}
	}
}

// TestEDFRewriteRealFile reads PhysioNet's S001R04 and writes it again:
// the fixed header and every ordinary signal's header fields and samples
// come out byte for byte as PhysioNet wrote them (the annotation signal
// differs only in its size, which WriteEDF makes just large enough).
func TestEDFRewriteRealFile(t *testing.T) {
	path := sharedData(t, "eegmmidb", "S001R04.edf")
	orig, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	e, err := ReadEDF(path)
	if err != nil {
		t.Fatal(err)
	}
	data := make([][]float64, len(e.Signals))
	for i := range data {
		if data[i], err = e.Physical(i); err != nil {
			t.Fatal(err)
		}
	}
	out := encodeEDF(t, e, data)
	if !bytes.Equal(out[:256], orig[:256]) {
		t.Fatalf("fixed header\n got %q\nwant %q", out[:256], orig[:256])
	}
	back, err := decodeEDFBytes(out, "rewritten.edf")
	if err != nil {
		t.Fatal(err)
	}
	ns := len(e.Signals) + 1
	for k, f := range edfSignalFields {
		off := 256
		for j := range k {
			off += ns * edfSignalFields[j].width
		}
		n := len(e.Signals) * f.width // the ordinary signals' entries of this column
		if !bytes.Equal(out[off:off+n], orig[off:off+n]) {
			t.Errorf("column %q differs", f.name)
		}
	}
	for r := range e.Records {
		a := orig[e.HeaderBytes+r*e.RecordBytes:][:64*160*2]
		b := out[back.HeaderBytes+r*back.RecordBytes:][:64*160*2]
		if !bytes.Equal(a, b) {
			t.Fatalf("record %d: samples differ", r)
		}
	}
	if !reflect.DeepEqual(back.Annotations, e.Annotations) {
		t.Fatalf("annotations differ")
	}
}
