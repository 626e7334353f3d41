// Package acquiretest is the conformance kit of acquire.Source: every Source
// implementation runs Run in its tests, so that the runtime can rely on the
// same stream invariants from a synthetic brain, a serial board, a file or a
// NATS subject.
package acquiretest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/bciloop/bciloop/acquire"
)

// Options tell Run what the Source under test promises.
type Options struct {
	// Blocks is the number of blocks read by the stream checks; 0 means 100.
	Blocks int
	// AllocFree says Read does not allocate once the Block's slices have
	// grown; Run then asserts zero allocations per Read.
	AllocFree bool
	// Finite says the stream may end with io.EOF before Blocks blocks (a
	// file). Without it, io.EOF is a failure.
	Finite bool
	// Timeout bounds every wait: one Read, and the return of a Read after
	// its ctx was cancelled or the source closed; 0 means 2 s.
	Timeout time.Duration
}

func (o *Options) defaults() {
	if o.Blocks <= 0 {
		o.Blocks = 100
	}
	if o.Timeout <= 0 {
		o.Timeout = 2 * time.Second
	}
}

// Run checks the Source contract on sources made by open, a fresh one per
// subtest (Run closes each). The checks:
//
//   - every block satisfies Check, and consecutive blocks satisfy CheckNext
//     (Seq +1, contiguous Start, constant shape, non-decreasing Arrived);
//   - Read does not retain the Block: reading into another Block leaves a
//     previous one unchanged;
//   - with opts.AllocFree, Read into a warmed-up Block does not allocate;
//   - Close is idempotent (nil twice) and Read after Close fails;
//   - Close from another goroutine ends a Read loop promptly;
//   - Read with a cancelled ctx returns ctx's error promptly, whether the ctx
//     was cancelled before or during the Read.
func Run(t *testing.T, open func(t *testing.T) acquire.Source, opts Options) {
	t.Helper()
	opts.defaults()
	mk := func(t *testing.T) acquire.Source {
		src := open(t)
		if src == nil {
			t.Fatal("open returned a nil Source")
		}
		t.Cleanup(func() { _ = src.Close() })
		return src
	}
	t.Run("stream", func(t *testing.T) { testStream(t, mk(t), opts) })
	t.Run("no_retention", func(t *testing.T) { testRetention(t, mk(t), opts) })
	if opts.AllocFree {
		t.Run("allocs", func(t *testing.T) { testAllocs(t, mk(t), opts) })
	}
	t.Run("close", func(t *testing.T) { testClose(t, mk(t), opts) })
	t.Run("close_unblocks", func(t *testing.T) { testCloseUnblocks(t, mk(t), opts) })
	t.Run("cancelled", func(t *testing.T) { testCancelled(t, mk(t), opts) })
	t.Run("cancel_during_read", func(t *testing.T) { testCancelDuring(t, mk(t), opts) })
}

// read reads one block with opts.Timeout. It reports io.EOF as (false, nil)
// when the stream is finite, and fails the test on any other error.
func read(t *testing.T, src acquire.Source, b *acquire.Block, opts Options) bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), opts.Timeout)
	defer cancel()
	err := src.Read(ctx, b)
	switch {
	case err == nil:
		return true
	case errors.Is(err, io.EOF) && opts.Finite:
		return false
	default:
		t.Fatalf("Read: %v", err)
		return false
	}
}

