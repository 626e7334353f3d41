package acquire

import (
	"context"
	"slices"
	"strings"
	"testing"
)

// TestSimMotorNet: the motor-net preset builds from its defaults, streams
// 96 electrode channels with sorted units (0..2) and the motor truth, in
// lockstep reproducibly, without allocating once warm; bad options are
// reported under source.motor_net.
func TestSimMotorNet(t *testing.T) {
	if !slices.Contains(SimPresets(), "motor-net") {
		t.Fatalf("presets %v lack motor-net", SimPresets())
	}
	o := DefaultSimOptions()
	read := func() ([]Spike, []float64, *SimSource) {
		brain, err := BuildSimBrain("motor-net", &o, SimEnv{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(brain.(*motorNetBrain).Close)
		src, err := NewSimBrainSource(brain, SimSourceConfig{BlockFrames: 10}, SimEnv{})
		if err != nil {
			t.Fatal(err)
		}
		var b Block
		var spikes []Spike
		var truth []float64
		for range 30 {
			if err := src.Read(context.Background(), &b); err != nil {
				t.Fatal(err)
			}
			if b.Channels != 96 || b.Rate != 1000 || b.TruthDims != 4 || b.Frames != 10 {
				t.Fatalf("block shape channels %d rate %v truth dims %d frames %d", b.Channels, b.Rate, b.TruthDims, b.Frames)
			}
			spikes = append(spikes, b.Spikes...)
			truth = append(truth, b.Truth...)
		}
		return spikes, truth, src
	}
	s1, t1, src := read()
	s2, t2, _ := read()
	if len(s1) == 0 || !slices.Equal(s1, s2) || !slices.Equal(t1, t2) {
		t.Errorf("%d spikes; two runs equal: %v", len(s1), slices.Equal(s1, s2) && slices.Equal(t1, t2))
	}
	units := map[uint8]int{}
	for _, s := range s1 {
		if s.Channel >= 96 || s.Unit > 2 {
			t.Fatalf("spike %+v out of range", s)
		}
		units[s.Unit]++
	}
	if units[0] == 0 || units[1] == 0 || units[2] == 0 {
		t.Errorf("spikes per unit id %v: want all of 0, 1, 2", units)
	}
	if src.Stimulable() == nil {
		t.Error("no stimulation input")
	}
	var b Block
	ctx := context.Background()
	for range 20 {
		_ = src.Read(ctx, &b)
	}
	if n := testing.AllocsPerRun(20, func() { _ = src.Read(ctx, &b) }); n != 0 {
		t.Errorf("%v allocations per Read", n)
	}

	o.MotorNet.UnitsMax = 5
	o.MotorNet.RecordRadiusUM = -1
	err := o.Validate("motor-net")
	if err == nil || !strings.Contains(err.Error(), "motor_net.units_max:") || !strings.Contains(err.Error(), "motor_net.record_radius_um:") {
		t.Errorf("Validate: %v", err)
	}
}

// TestSimMotorNetBroadband: signal broadband streams 96 raw channels at
// 30 kHz with the network's truth per voltage frame; its options are
// checked under motor_net.
func TestSimMotorNetBroadband(t *testing.T) {
	o := DefaultSimOptions()
	o.MotorNet.Signal = "broadband"
	o.MotorNet.Broadband.TableFrames = 1 << 14
	if r := o.RateHz("motor-net"); r != 30000 {
		t.Errorf("RateHz %v, want 30000", r)
	}
	brain, err := BuildSimBrain("motor-net", &o, SimEnv{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(brain.(*motorNetBroadbandBrain).Close)
	if e, ok := brain.Target().(interface{ Electrodes() int }); !ok || e.Electrodes() != 96 {
		t.Errorf("stimulation target %T: want 96 electrodes", brain.Target())
	}
	src, err := NewSimBrainSource(brain, SimSourceConfig{BlockFrames: 30}, SimEnv{})
	if err != nil {
		t.Fatal(err)
	}
	var b Block
	var lowest float32
	for range 100 {
		if err := src.Read(context.Background(), &b); err != nil {
			t.Fatal(err)
		}
		if b.Channels != 96 || b.Rate != 30000 || len(b.Data) != 30*96 || len(b.Truth) != 30*4 || len(b.Spikes) != 0 {
			t.Fatalf("block: channels %d rate %v data %d truth %d spikes %d", b.Channels, b.Rate, len(b.Data), len(b.Truth), len(b.Spikes))
		}
		for _, x := range b.Data {
			lowest = min(lowest, x)
		}
	}
	if lowest > -60 {
		t.Errorf("most negative sample %v µV in 100 ms: no spike waveform", lowest)
	}

	o.MotorNet.Broadband.Channels = 100
	o.MotorNet.Broadband.RateHz = 25500
	err = o.Validate("motor-net")
	for _, k := range []string{"motor_net.broadband.channels:", "motor_net.broadband.rate_hz:"} {
		if err == nil || !strings.Contains(err.Error(), k) {
			t.Errorf("Validate: %v, want %s", err, k)
		}
	}
	o.MotorNet.Signal = "lfp"
	if err := o.Validate("motor-net"); err == nil || !strings.Contains(err.Error(), "motor_net.signal:") {
		t.Errorf("Validate: %v", err)
	}
}
