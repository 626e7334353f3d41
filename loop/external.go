package loop

import (
	"bytes"
	"fmt"
	"strconv"

	"github.com/nats-io/nats.go"

	"github.com/bciloop/bciloop/acquire"
	"github.com/bciloop/bciloop/stimulate"
)

// External closes the loop through an external decoder, a process in any
// language: it reads the loop's streams on NATS (bins on
// bciloop.<rig>.bins, spikes on .spikes) and publishes stimulation
// commands in the version 1 schema of package stimulate (ParseCommand) on
// bciloop.<rig>.ext.stim, carrying the arrival stamp (arrived_ns) of the
// data they answer. Each command is stamped on receipt (arrival → external
// decision received, Received) and, when it is fresh and valid, passes the
// config's safety Limit (stimulate.limit) to the synthetic brain; the
// brain reports when its first pulse takes effect, which the loop records
// as the stim stage (arrival → stimulation applied), so the whole
// sense → external decode → stimulation effect path is measured.
//
// The Limit serves the external commands alone, on the subscription's
// goroutine (stimulate.NATSCommandSource).
type External struct {
	l       *Loop
	limit   *stimulate.Limit
	cmds    *stimulate.NATSCommandSource
	stamp   *nats.Subscription
	recv    *Latency
	Subject string
}

// ServeExternal subscribes to the external decoder's commands. Call it
// after Connect and before Run; Close it after Run.
func (l *Loop) ServeExternal() (*External, error) {
	if l.nc == nil {
		return nil, fmt.Errorf("external decoder: connect first")
	}
	target, _, err := l.simTarget()
	if err != nil {
		return nil, fmt.Errorf("external decoder: %w", err)
	}
	lc := l.cfg.Stimulate.Limit
	lc.Clock = acquire.Now
	limit, err := stimulate.NewLimit(stimulate.NewSimSink(target), lc, l.log.With().Str("component", "external-limit").Logger())
	if err != nil {
		return nil, fmt.Errorf("external decoder: stimulate.limit: %w", err)
	}
	e := &External{l: l, limit: limit, recv: NewLatency(), Subject: "bciloop." + l.cfg.Rig + ".ext.stim"}
	// The receipt stamp first: this subscription's handler does nothing
	// else, so it is not queued behind the Limit.
	if e.stamp, err = l.nc.Subscribe(e.Subject, e.onCommand); err != nil {
		_ = limit.Close()
		return nil, fmt.Errorf("external decoder: %w", err)
	}
	if e.cmds, err = stimulate.ServeNATSCommands(l.nc, e.Subject, limit, l.log.With().Str("component", "external").Logger()); err != nil {
		_ = e.stamp.Unsubscribe()
		_ = limit.Close()
		return nil, fmt.Errorf("external decoder: %w", err)
	}
	if err := l.nc.Flush(); err != nil {
		e.Close()
		return nil, fmt.Errorf("external decoder: %w", err)
	}
	return e, nil
}

var arrivedKey = []byte(`"arrived_ns":`)

func (e *External) onCommand(m *nats.Msg) {
	now := acquire.Now()
	i := bytes.Index(m.Data, arrivedKey)
	if i < 0 {
		return
	}
	b := m.Data[i+len(arrivedKey):]
	j := 0
	for j < len(b) && b[j] >= '0' && b[j] <= '9' {
		j++
	}
	arrived, err := strconv.ParseInt(string(b[:j]), 10, 64)
	if err == nil && arrived > 0 && arrived >= e.l.WarmedAt() && e.l.WarmedAt() > 0 {
		e.recv.Record(now - arrived)
	}
}

// Received is the histogram of arrival → external command received, from
// the end of warm-up.
func (e *External) Received() *Latency { return e.recv }

// Stats returns what became of the external commands, and the Limit's
// verdicts on their pulses.
func (e *External) Stats() (stimulate.CommandStats, stimulate.LimitStats) {
	return e.cmds.Stats(), e.limit.Stats()
}

// Close unsubscribes and zeroes the stimulator.
func (e *External) Close() {
	if e.cmds != nil {
		_ = e.cmds.Close()
	}
	if e.stamp != nil {
		_ = e.stamp.Unsubscribe()
	}
	_ = e.limit.Close()
}
