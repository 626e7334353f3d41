package stimulate

import "context"

// Stimulator delivers patterns to a sink: the synthetic brain, a serial
// stimulator, or NATS.
//
// Stimulate delivers p (or schedules it at p.Sample) and must not retain p.
// It returns an error when the sink refused or failed to deliver; the runtime
// counts such errors. Close turns every output to zero and releases the sink;
// it is idempotent, and safe to call from any goroutine to stop output at
// once (for example on shutdown or from a watchdog).
//
// Concurrency: Stimulate is called from one goroutine at a time.
type Stimulator interface {
	Stimulate(ctx context.Context, p *Pattern) error
	Close() error
}