// Check reports every violation of the Block invariants in b at once:
// Frames > 0; Rate finite and > 0; Channels > 0; Start ≥ 0; len(Data) is 0
// or Frames·Channels, all finite; spikes sorted by Sample, inside
// [Start, Start+Frames), Channel < Channels; TruthDims ≥ 0 and len(Truth)
// 0 or Frames·TruthDims, all finite; Arrived > 0 and not after Now (a
// stamp of this process's monotonic clock: replayed streams restamp).
func Check(b *acquire.Block) error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if b.Frames <= 0 {
		bad("frames %d must be > 0", b.Frames)
	}
	if !(b.Rate > 0) || math.IsInf(b.Rate, 0) {
		bad("rate %v must be finite and > 0", b.Rate)
	}
	if b.Channels <= 0 {
		bad("channels %d must be > 0", b.Channels)
	}
	if b.Start < 0 {
		bad("start %d must be ≥ 0", b.Start)
	}
	if n := len(b.Data); n != 0 && n != b.Frames*b.Channels {
		bad("len(Data) %d is neither 0 nor frames·channels = %d", n, b.Frames*b.Channels)
	}
	for i, v := range b.Data {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			bad("Data[%d] (frame %d, channel %d) is %v", i, i/max(1, b.Channels), i%max(1, b.Channels), v)
			break
		}
	}
	end := b.End()
	for i, s := range b.Spikes {
		if s.Sample < b.Start || s.Sample >= end {
			bad("spike %d: sample %d outside the block [%d, %d)", i, s.Sample, b.Start, end)
		}
		if int(s.Channel) >= b.Channels {
			bad("spike %d: channel %d ≥ channels %d", i, s.Channel, b.Channels)
		}
		if i > 0 && s.Sample < b.Spikes[i-1].Sample {
			bad("spike %d: sample %d before the previous spike's %d", i, s.Sample, b.Spikes[i-1].Sample)
		}
	}
	if b.TruthDims < 0 {
		bad("truth dims %d must be ≥ 0", b.TruthDims)
	}
	if n := len(b.Truth); n != 0 && (b.TruthDims == 0 || n != b.Frames*b.TruthDims) {
		bad("len(Truth) %d is neither 0 nor frames·truth dims = %d", n, b.Frames*b.TruthDims)
	}
	for i, v := range b.Truth {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			bad("Truth[%d] is %v", i, v)
			break
		}
	}
	if b.Arrived <= 0 {
		bad("arrived %d must be > 0 (a monotonic stamp from acquire.Now)", b.Arrived)
	} else if now := acquire.Now(); b.Arrived > now {
		bad("arrived %d is after Now() = %d", b.Arrived, now)
	}
	return errors.Join(errs...)
}

// CheckNext reports every violation of the invariants between consecutive
// blocks prev and next of one stream: Seq increases by exactly one; Start is
// contiguous, next.Start = prev.Start + prev.Frames + next.Dropped (Dropped
// counts the frames lost just before next); Rate, Channels and TruthDims do
// not change; Arrived does not decrease.
func CheckNext(prev, next *acquire.Block) error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if next.Seq != prev.Seq+1 {
		bad("seq %d follows %d, want %d", next.Seq, prev.Seq, prev.Seq+1)
	}
	if want := prev.End() + int64(next.Dropped); next.Start != want {
		bad("start %d, want previous end %d + dropped %d = %d", next.Start, prev.End(), next.Dropped, want)
	}
	if next.Rate != prev.Rate {
		bad("rate changed from %v to %v", prev.Rate, next.Rate)
	}
	if next.Channels != prev.Channels {
		bad("channels changed from %d to %d", prev.Channels, next.Channels)
	}
	if next.TruthDims != prev.TruthDims {
		bad("truth dims changed from %d to %d", prev.TruthDims, next.TruthDims)
	}
	if next.Arrived < prev.Arrived {
		bad("arrived %d before the previous block's %d", next.Arrived, prev.Arrived)
	}
	return errors.Join(errs...)
}

func testStream(t *testing.T, src acquire.Source, opts Options) {
	var prev, b acquire.Block
	n := 0
	for ; n < opts.Blocks; n++ {
		if !read(t, src, &b, opts) {
			break
		}
		if err := Check(&b); err != nil {
			t.Fatalf("block %d (seq %d): %v", n, b.Seq, err)
		}
		if n > 0 {
			if err := CheckNext(&prev, &b); err != nil {
				t.Fatalf("block %d (seq %d) after seq %d: %v", n, b.Seq, prev.Seq, err)
			}
		}
		b.CopyTo(&prev)
	}
	if n == 0 {
		t.Fatal("the stream produced no block")
	}
}

func equalBlocks(a, b *acquire.Block) bool {
	return a.Seq == b.Seq && a.Start == b.Start && a.Frames == b.Frames && a.Rate == b.Rate &&
		a.Channels == b.Channels && a.Dropped == b.Dropped && a.TruthDims == b.TruthDims && a.Arrived == b.Arrived &&
		slices.Equal(a.Data, b.Data) && slices.Equal(a.Spikes, b.Spikes) && slices.Equal(a.Truth, b.Truth)
}

