package acquire

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/nats-io/nats.go"
)

// NATSSourceConfig configures a NATSSource.
type NATSSourceConfig struct {
	// Subject carries a remote raw (type 3) or spikes (type 1) stream, as
	// published by `bciloop acquire` (bciloop.<rig>.raw) or `bciloop run`
	// (bciloop.<rig>.spikes).
	Subject string `yaml:"subject"`
	// Pending is how many messages may wait for the reader; when the reader
	// falls this far behind, NATS drops the newest (counted as slow-consumer
	// drops and as sequence gaps).
	Pending int `yaml:"pending"`
}

// DefaultNATSSourceConfig returns 1024 pending messages.
func DefaultNATSSourceConfig() NATSSourceConfig { return NATSSourceConfig{Pending: 1024} }

// Validate reports every problem of c at once.
func (c *NATSSourceConfig) Validate() error {
	var errs []error
	if c.Subject == "" {
		errs = append(errs, errors.New("subject: required"))
	}
	if c.Pending < 1 {
		errs = append(errs, fmt.Errorf("pending: must be ≥ 1, got %d", c.Pending))
	}
	return errors.Join(errs...)
}

// NATSSource is a Source reading a remote bciloop stream from NATS, so that
// acquisition runs on one machine and decoding on another. Each message is
// one block (the binary wire format of wire.go and wirestream.go). Blocks
// the stream lost are counted, never papered over: a gap in the sender's
// sequence numbers is counted in Stats().Gaps, and the frames it covers
// (from the blocks' sample clock) are reported in Block.Dropped. Seq is
// renumbered +1 per block read, as every Source's is. Malformed messages
// are skipped and counted in Stats().Invalid with the last error kept.
//
// Arrived keeps the sender's stamp (CLOCK_MONOTONIC of the sending host):
// on one host it measures latency from the board; across hosts the clocks
// differ and it does not.
//
// The NATS client allocates a message per delivery, so Read is not
// allocation-free; it does not allocate beyond that.
type NATSSource struct {
	cfg    NATSSourceConfig
	sub    *nats.Subscription
	seq    uint64
	last   uint64 // sender's seq of the last block read
	end    int64  // sample clock one past the last block read
	have   bool
	closed atomic.Bool

	gaps, invalid atomic.Uint64
	lastErr       atomic.Value // error
}

// NATSSourceStats counts what a NATSSource saw.
type NATSSourceStats struct {
	Gaps    uint64 // blocks missing from the sender's sequence
	Invalid uint64 // messages that did not decode
	Dropped int    // messages NATS dropped because the reader was slow
	LastErr error  // the last decoding error
}

// NewNATSSource subscribes to cfg.Subject on nc.
func NewNATSSource(nc *nats.Conn, cfg NATSSourceConfig) (*NATSSource, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("acquire: nats source: %w", err)
	}
	s := &NATSSource{cfg: cfg}
	sub, err := nc.SubscribeSync(cfg.Subject)
	if err != nil {
		return nil, fmt.Errorf("acquire: nats source: subject %q: %w", cfg.Subject, err)
	}
	if err := sub.SetPendingLimits(cfg.Pending, -1); err != nil {
		_ = sub.Unsubscribe()
		return nil, fmt.Errorf("acquire: nats source: %w", err)
	}
	if err := nc.Flush(); err != nil {
		_ = sub.Unsubscribe()
		return nil, fmt.Errorf("acquire: nats source: subscribing to %q: %w", cfg.Subject, err)
	}
	s.sub = sub
	return s, nil
}

// Stats returns the counters so far.
func (s *NATSSource) Stats() NATSSourceStats {
	st := NATSSourceStats{Gaps: s.gaps.Load(), Invalid: s.invalid.Load()}
	st.Dropped, _ = s.sub.Dropped()
	if e, ok := s.lastErr.Load().(error); ok {
		st.LastErr = e
	}
	return st
}

// Read waits for the next valid block of the stream.
func (s *NATSSource) Read(ctx context.Context, b *Block) error {
	for {
		if s.closed.Load() {
			return ErrClosed
		}
		m, err := s.sub.NextMsgWithContext(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if s.closed.Load() {
				return ErrClosed
			}
			if errors.Is(err, nats.ErrSlowConsumer) {
				continue // counted by the subscription (Stats().Dropped)
			}
			return fmt.Errorf("%w: nats source %s: %v", ErrDisconnected, s.cfg.Subject, err)
		}
		if err := s.decode(b, m.Data); err != nil {
			s.invalid.Add(1)
			s.lastErr.Store(fmt.Errorf("subject %s: %w", m.Subject, err))
			continue
		}
		return nil
	}
}

func (s *NATSSource) decode(b *Block, data []byte) error {
	h, _, err := ParseWireHeader(data)
	if err != nil {
		return err
	}
	switch h.Type {
	case WireSpikes:
		err = DecodeSpikesMessage(b, data)
	case WireRaw:
		err = DecodeRawMessage(b, data)
	default:
		err = fmt.Errorf("%w: message type %d is not a sample stream (spikes 1 or raw 3)", ErrWire, h.Type)
	}
	if err != nil {
		return err
	}
	b.Dropped = 0
	if s.have {
		if b.Seq > s.last+1 {
			s.gaps.Add(b.Seq - s.last - 1)
		}
		if b.Start > s.end {
			b.Dropped = uint64(b.Start - s.end)
		}
	}
	s.have, s.last, s.end = true, b.Seq, b.End()
	b.Seq = s.seq
	s.seq++
	return nil
}

// Close unsubscribes; a waiting Read returns ErrClosed. It is idempotent.
func (s *NATSSource) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	return s.sub.Unsubscribe()
}
