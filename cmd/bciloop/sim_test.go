package main

import (
	"encoding/json"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSimCommand(t *testing.T) {
	code, out, errOut := run(t, "sim", "--preset", "cuba", "--neurons", "400", "--duration", "100ms", "--seed", "3", "--threads", "2")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if strings.Count(out, "\n") != 1 {
		t.Fatalf("want one line, got %q", out)
	}
	var s simSummary
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatal(err)
	}
	// CUBA at 400 neurons: 320 E + 80 I, about 80 inputs each; 0.1 s at
	// dt = 0.1 ms. The cells fire from the start (E_L above threshold).
	if s.Preset != "cuba" || s.Neurons != 400 || s.Seed != 3 || s.Threads != 2 || s.DurationS != 0.1 ||
		s.Synapses < 400*60 || s.Synapses > 400*100 || s.Spikes <= 0 || s.RateEHz <= 0 || s.RateIHz <= 0 ||
		s.WallS <= 0 || s.RTF <= 0 || s.BuildS <= 0 {
		t.Errorf("summary %+v", s)
	}
	// The same seed gives the same spikes whatever the thread count.
	_, out1, _ := run(t, "sim", "--preset", "cuba", "--neurons", "400", "--duration", "100ms", "--seed", "3", "--threads", "1")
	var s1 simSummary
	if err := json.Unmarshal([]byte(out1), &s1); err != nil {
		t.Fatal(err)
	}
	if s1.Spikes != s.Spikes || s1.RateEHz != s.RateEHz || *s1.CVISI != *s.CVISI {
		t.Errorf("one thread %+v, two threads %+v", s1, s)
	}
}

// TestSimRaster decodes the PNG of --raster and checks that the plot area
// holds dots of both population colours (blue E, red I) spread over the
// run, not an empty frame.
func TestSimRaster(t *testing.T) {
	path := filepath.Join(t.TempDir(), "raster.png")
	code, out, errOut := run(t, "sim", "--preset", "cuba", "--neurons", "1000", "--duration", "200ms", "--raster", path)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var s simSummary
	if err := json.Unmarshal([]byte(out), &s); err != nil || s.Spikes == 0 {
		t.Fatalf("summary %q: %v", out, err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	b := img.Bounds()
	if b.Dx() < 800 || b.Dy() < 400 {
		t.Fatalf("image %v, want about 1134×567", b)
	}
	// The data area lies inside the axes: take the central part, split in
	// a left and a right half (the first and second 100 ms).
	var blue, red [2]int
	x0, x1, y0, y1 := b.Min.X+b.Dx()/5, b.Max.X-b.Dx()/20, b.Min.Y+b.Dy()/12, b.Max.Y-b.Dy()/6
	for y := y0; y < y1; y++ {
		for x := x0; x < x1; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			half := 0
			if x >= (x0+x1)/2 {
				half = 1
			}
			r, g, bl = r>>8, g>>8, bl>>8
			switch { // the dot colours blend with white at their edges
			case bl > r+40 && bl > g+20:
				blue[half]++
			case r > g+50 && r > bl+50:
				red[half]++
			}
		}
	}
	t.Logf("blue pixels %v, red %v", blue, red)
	for h := range 2 {
		if blue[h] < 200 || red[h] < 20 {
			t.Errorf("half %d of the plot area: %d blue and %d red pixels, want spike dots of both populations", h, blue[h], red[h])
		}
	}
	// An unwritable path fails the command.
	if code, _, errOut := run(t, "sim", "--preset", "cuba", "--neurons", "400", "--duration", "10ms", "--raster", filepath.Join(t.TempDir(), "no", "r.png")); code == 0 || !strings.Contains(errOut, "--raster") {
		t.Errorf("unwritable raster: exit %d, stderr %q", code, errOut)
	}
}

func TestSimCommandUsage(t *testing.T) {
	tests := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"sim"}, 2, "--preset is required"},
		{[]string{"sim", "--preset", "hh"}, 2, `unknown preset "hh"`},
		{[]string{"sim", "--preset", "coba", "--duration", "0s"}, 2, "--duration must be > 0"},
		{[]string{"sim", "--preset", "coba", "--neurons", "-5"}, 2, "--neurons must be ≥ 0"},
		{[]string{"sim", "--preset", "coba", "--threads", "0"}, 2, "--threads must be ≥ 1"},
		{[]string{"sim", "--preset", "coba", "extra"}, 2, "unexpected arguments"},
		{[]string{"sim", "--preset", "brunel-c", "--neurons", "8"}, 2, "leave no inputs"},
		{[]string{"sim", "--bogus"}, 2, "flag provided but not defined"},
		{[]string{"sim", "-h"}, 0, "coba-4-51"},
	}
	for _, tc := range tests {
		code, _, errOut := run(t, tc.args...)
		if code != tc.code || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", tc.args, code, errOut, tc.code, tc.want)
		}
	}
}