func testRetention(t *testing.T, src acquire.Source, opts Options) {
	var first, snapshot, other acquire.Block
	if !read(t, src, &first, opts) {
		t.Skip("stream ended at once")
	}
	first.CopyTo(&snapshot)
	for range 5 {
		if !read(t, src, &other, opts) {
			break
		}
	}
	if !equalBlocks(&first, &snapshot) {
		t.Fatalf("a later Read changed an earlier Block: the source retained it\nnow  %+v\nwas  %+v", first, snapshot)
	}
}

func testAllocs(t *testing.T, src acquire.Source, opts Options) {
	var b acquire.Block
	maxSpikes, maxData, maxTruth := 0, 0, 0
	for range min(opts.Blocks, 200) {
		if !read(t, src, &b, opts) {
			t.Skip("stream too short to warm up")
		}
		maxSpikes, maxData, maxTruth = max(maxSpikes, len(b.Spikes)), max(maxData, len(b.Data)), max(maxTruth, len(b.Truth))
	}
	// Room for far more than any block seen, so that a measured Read never
	// needs to grow a slice legitimately.
	b.Spikes = slices.Grow(b.Spikes[:0], 4*maxSpikes+256)
	b.Data = slices.Grow(b.Data[:0], 2*maxData)
	b.Truth = slices.Grow(b.Truth[:0], 2*maxTruth)
	ctx := t.Context()
	var err error
	allocs := testing.AllocsPerRun(50, func() {
		if e := src.Read(ctx, &b); e != nil && err == nil {
			err = e
		}
	})
	switch {
	case errors.Is(err, io.EOF) && opts.Finite:
		t.Skip("stream ended during the measurement")
	case err != nil:
		t.Fatalf("Read: %v", err)
	case allocs != 0:
		t.Fatalf("Read allocates %v times per call after warm-up", allocs)
	}
}

func testClose(t *testing.T, src acquire.Source, opts Options) {
	var b acquire.Block
	read(t, src, &b, opts)
	if err := src.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := src.Close(); err != nil {
		t.Fatalf("second Close: %v (Close must be idempotent)", err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), opts.Timeout)
	defer cancel()
	if err := src.Read(ctx, &b); err == nil {
		t.Fatal("Read after Close returned no error")
	}
}

// readLoop reads until an error and sends it.
func readLoop(ctx context.Context, src acquire.Source, done chan<- error) {
	var b acquire.Block
	for {
		if err := src.Read(ctx, &b); err != nil {
			done <- err
			return
		}
	}
}

func testCloseUnblocks(t *testing.T, src acquire.Source, opts Options) {
	done := make(chan error, 1)
	go readLoop(t.Context(), src, done)
	time.Sleep(20 * time.Millisecond)
	closed := time.Now()
	if err := src.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	select {
	case err := <-done:
		if errors.Is(err, io.EOF) && opts.Finite {
			return
		}
		t.Logf("Read returned %v %v after Close", err, time.Since(closed))
	case <-time.After(opts.Timeout):
		t.Fatalf("Read still running %v after Close", opts.Timeout)
	}
}

func testCancelled(t *testing.T, src acquire.Source, opts Options) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	var b acquire.Block
	start := time.Now()
	err := src.Read(ctx, &b)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Read with a cancelled ctx = %v, want context.Canceled", err)
	}
	if d := time.Since(start); d > opts.Timeout {
		t.Fatalf("Read with a cancelled ctx took %v", d)
	}
}

func testCancelDuring(t *testing.T, src acquire.Source, opts Options) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan error, 1)
	go readLoop(ctx, src, done)
	time.Sleep(20 * time.Millisecond)
	cancelled := time.Now()
	cancel()
	select {
	case err := <-done:
		if errors.Is(err, io.EOF) && opts.Finite {
			return
		}
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Read after cancel = %v, want context.Canceled", err)
		}
		t.Logf("Read returned %v after cancel", time.Since(cancelled))
	case <-time.After(opts.Timeout):
		t.Fatalf("Read still running %v after its ctx was cancelled", opts.Timeout)
	}
}
