package acquire

import (
	"encoding/csv"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// exportFixture records 30 blocks of one shape (3 channels of data, 2
// truth dims, spikes), a command after every fifth block and a stim event
// after every seventh, and returns the path and what was appended.
func exportFixture(t *testing.T, dir string) (string, []Block, [][]byte, []StimEvent) {
	t.Helper()
	path := filepath.Join(dir, "e.bcr")
	cfg := DefaultRecorderConfig()
	cfg.SyncInterval = time.Hour
	r, err := CreateRecording(path, []byte(`{"source":"test"}`), cfg)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(7, 7))
	var blocks []Block
	var cmds [][]byte
	var stims []StimEvent
	start := int64(0)
	for k := range 30 {
		b := Block{Seq: uint64(k), Start: start, Frames: 1 + rng.IntN(5), Rate: 1000, Channels: 3, TruthDims: 2, Arrived: 5e9 + int64(k)*1e6}
		b.Data = make([]float32, 3*b.Frames)
		for i := range b.Data {
			b.Data[i] = float32(rng.NormFloat64())
		}
		b.Truth = make([]float64, 2*b.Frames)
		for i := range b.Truth {
			b.Truth[i] = rng.NormFloat64()
		}
		b.Spikes = []Spike{{Sample: start, Channel: uint16(k % 3), Unit: 1}}
		start = b.End()
		blocks = append(blocks, b)
		if err := r.AppendBlock(&b); err != nil {
			t.Fatal(err)
		}
		if k%5 == 0 {
			c := []byte(`{"v":1,"seq":` + strconv.Itoa(k) + `,"state":{"px":1.5,"note":"a, \"quoted\" text"}}`)
			cmds = append(cmds, c)
			r.AppendCommand(c)
		}
		if k%7 == 0 {
			e := StimEvent{Seq: uint64(k), Sample: b.End(), Arrived: b.Arrived, Outcome: StimClipped}
			for j := range k % 3 {
				e.Pulses = append(e.Pulses, StimPulse{Electrode: int32(j), Count: 2, AmplitudeUA: 12.5, PhaseUS: 200, GapUS: 50, FreqHz: 130})
			}
			stims = append(stims, e)
			r.AppendStim(&e)
		}
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	return path, blocks, cmds, stims
}

func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return rows
}

