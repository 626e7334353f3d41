package acquiretest_test

import (
	"context"
	"io"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bciloop/bciloop/acquire"
	"github.com/bciloop/bciloop/acquire/acquiretest"
)

func goodBlock() *acquire.Block {
	return &acquire.Block{
		Seq: 4, Start: 100, Frames: 10, Rate: 250, Channels: 2,
		Data:   make([]float32, 20),
		Spikes: []acquire.Spike{{Sample: 100, Channel: 1}, {Sample: 100, Channel: 0}, {Sample: 109, Channel: 1}},
		Truth:  make([]float64, 30), TruthDims: 3,
		Arrived: acquire.Now(),
	}
}

func TestCheck(t *testing.T) {
	if err := acquiretest.Check(goodBlock()); err != nil {
		t.Fatalf("good block rejected: %v", err)
	}
	nan := float32(0)
	nan /= nan
	cases := []struct {
		name string
		edit func(b *acquire.Block)
		want string
	}{
		{"frames", func(b *acquire.Block) { b.Frames = 0 }, "frames 0"},
		{"rate", func(b *acquire.Block) { b.Rate = 0 }, "rate 0"},
		{"channels", func(b *acquire.Block) { b.Channels = 0 }, "channels 0"},
		{"start", func(b *acquire.Block) { b.Start = -1 }, "start -1"},
		{"data length", func(b *acquire.Block) { b.Data = b.Data[:19] }, "len(Data) 19"},
		{"data NaN", func(b *acquire.Block) { b.Data[7] = nan }, "Data[7] (frame 3, channel 1)"},
		{"spike before", func(b *acquire.Block) { b.Spikes[0].Sample = 99 }, "spike 0: sample 99 outside"},
		{"spike after", func(b *acquire.Block) { b.Spikes[2].Sample = 110 }, "spike 2: sample 110 outside"},
		{"spike channel", func(b *acquire.Block) { b.Spikes[1].Channel = 2 }, "spike 1: channel 2"},
		{"spikes unsorted", func(b *acquire.Block) { b.Spikes[0].Sample = 105 }, "spike 1: sample 100 before the previous spike's 105"},
		{"truth length", func(b *acquire.Block) { b.Truth = b.Truth[:3] }, "len(Truth) 3"},
		{"truth without dims", func(b *acquire.Block) { b.TruthDims = 0 }, "len(Truth) 30"},
		{"truth NaN", func(b *acquire.Block) { b.Truth[2] = float64(nan) }, "Truth[2]"},
		{"arrived zero", func(b *acquire.Block) { b.Arrived = 0 }, "arrived 0"},
		{"arrived future", func(b *acquire.Block) { b.Arrived = acquire.Now() + int64(time.Hour) }, "after Now()"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := goodBlock()
			c.edit(b)
			err := acquiretest.Check(b)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Check = %v, want an error containing %q", err, c.want)
			}
		})
	}
}

func TestCheckNext(t *testing.T) {
	prev := goodBlock()
	next := func() *acquire.Block {
		b := goodBlock()
		b.Seq, b.Start, b.Arrived = prev.Seq+1, prev.End(), prev.Arrived+1
		return b
	}
	if err := acquiretest.CheckNext(prev, next()); err != nil {
		t.Fatalf("good pair rejected: %v", err)
	}
	dropped := next()
	dropped.Dropped, dropped.Start = 7, prev.End()+7
	if err := acquiretest.CheckNext(prev, dropped); err != nil {
		t.Fatalf("pair with accounted drop rejected: %v", err)
	}
	cases := []struct {
		name string
		edit func(b *acquire.Block)
		want string
	}{
		{"seq gap", func(b *acquire.Block) { b.Seq += 1 }, "seq 6 follows 4"},
		{"seq repeat", func(b *acquire.Block) { b.Seq = prev.Seq }, "seq 4 follows 4"},
		{"start gap", func(b *acquire.Block) { b.Start++ }, "start 111"},
		{"unaccounted drop", func(b *acquire.Block) { b.Dropped = 3 }, "dropped 3"},
		{"rate", func(b *acquire.Block) { b.Rate = 500 }, "rate changed"},
		{"channels", func(b *acquire.Block) { b.Channels = 3 }, "channels changed"},
		{"truth dims", func(b *acquire.Block) { b.TruthDims = 2 }, "truth dims changed"},
		{"arrived", func(b *acquire.Block) { b.Arrived = prev.Arrived - 1 }, "before the previous"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := next()
			c.edit(b)
			err := acquiretest.CheckNext(prev, b)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("CheckNext = %v, want an error containing %q", err, c.want)
			}
		})
	}
}

// memSource is a minimal well-behaved Source with sample data, truth,
// reported drops and an optional end, to run the kit on the paths that the
// synthetic brain does not take.
type memSource struct {
	seq, blocks uint64
	start       int64
	closed      atomic.Bool
}

const memFrames, memChannels = 8, 3

func (s *memSource) Read(ctx context.Context, b *acquire.Block) error {
	if s.closed.Load() {
		return acquire.ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.blocks > 0 && s.seq == s.blocks {
		return io.EOF
	}
	dropped := uint64(0)
	if s.seq > 0 && s.seq%10 == 0 {
		dropped = 5
	}
	s.start += int64(dropped)
	b.Seq, b.Start, b.Frames, b.Rate, b.Channels, b.Dropped, b.TruthDims = s.seq, s.start, memFrames, 500, memChannels, dropped, 1
	b.Data, b.Truth, b.Spikes = b.Data[:0], b.Truth[:0], b.Spikes[:0]
	for f := range memFrames {
		for c := range memChannels {
			b.Data = append(b.Data, float32(f*c))
		}
		b.Truth = append(b.Truth, float64(f))
		if f%3 == 0 {
			b.Spikes = append(b.Spikes, acquire.Spike{Sample: s.start + int64(f), Channel: uint16(f % memChannels)})
		}
	}
	b.Arrived = acquire.Now()
	s.seq++
	s.start += memFrames
	return nil
}

func (s *memSource) Close() error { s.closed.Store(true); return nil }

func TestRunOnMemSource(t *testing.T) {
	t.Run("endless", func(t *testing.T) {
		acquiretest.Run(t, func(*testing.T) acquire.Source { return &memSource{} }, acquiretest.Options{AllocFree: true})
	})
	t.Run("finite", func(t *testing.T) {
		acquiretest.Run(t, func(*testing.T) acquire.Source { return &memSource{blocks: 300} },
			acquiretest.Options{Blocks: 500, Finite: true, AllocFree: true})
	})
}
