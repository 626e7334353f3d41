package loop

import (
	"context"
	"sync/atomic"

	"github.com/bciloop/bciloop/acquire"
)

// blockQueue is a fixed pool of blocks circulating between the source
// goroutine and the pipeline goroutine. Blocks are never allocated after
// construction; when the pipeline falls behind and no block is free, the
// oldest queued block is taken back and overwritten (drop-oldest: stale
// neural data is worse than lost data), and the drop is counted.
type blockQueue struct {
	free chan *acquire.Block // empty blocks for the source
	full chan *acquire.Block // filled blocks for the pipeline, oldest first
}

func newBlockQueue(n int) *blockQueue {
	q := &blockQueue{free: make(chan *acquire.Block, n), full: make(chan *acquire.Block, n)}
	for range n {
		q.free <- new(acquire.Block)
	}
	return q
}

// take returns a block to fill: a free one, else the oldest queued one
// (counted in dropped), else it waits for the pipeline to free one.
func (q *blockQueue) take(ctx context.Context, dropped *atomic.Uint64) (*acquire.Block, error) {
	select {
	case b := <-q.free:
		return b, nil
	default:
	}
	select {
	case b := <-q.full:
		dropped.Add(1)
		return b, nil
	default:
	}
	select {
	case b := <-q.free:
		return b, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// fill reads blocks from src into the queue until src or ctx ends.
func (q *blockQueue) fill(ctx context.Context, src acquire.Source, dropped *atomic.Uint64) error {
	for {
		b, err := q.take(ctx, dropped)
		if err != nil {
			return err
		}
		if err := src.Read(ctx, b); err != nil {
			q.free <- b
			return err
		}
		q.full <- b // never blocks: the pool holds at most cap(full) blocks
	}
}