func TestExportRecordingCSV(t *testing.T) {
	dir := t.TempDir()
	path, blocks, cmds, stims := exportFixture(t, dir)
	rr, err := OpenRecording(path)
	if err != nil {
		t.Fatal(err)
	}
	defer rr.Close()
	out := filepath.Join(dir, "csv")
	sum, err := ExportRecordingCSV(rr, out)
	if err != nil {
		t.Fatal(err)
	}
	frames := 0
	for _, b := range blocks {
		frames += b.Frames
	}
	if sum.Torn != nil || sum.Blocks != 30 || sum.Frames != int64(frames) || sum.Spikes != 30 || sum.Commands != len(cmds) || sum.Stims != len(stims) || sum.Meta != 1 {
		t.Fatalf("summary %+v", sum)
	}
	f64 := func(s string) float64 {
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	br := readCSV(t, filepath.Join(out, "blocks.csv"))
	if strings.Join(br[0], ",") != "seq,start,frames,rate,channels,dropped,arrived_ns,spikes,truth_dims" || len(br) != 31 {
		t.Fatalf("blocks.csv header %v, %d rows", br[0], len(br))
	}
	for k, row := range br[1:] {
		b := blocks[k]
		want := []string{strconv.Itoa(k), strconv.FormatInt(b.Start, 10), strconv.Itoa(b.Frames), "1000", "3", "0",
			strconv.FormatInt(b.Arrived-blocks[0].Arrived, 10), "1", "2"}
		if strings.Join(row, ",") != strings.Join(want, ",") {
			t.Fatalf("blocks.csv row %d: %v, want %v", k, row, want)
		}
	}
	sr := readCSV(t, filepath.Join(out, "samples.csv"))
	if strings.Join(sr[0], ",") != "sample,ch_0,ch_1,ch_2,truth_0,truth_1" || len(sr) != frames+1 {
		t.Fatalf("samples.csv header %v, %d rows", sr[0], len(sr))
	}
	row := 1
	for _, b := range blocks {
		for f := range b.Frames {
			r := sr[row]
			row++
			if r[0] != strconv.FormatInt(b.Start+int64(f), 10) {
				t.Fatalf("samples.csv row %d: sample %s", row, r[0])
			}
			for c := range 3 {
				if float32(f64(r[1+c])) != b.Data[3*f+c] {
					t.Fatalf("sample %s ch %d: %s, want %v", r[0], c, r[1+c], b.Data[3*f+c])
				}
			}
			for d := range 2 {
				if f64(r[4+d]) != b.Truth[2*f+d] {
					t.Fatalf("sample %s truth %d: %s, want %v", r[0], d, r[4+d], b.Truth[2*f+d])
				}
			}
		}
	}
	sp := readCSV(t, filepath.Join(out, "spikes.csv"))
	if len(sp) != 31 || strings.Join(sp[5], ",") != strings.Join([]string{"4", strconv.FormatInt(blocks[4].Start, 10), "1", "1"}, ",") {
		t.Fatalf("spikes.csv: %d rows, row 5 %v", len(sp), sp[5])
	}
	cr := readCSV(t, filepath.Join(out, "commands.csv"))
	if len(cr) != len(cmds)+1 || cr[0][1] != "command" {
		t.Fatalf("commands.csv: %d rows", len(cr))
	}
	for i, c := range cmds {
		if cr[i+1][1] != string(c) {
			t.Fatalf("command %d: %q, want %q", i, cr[i+1][1], c)
		}
	}
	st := readCSV(t, filepath.Join(out, "stim.csv"))
	wantRows := 0
	for _, e := range stims {
		wantRows += max(1, len(e.Pulses))
	}
	if len(st) != wantRows+1 || len(st[1]) != 12 {
		t.Fatalf("stim.csv: %d rows of %d fields, want %d", len(st), len(st[1]), wantRows+1)
	}
	for _, r := range st[1:] {
		if r[4] != "2" || (r[5] != "" && (r[7] != "12.5" || r[8] != "200" || r[10] != "2" || r[11] != "130")) {
			t.Fatalf("stim.csv row %v", r)
		}
	}
	if m, _ := os.ReadFile(filepath.Join(out, "meta.json")); string(m) != `{"source":"test"}` {
		t.Fatalf("meta.json %q", m)
	}

	// A second export into the same folder refuses to overwrite.
	rr2, _ := OpenRecording(path)
	defer rr2.Close()
	if _, err := ExportRecordingCSV(rr2, out); !errors.Is(err, os.ErrExist) || !strings.Contains(err.Error(), "blocks.csv") {
		t.Fatalf("export over existing files: %v", err)
	}
}

func TestExportTornAndShapes(t *testing.T) {
	dir := t.TempDir()
	path, _, _, _ := exportFixture(t, dir)
	data, _ := os.ReadFile(path)
	torn := filepath.Join(dir, "torn.bcr")
	os.WriteFile(torn, data[:len(data)/2], 0o644)
	rr, err := OpenRecording(torn)
	if err != nil {
		t.Fatal(err)
	}
	defer rr.Close()
	sum, err := ExportRecordingCSV(rr, filepath.Join(dir, "torn"))
	if err != nil || !errors.Is(sum.Torn, ErrTornTail) || sum.Blocks == 0 || sum.Blocks >= 30 {
		t.Fatalf("torn export: %+v, %v", sum, err)
	}

	mixed := filepath.Join(dir, "mixed.bcr")
	writeTestRecording(t, mixed, 1, 10) // data on even blocks only
	rr2, _ := OpenRecording(mixed)
	defer rr2.Close()
	_, err = ExportRecordingCSV(rr2, filepath.Join(dir, "mixed"))
	if err == nil || !strings.Contains(err.Error(), "samples.csv needs one shape") || !strings.Contains(err.Error(), "offset") {
		t.Fatalf("mixed shapes: %v", err)
	}
}
