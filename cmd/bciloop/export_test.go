package main

import (
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestExportCommand(t *testing.T) {
	dir := t.TempDir()
	rec := filepath.Join(dir, "r.bcr")
	if code, _, stderr := run(t, "record", "../../configs/sim-cursor.yaml", "--out", rec, "--duration", "200ms", "--lockstep"); code != 0 {
		t.Fatalf("record: exit %d\n%s", code, stderr)
	}
	out := filepath.Join(dir, "csv")
	code, stdout, stderr := run(t, "export", rec, "--out", out)
	if code != 0 {
		t.Fatalf("export: exit %d\n%s", code, stderr)
	}
	var sum exportSummary
	if err := json.Unmarshal([]byte(stdout), &sum); err != nil {
		t.Fatalf("summary %q: %v", stdout, err)
	}
	// 200 ms of 1-ms blocks; the sim carries 4 truth values per frame and no samples.
	if sum.Blocks != 200 || sum.Frames != 200 || sum.Torn != "" || len(sum.Files) != 6 {
		t.Fatalf("summary %+v", sum)
	}
	f, err := os.Open(filepath.Join(out, "blocks.csv"))
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(f).ReadAll()
	f.Close()
	if err != nil || len(rows) != 201 || rows[200][0] != "199" {
		t.Fatalf("blocks.csv: %d rows, %v", len(rows), err)
	}
	spikes := 0
	for _, r := range rows[1:] {
		n, _ := strconv.Atoi(r[7])
		spikes += n
	}
	sp, _ := os.ReadFile(filepath.Join(out, "spikes.csv"))
	if got := strings.Count(string(sp), "\n") - 1; got != spikes || spikes != sum.Spikes {
		t.Fatalf("spikes.csv has %d rows, blocks.csv counts %d, summary %d", got, spikes, sum.Spikes)
	}
	samples, _ := os.ReadFile(filepath.Join(out, "samples.csv"))
	if lines := strings.Split(strings.TrimSpace(string(samples)), "\n"); len(lines) != 201 || lines[0] != "sample,truth_0,truth_1,truth_2,truth_3" {
		t.Fatalf("samples.csv: %d lines, header %q", len(lines), lines[0])
	}

	// A torn copy exports up to the tail, with a warning.
	data, _ := os.ReadFile(rec)
	torn := filepath.Join(dir, "torn.bcr")
	os.WriteFile(torn, data[:len(data)*2/3], 0o644)
	code, stdout, stderr = run(t, "export", torn, "--out", filepath.Join(dir, "torn"))
	if code != 0 || !strings.Contains(stderr, "torn tail at offset") || !strings.Contains(stdout, `"torn":`) {
		t.Fatalf("torn export: exit %d\nstdout %s\nstderr %s", code, stdout, stderr)
	}
	// Exporting again into the same folder refuses to overwrite.
	if code, _, stderr := run(t, "export", rec, "--out", out); code != 1 || !strings.Contains(stderr, "blocks.csv") {
		t.Fatalf("second export: exit %d, %s", code, stderr)
	}
}

func TestExportUsage(t *testing.T) {
	notRec := filepath.Join(t.TempDir(), "x.txt")
	os.WriteFile(notRec, []byte("hello, world, not a recording"), 0o644)
	cases := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"export"}, 2, "exactly one recording FILE"},
		{[]string{"export", "a.bcr"}, 2, "--out: "},
		{[]string{"export", "a.bcr", "b.bcr", "--out", "d"}, 2, "got 2 arguments"},
		{[]string{"export", notRec, "--out", t.TempDir()}, 1, "not a bciloop recording"},
		{[]string{"export", filepath.Join(t.TempDir(), "none"), "--out", t.TempDir()}, 1, "no such file"},
	}
	for _, c := range cases {
		code, _, stderr := run(t, c.args...)
		if code != c.code || !strings.Contains(stderr, c.want) {
			t.Errorf("%q: exit %d, stderr %q; want %d and %q", c.args, code, stderr, c.code, c.want)
		}
	}
}
