package acquire_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bciloop/bciloop/acquire"
	"github.com/bciloop/bciloop/acquire/acquiretest"
	"github.com/bciloop/bciloop/sim"
)

func newBrain(t testing.TB, seed uint64) *sim.MotorCortex {
	t.Helper()
	cfg := sim.DefaultMotorCortexConfig()
	cfg.Seed = seed
	m, err := sim.NewMotorCortex(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func newSimSource(t testing.TB, seed uint64, cfg acquire.SimSourceConfig) *acquire.SimSource {
	t.Helper()
	s, err := acquire.NewSimSource(newBrain(t, seed), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSimSourceConformance(t *testing.T) {
	cases := []struct {
		name string
		cfg  acquire.SimSourceConfig
		opts acquiretest.Options
	}{
		{"lockstep/frames=1", acquire.SimSourceConfig{BlockFrames: 1}, acquiretest.Options{Blocks: 500, AllocFree: true}},
		{"lockstep/frames=20", acquire.SimSourceConfig{BlockFrames: 20}, acquiretest.Options{Blocks: 200, AllocFree: true}},
		{"realtime/frames=1", acquire.SimSourceConfig{BlockFrames: 1, Realtime: true}, acquiretest.Options{Blocks: 100, AllocFree: true}},
		{"realtime/frames=5", acquire.SimSourceConfig{BlockFrames: 5, Realtime: true}, acquiretest.Options{Blocks: 40, AllocFree: true}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			acquiretest.Run(t, func(t *testing.T) acquire.Source { return newSimSource(t, 1, c.cfg) }, c.opts)
		})
	}
}

func TestSimSourceConfig(t *testing.T) {
	def := acquire.DefaultSimSourceConfig()
	if err := def.Validate(); err != nil || def.BlockFrames != 1 || def.Realtime {
		t.Fatalf("default %+v: %v", def, err)
	}
	cases := []struct {
		name  string
		brain bool
		cfg   acquire.SimSourceConfig
		want  []string
	}{
		{"zero frames", true, acquire.SimSourceConfig{}, []string{"block_frames: "}},
		{"negative frames", true, acquire.SimSourceConfig{BlockFrames: -3}, []string{"block_frames: "}},
		{"huge frames", true, acquire.SimSourceConfig{BlockFrames: 1 << 30}, []string{"block_frames: "}},
		{"nil brain and bad frames", false, acquire.SimSourceConfig{}, []string{"brain: ", "block_frames: "}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var brain *sim.MotorCortex
			if c.brain {
				brain = newBrain(t, 1)
			}
			_, err := acquire.NewSimSource(brain, c.cfg)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

// TestSimSourceLockstep checks that lockstep output is deterministic and is
// exactly the brain's own output, converted.
func TestSimSourceLockstep(t *testing.T) {
	const blocks, frames = 300, 7
	read := func() []acquire.Block {
		src := newSimSource(t, 5, acquire.SimSourceConfig{BlockFrames: frames})
		out := make([]acquire.Block, blocks)
		var b acquire.Block
		for i := range out {
			if err := src.Read(context.Background(), &b); err != nil {
				t.Fatal(err)
			}
			b.CopyTo(&out[i])
		}
		return out
	}
	a, b := read(), read()
	ref := newBrain(t, 5)
	events, truth := ref.Advance(blocks*frames, nil, nil)
	var spikes []acquire.Spike
	var gotTruth []float64
	for i := range a {
		x, y := &a[i], &b[i]
		if x.Seq != y.Seq || x.Start != y.Start || !slices.Equal(x.Spikes, y.Spikes) || !slices.Equal(x.Truth, y.Truth) {
			t.Fatalf("block %d differs between two runs of one seed", i)
		}
		if x.Seq != uint64(i) || x.Start != int64(i*frames) || x.Frames != frames || x.Channels != 96 || x.Rate != 1000 ||
			x.TruthDims != 4 || len(x.Data) != 0 {
			t.Fatalf("block %d header %+v", i, *x)
		}
		spikes = append(spikes, x.Spikes...)
		gotTruth = append(gotTruth, x.Truth...)
	}
	if len(spikes) != len(events) {
		t.Fatalf("%d spikes, the brain alone gives %d", len(spikes), len(events))
	}
	for i, e := range events {
		if s := spikes[i]; s.Sample != e.Sample || int32(s.Channel) != e.Channel || s.Unit != 0 {
			t.Fatalf("spike %d: %+v, brain gives %+v", i, s, e)
		}
	}
	if !slices.Equal(gotTruth, truth) {
		t.Fatal("truth differs from the brain's")
	}
}

// TestSimSourceRealtimePacing reads 300 1-ms blocks in real time. Timing
// bounds are coarse (shared machine): no block early, the whole run at
// least 300 ms and under 2 s, every Seq present. The lateness distribution is
// logged; BenchmarkSimSourceRealtime measures it properly.
func TestSimSourceRealtimePacing(t *testing.T) {
	const blocks = 300
	src := newSimSource(t, 1, acquire.SimSourceConfig{BlockFrames: 1, Realtime: true})
	defer src.Close()
	var b acquire.Block
	late := make([]int64, 0, blocks)
	start := acquire.Now()
	for i := range blocks {
		if err := src.Read(context.Background(), &b); err != nil {
			t.Fatal(err)
		}
		if b.Seq != uint64(i) {
			t.Fatalf("block %d has seq %d", i, b.Seq)
		}
		if b.Arrived < src.Due() {
			t.Fatalf("block %d arrived %d ns before it was due", i, src.Due()-b.Arrived)
		}
		late = append(late, b.Arrived-src.Due())
	}
	elapsed := time.Duration(acquire.Now() - start)
	if elapsed < blocks*time.Millisecond || elapsed > 2*time.Second {
		t.Fatalf("%d 1-ms blocks took %v, want ≥ 300 ms and < 2 s", blocks, elapsed)
	}
	slices.Sort(late)
	t.Logf("%d blocks in %v; lateness p50 %v p99 %v max %v", blocks, elapsed,
		time.Duration(late[blocks/2]), time.Duration(late[blocks*99/100]), time.Duration(late[blocks-1]))
}

// TestSimSourceRealtimeCatchUp stalls the reader for 100 ms: the blocks that
// fell due meanwhile are all emitted, at once, without a gap. A source that
// slept one block duration per Read would need at least 80 ms for 80 blocks.
func TestSimSourceRealtimeCatchUp(t *testing.T) {
	const catchUp = 80
	src := newSimSource(t, 1, acquire.SimSourceConfig{BlockFrames: 1, Realtime: true})
	defer src.Close()
	var b acquire.Block
	ctx := context.Background()
	for range 10 {
		if err := src.Read(ctx, &b); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(100 * time.Millisecond)
	start := acquire.Now()
	for i := range catchUp {
		if err := src.Read(ctx, &b); err != nil {
			t.Fatal(err)
		}
		if b.Seq != uint64(10+i) {
			t.Fatalf("after the stall: seq %d, want %d", b.Seq, 10+i)
		}
	}
	if d := time.Duration(acquire.Now() - start); d >= catchUp*time.Millisecond {
		t.Fatalf("catching up %d due blocks took %v: the source slept for blocks already due", catchUp, d)
	} else {
		t.Logf("caught up %d blocks in %v", catchUp, d)
	}
}

// TestSimSourceRealtimeInterrupt checks that a Read waiting for a 5 s block
// ends promptly on cancel and on Close.
func TestSimSourceRealtimeInterrupt(t *testing.T) {
	for _, how := range []string{"cancel", "close"} {
		t.Run(how, func(t *testing.T) {
			src := newSimSource(t, 1, acquire.SimSourceConfig{BlockFrames: 5000, Realtime: true})
			defer src.Close()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan error, 1)
			go func() {
				var b acquire.Block
				done <- src.Read(ctx, &b)
			}()
			time.Sleep(20 * time.Millisecond)
			at := time.Now()
			want := context.Canceled
			if how == "cancel" {
				cancel()
			} else {
				src.Close()
				want = acquire.ErrClosed
			}
			err := <-done
			d := time.Since(at)
			if !errors.Is(err, want) {
				t.Fatalf("Read = %v, want %v", err, want)
			}
			// Sleeps are chunked to 10 ms; 2 s leaves room for a loaded
			// machine while staying well under the 5 s block.
			if d > 2*time.Second {
				t.Fatalf("Read returned %v after %s", d, how)
			}
			t.Logf("returned %v after %s", d, how)
		})
	}
}

func BenchmarkSimSourceLockstep(b *testing.B) {
	for _, frames := range []int{1, 20} {
		b.Run(fmt.Sprintf("frames=%d", frames), func(b *testing.B) {
			src := newSimSource(b, 1, acquire.SimSourceConfig{BlockFrames: frames})
			var blk acquire.Block
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if err := src.Read(ctx, &blk); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkSimSourceRealtime reads 1-ms blocks in real time and reports the
// wake-up lateness (Arrived − Due) at p50, p99 and p99.9, with and without
// the reading goroutine locked to its OS thread. Run with -benchtime=5000x.
func BenchmarkSimSourceRealtime(b *testing.B) {
	for _, locked := range []bool{false, true} {
		b.Run(fmt.Sprintf("locked=%v", locked), func(b *testing.B) {
			if locked {
				runtime.LockOSThread()
				defer runtime.UnlockOSThread()
			}
			src := newSimSource(b, 1, acquire.SimSourceConfig{BlockFrames: 1, Realtime: true})
			defer src.Close()
			var blk acquire.Block
			ctx := context.Background()
			late := make([]int64, 0, 1<<17) // the first 131072 blocks (131 s)
			b.ReportAllocs()
			for b.Loop() {
				if err := src.Read(ctx, &blk); err != nil {
					b.Fatal(err)
				}
				if len(late) < cap(late) {
					late = append(late, blk.Arrived-src.Due())
				}
			}
			slices.Sort(late)
			q := func(p float64) float64 { return float64(late[min(len(late)-1, int(p*float64(len(late))))]) / 1e3 }
			b.ReportMetric(q(0.5), "late-p50-µs")
			b.ReportMetric(q(0.99), "late-p99-µs")
			b.ReportMetric(q(0.999), "late-p99.9-µs")
		})
	}
}

func ExampleSimSource() {
	cfg := sim.DefaultMotorCortexConfig()
	cfg.Seed = 3
	brain, err := sim.NewMotorCortex(cfg)
	if err != nil {
		panic(err)
	}
	src, err := acquire.NewSimSource(brain, acquire.SimSourceConfig{BlockFrames: 20})
	if err != nil {
		panic(err)
	}
	defer src.Close()
	var b acquire.Block
	for range 3 {
		if err := src.Read(context.Background(), &b); err != nil {
			panic(err)
		}
		fmt.Printf("seq %d: frames [%d, %d), %d channels, %d spikes, %d truth values\n",
			b.Seq, b.Start, b.End(), b.Channels, len(b.Spikes), len(b.Truth))
	}
	// Output:
	// seq 0: frames [0, 20), 96 channels, 28 spikes, 80 truth values
	// seq 1: frames [20, 40), 96 channels, 26 spikes, 80 truth values
	// seq 2: frames [40, 60), 96 channels, 38 spikes, 80 truth values
}
