package acquire

import (
	"context"
	"errors"
)

// Source is a stream of Blocks: a board, a file, a NATS subject or the
// synthetic brain.
//
// Read fills the caller-owned b with the next block, reusing b's slices, and
// must not retain b after it returns. It blocks until a block is ready or ctx
// is done. At the end of a finite stream it returns io.EOF; a device that
// vanished returns an error wrapping ErrDisconnected, after which the runtime
// may retry with backoff. Sequence numbers (Block.Seq) increase by one per
// block; Block.Dropped reports frames the source knows it lost.
//
// Concurrency: Read is called from one goroutine at a time. Close may be
// called from any goroutine, once Read has returned or to unblock it; it is
// idempotent.
type Source interface {
	Read(ctx context.Context, b *Block) error
	Close() error
}

// ErrDisconnected is wrapped by Source errors when the device or stream went
// away and a reconnect may succeed.
var ErrDisconnected = errors.New("acquire: source disconnected")

// Paced is implemented by sources that generate their blocks on the reading
// goroutine and pace themselves to the wall clock (the synthetic brain in
// real time). The runtime reads such sources on its pipeline goroutine, so
// the path from a block's generation to its command never hops goroutines.
// Due returns the monotonic time (Now) at which the block last read was
// due; Arrived − Due is how late the reader is, from which the runtime
// decides to drop stale blocks.
type Paced interface {
	Source
	Due() int64
}
