package stimulate

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/rs/zerolog"
)

// The stimulation wire schema, version 1, shared by NATSPublishSink (what
// was delivered) and NATSCommandSource (what is asked for): one JSON
// object per message,
//
//	{"v":1,"seq":12,"sample":34000,"arrived_ns":1234567,
//	 "pulses":[{"electrode":3,"amplitude_ua":50,"phase_us":200,"gap_us":50,"count":10,"freq_hz":100}]}
//
// v is the schema version (1); seq, sample and arrived_ns are
// Pattern.Seq, Pattern.Sample and Pattern.Arrived; each pulse carries the
// fields of Pulse (µA, µs, Hz). Numbers are JSON numbers (no NaN or ±Inf,
// which JSON cannot express). The publish sink writes the keys in this
// order; the command source accepts them in any order but requires every
// key and refuses any other.
const SchemaVersion = 1

// MaxCommandPulses is the most pulses one command may carry.
const MaxCommandPulses = 64

// MaxCommandBytes is the longest command message accepted.
const MaxCommandBytes = 64 << 10

// AppendPatternJSON appends p in the version 1 schema to dst without
// allocating beyond dst's growth. Numbers use the shortest representation
// that round-trips (strconv 'g', −1). It fails for a value JSON cannot
// express (NaN, ±Inf), except the frequency of a single pulse, which is
// ignored and written as 0.
func AppendPatternJSON(dst []byte, p *Pattern) ([]byte, error) {
	dst = append(dst, `{"v":1,"seq":`...)
	dst = strconv.AppendUint(dst, p.Seq, 10)
	dst = append(dst, `,"sample":`...)
	dst = strconv.AppendInt(dst, p.Sample, 10)
	dst = append(dst, `,"arrived_ns":`...)
	dst = strconv.AppendInt(dst, p.Arrived, 10)
	dst = append(dst, `,"pulses":[`...)
	for i := range p.Pulses {
		q := &p.Pulses[i]
		freq := q.FreqHz
		if q.Count <= 1 && !finite(freq) {
			freq = 0
		}
		if !finite(q.AmplitudeUA) || !finite(q.PhaseUS) || !finite(q.GapUS) || !finite(freq) {
			return dst, errNotFinite
		}
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"electrode":`...)
		dst = strconv.AppendInt(dst, int64(q.Electrode), 10)
		dst = append(dst, `,"amplitude_ua":`...)
		dst = strconv.AppendFloat(dst, q.AmplitudeUA, 'g', -1, 64)
		dst = append(dst, `,"phase_us":`...)
		dst = strconv.AppendFloat(dst, q.PhaseUS, 'g', -1, 64)
		dst = append(dst, `,"gap_us":`...)
		dst = strconv.AppendFloat(dst, q.GapUS, 'g', -1, 64)
		dst = append(dst, `,"count":`...)
		dst = strconv.AppendInt(dst, int64(q.Count), 10)
		dst = append(dst, `,"freq_hz":`...)
		dst = strconv.AppendFloat(dst, freq, 'g', -1, 64)
		dst = append(dst, '}')
	}
	return append(dst, "]}"...), nil
}

var errNotFinite = errors.New("stimulate: pattern holds a value JSON cannot express (NaN or ±Inf)")

// NATSPublishSink publishes every pattern it is given on a NATS subject in
// the version 1 schema (see SchemaVersion), for recording or for a remote
// stimulator. Put it behind a Limit: it forwards whatever it gets.
// StopStimulation and Close publish {"v":1,"stop":true} on subject+".stop",
// which tells a remote stimulator to turn every output off; after Close
// patterns are refused with ErrClosed.
//
// Stimulate encodes into a buffer the sink owns and does not allocate
// (nats.Conn.Publish copies the bytes into the connection's buffer).
// Concurrency: Stimulate is called from one goroutine at a time;
// StopStimulation and Close from any goroutine.
type NATSPublishSink struct {
	nc      *nats.Conn
	subject string
	stop    string

	mu     sync.Mutex
	buf    []byte
	closed bool

	published, failed atomic.Uint64
}

// stopMessage is what StopStimulation and Close publish on subject+".stop".
var stopMessage = []byte(`{"v":1,"stop":true}`)

// NewNATSPublishSink returns a sink publishing on subject through nc.
func NewNATSPublishSink(nc *nats.Conn, subject string) (*NATSPublishSink, error) {
	if nc == nil || subject == "" {
		return nil, errors.New("stimulate: NewNATSPublishSink: nil connection or empty subject")
	}
	return &NATSPublishSink{nc: nc, subject: subject, stop: subject + ".stop", buf: make([]byte, 0, 1024)}, nil
}

// Stimulate publishes p.
func (s *NATSPublishSink) Stimulate(_ context.Context, p *Pattern) error {
	if p == nil {
		return errNilPattern
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	var err error
	if s.buf, err = AppendPatternJSON(s.buf[:0], p); err == nil {
		err = s.nc.Publish(s.subject, s.buf)
	}
	if err != nil {
		s.failed.Add(1)
		return fmt.Errorf("stimulate: nats sink: pattern %d: %w", p.Seq, err)
	}
	s.published.Add(1)
	return nil
}

// Published returns the patterns published and those that failed.
func (s *NATSPublishSink) Published() (ok, failed uint64) { return s.published.Load(), s.failed.Load() }

// StopStimulation publishes the stop message and flushes it.
func (s *NATSPublishSink) StopStimulation() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.publishStop()
}

func (s *NATSPublishSink) publishStop() error {
	if err := s.nc.Publish(s.stop, stopMessage); err != nil {
		return fmt.Errorf("stimulate: nats sink: stop: %w", err)
	}
	if err := s.nc.FlushTimeout(time.Second); err != nil {
		return fmt.Errorf("stimulate: nats sink: stop: %w", err)
	}
	return nil
}

// Close publishes the stop message (once) and refuses later patterns. It
// does not close the connection, which belongs to the caller.
func (s *NATSPublishSink) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	return s.publishStop()
}

// wireCommand and wirePulse are the version 1 schema as decoded; pointer
// fields tell a missing key from a zero.
type wireCommand struct {
	V         *int         `json:"v"`
	Seq       *uint64      `json:"seq"`
	Sample    *int64       `json:"sample"`
	ArrivedNS *int64       `json:"arrived_ns"`
	Pulses    *[]wirePulse `json:"pulses"`
}

type wirePulse struct {
	Electrode   *int     `json:"electrode"`
	AmplitudeUA *float64 `json:"amplitude_ua"`
	PhaseUS     *float64 `json:"phase_us"`
	GapUS       *float64 `json:"gap_us"`
	Count       *int     `json:"count"`
	FreqHz      *float64 `json:"freq_hz"`
}

// ParseCommand decodes one stimulation command in the version 1 schema
// into dst (reusing dst.Pulses), strictly: the message must be one JSON
// object with exactly the schema's keys (no unknown, missing or null
// ones; any order; a repeated key is refused), of the right types (an
// integer where one is due; numbers beyond float64 or the integer type
// are refused, and JSON has no NaN or ±Inf), v must be 1, there must be 1
// to MaxCommandPulses pulses, and each pulse must be well-formed: electrode
// ≥ 0, amplitude and phase width finite and > 0, gap finite and ≥ 0, count
// ≥ 1, frequency finite and ≥ 0 (and > 0 when count > 1). Safety limits
// are Limit's business. The error names the first problem found.
func ParseCommand(dst *Pattern, msg []byte) error {
	if len(msg) > MaxCommandBytes {
		return fmt.Errorf("%w: message of %d bytes exceeds %d", ErrMalformedCommand, len(msg), MaxCommandBytes)
	}
	if err := checkKeys(msg); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(msg))
	dec.DisallowUnknownFields()
	var c wireCommand
	if err := dec.Decode(&c); err != nil {
		return fmt.Errorf("%w: %w", ErrMalformedCommand, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("%w: data after the command object", ErrMalformedCommand)
	}
	switch {
	case c.V == nil || c.Seq == nil || c.Sample == nil || c.ArrivedNS == nil || c.Pulses == nil:
		return fmt.Errorf("%w: missing key or null: v, seq, sample, arrived_ns and pulses are required", ErrMalformedCommand)
	case *c.V != SchemaVersion:
		return fmt.Errorf("%w: v: unsupported schema version %d (want %d)", ErrMalformedCommand, *c.V, SchemaVersion)
	case len(*c.Pulses) < 1 || len(*c.Pulses) > MaxCommandPulses:
		return fmt.Errorf("%w: pulses: need 1 to %d, got %d", ErrMalformedCommand, MaxCommandPulses, len(*c.Pulses))
	}
	dst.Seq, dst.Sample, dst.Arrived = *c.Seq, *c.Sample, *c.ArrivedNS
	dst.Pulses = dst.Pulses[:0]
	for i, w := range *c.Pulses {
		if w.Electrode == nil || w.AmplitudeUA == nil || w.PhaseUS == nil || w.GapUS == nil || w.Count == nil || w.FreqHz == nil {
			return fmt.Errorf("%w: pulses[%d]: missing key or null: electrode, amplitude_ua, phase_us, gap_us, count and freq_hz are required", ErrMalformedCommand, i)
		}
		q := Pulse{Electrode: *w.Electrode, AmplitudeUA: *w.AmplitudeUA, PhaseUS: *w.PhaseUS, GapUS: *w.GapUS, Count: *w.Count, FreqHz: *w.FreqHz}
		switch {
		case q.Electrode < 0:
			return fmt.Errorf("%w: pulses[%d].electrode: must be ≥ 0, got %d", ErrInvalidCommand, i, q.Electrode)
		case !(q.AmplitudeUA > 0) || !finite(q.AmplitudeUA):
			return fmt.Errorf("%w: pulses[%d].amplitude_ua: must be finite and > 0, got %v", ErrInvalidCommand, i, q.AmplitudeUA)
		case !(q.PhaseUS > 0) || !finite(q.PhaseUS):
			return fmt.Errorf("%w: pulses[%d].phase_us: must be finite and > 0, got %v", ErrInvalidCommand, i, q.PhaseUS)
		case !(q.GapUS >= 0) || !finite(q.GapUS):
			return fmt.Errorf("%w: pulses[%d].gap_us: must be finite and ≥ 0, got %v", ErrInvalidCommand, i, q.GapUS)
		case q.Count < 1:
			return fmt.Errorf("%w: pulses[%d].count: must be ≥ 1, got %d", ErrInvalidCommand, i, q.Count)
		case !(q.FreqHz >= 0) || !finite(q.FreqHz):
			return fmt.Errorf("%w: pulses[%d].freq_hz: must be finite and ≥ 0, got %v", ErrInvalidCommand, i, q.FreqHz)
		case q.Count > 1 && q.FreqHz == 0:
			return fmt.Errorf("%w: pulses[%d].freq_hz: must be > 0 for a train of %d", ErrInvalidCommand, i, q.Count)
		}
		dst.Pulses = append(dst.Pulses, q)
	}
	return nil
}

// ErrMalformedCommand is wrapped by ParseCommand's errors when a message
// is not in the schema (syntax, types, keys, sizes, version);
// ErrInvalidCommand when a value is never valid.
var (
	ErrMalformedCommand = errors.New("stimulate: malformed command")
	ErrInvalidCommand   = errors.New("stimulate: invalid command")
)

// schemaKeys are the keys of the schema, exactly (encoding/json would
// match them case-insensitively).
var schemaKeys = map[string]bool{"v": true, "seq": true, "sample": true, "arrived_ns": true, "pulses": true,
	"electrode": true, "amplitude_ua": true, "phase_us": true, "gap_us": true, "count": true, "freq_hz": true}

// checkKeys refuses a key not spelled exactly as in the schema, and an
// object (at any depth) that repeats a key: encoding/json would match
// keys case-insensitively and silently keep the last of a repeated one.
func checkKeys(msg []byte) error {
	dec := json.NewDecoder(bytes.NewReader(msg))
	dec.UseNumber()
	type frame struct {
		keys  map[string]bool
		isObj bool
		key   bool // next token in an object is a key
	}
	var stack []frame
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%w: %w", ErrMalformedCommand, err)
		}
		if len(stack) > 0 {
			top := &stack[len(stack)-1]
			if top.isObj && top.key {
				if d, ok := tok.(json.Delim); ok && d == '}' {
					stack = stack[:len(stack)-1]
					goto next
				}
				k, _ := tok.(string)
				if !schemaKeys[k] {
					return fmt.Errorf("%w: unknown key %q", ErrMalformedCommand, k)
				}
				if top.keys[k] {
					return fmt.Errorf("%w: key %q repeated", ErrMalformedCommand, k)
				}
				top.keys[k] = true
				top.key = false
				continue
			}
		}
		if d, ok := tok.(json.Delim); ok {
			switch d {
			case '{':
				stack = append(stack, frame{keys: map[string]bool{}, isObj: true, key: true})
				continue
			case '[':
				stack = append(stack, frame{})
				continue
			default: // ']' (a '}' is handled with the keys)
				stack = stack[:len(stack)-1]
			}
		}
	next:
		if len(stack) > 0 && stack[len(stack)-1].isObj {
			stack[len(stack)-1].key = true // a value was complete
		}
	}
}

// CommandReason classifies what NATSCommandSource did with a command.
type CommandReason uint8

const (
	// CommandDelivered: every pulse passed the Limit (possibly clipped).
	CommandDelivered CommandReason = iota
	// CommandMalformed: not the schema (syntax, types, keys, sizes,
	// values out of range of their type).
	CommandMalformed
	// CommandInvalid: the schema, but a value that is never valid.
	CommandInvalid
	// CommandReplayed: seq not greater than the last accepted seq.
	CommandReplayed
	// CommandLimited: the Limit refused at least one pulse.
	CommandLimited
	// CommandFailed: the sink failed (or the Limit is closed).
	CommandFailed
	// NumCommandReasons is the length of CommandStats.ByReason.
	NumCommandReasons
)

var commandReasonNames = [NumCommandReasons]string{"delivered", "malformed", "invalid", "replayed", "limited", "failed"}

// String returns the reason's name as used in logs and replies.
func (r CommandReason) String() string {
	if r < NumCommandReasons {
		return commandReasonNames[r]
	}
	return "CommandReason(" + strconv.Itoa(int(r)) + ")"
}

// CommandStats counts the commands a NATSCommandSource received, by
// reason; the sum of ByReason is Received.
type CommandStats struct {
	Received uint64
	ByReason [NumCommandReasons]uint64
}

// NATSCommandSource receives stimulation commands from NATS and passes the
// valid ones through a Limit to its sink. Build it with ServeNATSCommands.
//
// Every message is parsed strictly (ParseCommand); a command whose seq is
// not greater than the last accepted one is a replay and refused (seq
// starts at 1; the first command may have any seq ≥ 1); a parsed, fresh
// command goes to the Limit, which judges every pulse (a command refused
// by the Limit still consumes its seq). Every command is counted under
// its reason and logged (refusals at warn level through a burst sampler
// of 10 per second). A message with a reply subject (nats.Conn.Request)
// is answered with {"ok":true} or {"ok":false,"reason":…,"error":…}.
//
// The Limit must serve this source alone: its Stimulate is called from
// the subscription's goroutine.
type NATSCommandSource struct {
	sub   *nats.Subscription
	limit *Limit
	log   zerolog.Logger

	pat     Pattern
	lastSeq uint64

	received atomic.Uint64
	byReason [NumCommandReasons]atomic.Uint64
}

// ServeNATSCommands subscribes to subject on nc and delivers the valid
// commands through limit. Close unsubscribes.
func ServeNATSCommands(nc *nats.Conn, subject string, limit *Limit, log zerolog.Logger) (*NATSCommandSource, error) {
	if nc == nil || limit == nil || subject == "" {
		return nil, errors.New("stimulate: ServeNATSCommands: nil connection or limit, or empty subject")
	}
	s := &NATSCommandSource{limit: limit, log: log.Sample(&zerolog.BurstSampler{Burst: 10, Period: time.Second})}
	sub, err := nc.Subscribe(subject, s.handle)
	if err != nil {
		return nil, fmt.Errorf("stimulate: subscribe %q: %w", subject, err)
	}
	s.sub = sub
	return s, nil
}

// handle judges one message.
func (s *NATSCommandSource) handle(m *nats.Msg) {
	reason, err := s.judge(m.Data)
	s.received.Add(1)
	s.byReason[reason].Add(1)
	if reason != CommandDelivered {
		s.log.Warn().Str("reason", reason.String()).Err(err).
			Uint64("received_total", s.received.Load()).Msg("stimulation command refused")
	}
	if m.Reply != "" {
		var reply []byte
		if reason == CommandDelivered {
			reply = []byte(`{"ok":true}`)
		} else {
			reply, _ = json.Marshal(struct {
				OK     bool   `json:"ok"`
				Reason string `json:"reason"`
				Error  string `json:"error"`
			}{false, reason.String(), err.Error()})
		}
		_ = m.Respond(reply)
	}
}

func (s *NATSCommandSource) judge(msg []byte) (CommandReason, error) {
	if err := ParseCommand(&s.pat, msg); err != nil {
		if errors.Is(err, ErrMalformedCommand) {
			return CommandMalformed, err
		}
		return CommandInvalid, err
	}
	if s.pat.Seq == 0 || s.pat.Seq <= s.lastSeq {
		return CommandReplayed, fmt.Errorf("seq %d not greater than the last accepted %d", s.pat.Seq, s.lastSeq)
	}
	s.lastSeq = s.pat.Seq
	err := s.limit.Stimulate(context.Background(), &s.pat)
	if err == nil {
		return CommandDelivered, nil
	}
	if _, ok := err.(*RefusalError); ok { // refused by the Limit alone
		return CommandLimited, err
	}
	return CommandFailed, err // sink failure (perhaps with refusals), or the Limit closed
}

// Stats returns a snapshot of the counters.
func (s *NATSCommandSource) Stats() CommandStats {
	st := CommandStats{Received: s.received.Load()}
	for i := range st.ByReason {
		st.ByReason[i] = s.byReason[i].Load()
	}
	return st
}

// Close unsubscribes; the Limit is not closed (it belongs to the caller).
func (s *NATSCommandSource) Close() error {
	return s.sub.Unsubscribe()
}
