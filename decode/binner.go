package decode

import "github.com/bciloop/bciloop/acquire"

// Binner turns a stream of blocks into bins of features.
//
// Add accounts one block (returning an error, and accounting nothing, when
// its shape does not match the stream); Next moves the oldest completed bin
// into the caller-owned dst and reports whether there was one. A block may
// complete zero, one or several bins. Neither method may allocate after
// warm-up, and neither retains the block.
//
// Concurrency: a Binner is used by one goroutine at a time.
type Binner interface {
	Add(b *acquire.Block) error
	Next(dst *Bin) bool
}
