package acquire

import (
	"context"
	"testing"

	"github.com/bciloop/bciloop/sim"
)

// TestSimSourceBroadband reads the broadband preset through a lockstep
// SimSource in 1 ms blocks: raw 30 kHz data of every channel, the motor
// cortex's truth per frame, and a stimulation input reporting when it
// took effect.
func TestSimSourceBroadband(t *testing.T) {
	o := DefaultSimOptions()
	o.Broadband.Channels = 32
	var applied int
	brain, err := BuildSimBrain("broadband", &o, SimEnv{OnApplied: func(arrived, at int64) { applied++ }})
	if err != nil {
		t.Fatal(err)
	}
	if got := o.RateHz("broadband"); got != 30000 {
		t.Fatalf("RateHz %g", got)
	}
	src, err := NewSimBrainSource(brain, SimSourceConfig{BlockFrames: 30}, SimEnv{})
	if err != nil {
		t.Fatal(err)
	}
	var b Block
	low := 0
	for k := range 1000 {
		if err := src.Read(context.Background(), &b); err != nil {
			t.Fatal(err)
		}
		if b.Channels != 32 || b.Frames != 30 || len(b.Data) != 30*32 || b.Rate != 30000 || len(b.Truth) != 30*4 || b.Start != int64(30*k) {
			t.Fatalf("block %d: %d channels, %d frames, %d samples at %g Hz, %d truth values, start %d", k, b.Channels, b.Frames, len(b.Data), b.Rate, len(b.Truth), b.Start)
		}
		for _, v := range b.Data {
			if v < -30 {
				low++
			}
		}
		if k == 500 {
			if err := brain.Target().Stimulate(sim.Stimulus{Electrode: 3, AmplitudeUA: 20, PhaseUS: 100, Count: 1, Arrived: 1}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if low == 0 {
		t.Error("no spike trough below −30 µV in 1 s of 32 channels")
	}
	if applied != 1 {
		t.Errorf("%d stimuli reported applied, want 1", applied)
	}
	o.Broadband.Channels = 0
	if _, err := BuildSimBrain("broadband", &o, SimEnv{}); err == nil {
		t.Error("0 channels accepted")
	}
}
