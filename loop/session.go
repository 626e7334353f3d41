package loop

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"
	"go.yaml.in/yaml/v3"

	"github.com/bciloop/bciloop/acquire"
	"github.com/bciloop/bciloop/decode"
)

// SessionConfig records a run as a session on JetStream (README,
// "Sessions"): every block (raw samples, spikes, ground truth), bin,
// command, cursor state, stimulation pattern and decoder fit goes, one
// recording chunk per message, to the stream SessionStream(name) under
// bciloop-session.<name>.<kind>. The embedded server needs nats.store_dir;
// an external server must have JetStream enabled.
type SessionConfig struct {
	Name string `yaml:"name"` // empty: no session
	// MaxPending bounds the publishes awaiting their acknowledgement.
	MaxPending int `yaml:"max_pending"`
	// AckTimeout is how long a publish waits for its acknowledgement
	// before it counts as lost (and is sent again).
	AckTimeout time.Duration `yaml:"ack_timeout"`
	// RetryWait is the pause between attempts to reach the stream after
	// a failed publish (server down, stream unavailable).
	RetryWait time.Duration `yaml:"retry_wait"`
	// BufferBytes is the initial size of each buffer between the pipeline
	// and the publisher; MaxBufferBytes bounds the bytes waiting there:
	// beyond it messages are refused and counted (Summary.Session.Rejected)
	// rather than grow memory without bound or stall the loop.
	BufferBytes    int `yaml:"buffer_bytes"`
	MaxBufferBytes int `yaml:"max_buffer_bytes"`
	// DrainTimeout bounds the wait at the end of the run for every message
	// to be acknowledged; what is left is reported as unconfirmed.
	DrainTimeout time.Duration `yaml:"drain_timeout"`
}

// DefaultSessionConfig returns no session, 256 publishes in flight, 2 s ack
// timeout, 100 ms retry wait, 1 MiB buffers bounded at 64 MiB, 30 s drain.
func DefaultSessionConfig() SessionConfig {
	return SessionConfig{MaxPending: 256, AckTimeout: 2 * time.Second, RetryWait: 100 * time.Millisecond,
		BufferBytes: 1 << 20, MaxBufferBytes: 64 << 20, DrainTimeout: 30 * time.Second}
}

// Validate reports every problem with c, each as "key: message".
func (c *SessionConfig) Validate() error {
	var errs []error
	if c.Name != "" && !rigName.MatchString(c.Name) {
		errs = append(errs, fmt.Errorf("name: %q must be letters, digits, '-' or '_' (it is a NATS subject token and part of a stream name)", c.Name))
	}
	if c.MaxPending < 1 || c.MaxPending > 1<<16 {
		errs = append(errs, fmt.Errorf("max_pending: must be in [1, 65536], got %d", c.MaxPending))
	}
	if c.AckTimeout <= 0 {
		errs = append(errs, errors.New("ack_timeout: must be > 0"))
	}
	if c.RetryWait <= 0 {
		errs = append(errs, errors.New("retry_wait: must be > 0"))
	}
	if c.BufferBytes < 4096 {
		errs = append(errs, fmt.Errorf("buffer_bytes: must be ≥ 4096, got %d", c.BufferBytes))
	}
	if c.MaxBufferBytes < c.BufferBytes {
		errs = append(errs, fmt.Errorf("max_buffer_bytes: must be ≥ buffer_bytes %d, got %d", c.BufferBytes, c.MaxBufferBytes))
	}
	if c.DrainTimeout <= 0 {
		errs = append(errs, errors.New("drain_timeout: must be > 0"))
	}
	return errors.Join(errs...)
}

// SessionStream is the JetStream stream that holds session name.
func SessionStream(name string) string { return "BCILOOP_SESSION_" + name }

// SessionSubject is the subject of a session's messages of one kind:
// bciloop-session.<name>.<kind>, kind one of meta, block, bins, cmd,
// cursor, stim, params.
func SessionSubject(name, kind string) string { return "bciloop-session." + name + "." + kind }

// sessionKinds names the subject kind of each chunk type a session holds.
var sessionKinds = map[acquire.ChunkType]string{
	acquire.ChunkMeta: "meta", acquire.ChunkBlock: "block", acquire.ChunkBins: "bins", acquire.ChunkCommand: "cmd",
	acquire.ChunkCursor: "cursor", acquire.ChunkStim: "stim", acquire.ChunkParams: "params",
}

// SessionVersion is the version of a session's meta message.
const SessionVersion = 1

// SessionMeta is the first message of every session (stream sequence 1):
// what a replay needs to re-run it.
type SessionMeta struct {
	Format     string   `json:"format"` // "bciloop session"
	Version    int      `json:"version"`
	Session    string   `json:"session"`
	Created    string   `json:"created"` // RFC 3339, UTC
	Rig        string   `json:"rig"`
	Source     string   `json:"source"`
	Channels   int      `json:"channels"`
	Rate       float64  `json:"rate"`
	BinFrames  int      `json:"bin_frames"`
	Decoder    string   `json:"decoder"`
	Fit        string   `json:"fit"`
	State      []string `json:"state"`
	Truth      []string `json:"truth"`
	FitCols    []int    `json:"fit_cols"`
	CalibBins  int      `json:"calibration_bins"`
	VelOnly    bool     `json:"velocity_only"` // the task fits every decoder on vx, vy alone
	PoissonRMS float64  `json:"poisson_speed"` // speed scale of the Poisson decoder's default grid
	Lockstep   bool     `json:"lockstep"`
	// DecoderConfig is the run's decoder section, as YAML.
	DecoderConfig string `json:"decoder_config"`
}

// SessionSummary is a session's figures in the final summary.
type SessionSummary struct {
	Name        string `json:"name"`
	Stream      string `json:"stream"`
	Messages    uint64 `json:"messages"`    // appended by the loop (the stream sequence of the last)
	Acked       uint64 `json:"acked"`       // acknowledged as stored by JetStream
	Unconfirmed uint64 `json:"unconfirmed"` // appended but not acknowledged when the run ended (drain_timeout)
	Rejected    uint64 `json:"rejected"`    // refused: max_buffer_bytes waiting (counted, never silent)
	Resyncs     uint64 `json:"resyncs"`     // publish failures recovered from the stream's last sequence
	Resent      uint64 `json:"resent"`      // messages in flight when a publish failed, published again after the resync
	Grows       uint64 `json:"grows"`       // appends that had to grow a buffer (an allocation)
	Error       string `json:"error,omitempty"`
}

// sessionRecorder is the loop's session on JetStream.
//
// The pipeline goroutine encodes each message as a recording chunk into an
// in-memory buffer under a mutex and returns (no system call, no
// allocation once the buffer has room, as acquire.Recorder). The
// publisher goroutine swaps the buffer for another and publishes its
// chunks asynchronously on a connection of its own (its bursts never hold
// the lock of the pipeline's connection), at most max_pending
// unacknowledged, each with the
// header Nats-Expected-Last-Sequence = its own sequence − 1: the stream is
// the session's alone, so message i of the session is stream sequence i,
// and JetStream refuses a message whose predecessor is missing. A lost
// publish (ack timeout, error, server gone) therefore never leaves a gap:
// the publisher waits for the stream, reads its last sequence L (every
// message up to L is stored, in order) and publishes again from L+1. A
// buffer is reused only once every message in it is acknowledged.
type sessionRecorder struct {
	log     zerolog.Logger
	cfg     SessionConfig
	name    string
	nc      *nats.Conn // the publisher's own connection
	stream  jetstream.Stream
	js      jetstream.JetStream
	subject [256]string // by chunk type

	mu       sync.Mutex
	enc      acquire.ChunkEncoder
	active   []byte
	kickAt   int
	appended uint64
	rejected uint64
	grows    uint64
	closed   bool
	free     [][]byte // buffers the publisher is done with

	kick chan struct{}
	stop chan struct{}
	done chan struct{}

	// publisher goroutine
	pending  []*sessionBuf // in sequence order, not yet all acknowledged
	held     uint64        // last sequence held in pending
	sent     uint64        // last sequence published since the last resync
	inflight []sessionFuture
	stopC    <-chan struct{}  // s.stop, nil once stopping
	deadline <-chan time.Time // drain_timeout from close, once stopping

	acked, resyncs, resent, unconfirmed atomic.Uint64
	errMsg                              atomic.Pointer[string]
}

type sessionBuf struct {
	data  []byte
	first uint64 // sequence of the first message
	offs  []int  // start of each message; end is the next start or len(data)
}

type sessionFuture struct {
	seq uint64
	f   jetstream.PubAckFuture
}

// startSession creates the session's stream (it must not exist with
// messages: a session is never overwritten), publishes the meta message
// and starts the publisher. Run calls it after connecting.
func (l *Loop) startSession() (err error) {
	sc := l.cfg.Session
	if sc.Name == "" || l.sess != nil {
		return nil
	}
	// The publisher has a connection of its own: its bursts (a resend
	// after a failure, the client's reconnect buffer being flushed)
	// never hold the lock of the connection the pipeline publishes on.
	log := l.log.With().Str("component", "session").Str("session", sc.Name).Logger()
	var extra []nats.Option
	if l.srv != nil {
		extra = append(extra, l.srv.InProcess())
	}
	ncfg := l.cfg.NATS
	ncfg.Name += "-session"
	nc, err := Connect(l.url, &ncfg, log, extra...)
	if err != nil {
		return fmt.Errorf("session: %w", err)
	}
	defer func() {
		if err != nil {
			nc.Close()
		}
	}()
	s, err := newSessionRecorder(nc, sc, log)
	if err != nil {
		return err
	}
	meta := SessionMeta{Format: "bciloop session", Version: SessionVersion, Session: sc.Name, Created: time.Now().UTC().Format(time.RFC3339Nano),
		Rig: l.cfg.Rig, Source: l.cfg.Source.Type, Channels: l.channels, Rate: l.rate, BinFrames: l.frames,
		Decoder: l.decName, Fit: l.cfg.Decoder.Fit, State: l.stateNames, Truth: l.truthNames, FitCols: l.fitCols, CalibBins: l.calibBins,
		VelOnly: taskVelocityOnly(&l.cfg), PoissonRMS: poissonSpeed(&l.cfg), Lockstep: l.cfg.Run.Lockstep}
	dc, err := yaml.Marshal(l.cfg.Decoder)
	if err != nil {
		return fmt.Errorf("session: encoding the decoder config: %w", err)
	}
	meta.DecoderConfig = string(dc)
	mb, err := json.Marshal(meta)
	if err != nil {
		return fmt.Errorf("session: %w", err)
	}
	s.appendChunk(acquire.ChunkMeta, mb)
	if l.dec != nil && l.cfg.Decoder.Fit == "file" {
		// A loaded decoder: its parameters apply from the first bin.
		p, err := loadDecoderParams(l.kind, l.cfg.Decoder.Params)
		if err != nil {
			return fmt.Errorf("decoder.params: %w", err)
		}
		if err := s.params(l.kind, 0, p); err != nil {
			return err
		}
	}
	// Every later fit (calibration, ReFIT) builds its decoder through
	// l.kind.build: record its parameters there, applying from the bin
	// after the one being processed.
	kind, build := l.kind, l.kind.build
	l.kind.build = func(c *DecoderConfig, p any) (decode.Decoder, error) {
		d, err := build(c, p)
		if err == nil {
			if perr := s.params(kind, l.bin.Seq+1, p); perr != nil {
				s.fail(perr)
			}
		}
		return d, err
	}
	l.subjCursor = "bciloop." + l.cfg.Rig + ".cursor"
	l.sess = s
	go s.run()
	return nil
}

func newSessionRecorder(nc *nats.Conn, sc SessionConfig, log zerolog.Logger) (*sessionRecorder, error) {
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(sc.MaxPending+1), jetstream.WithPublishAsyncTimeout(sc.AckTimeout))
	if err != nil {
		return nil, fmt.Errorf("session: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	name := SessionStream(sc.Name)
	st, err := js.CreateStream(ctx, jetstream.StreamConfig{
		Name: name, Subjects: []string{SessionSubject(sc.Name, ">")}, Storage: jetstream.FileStorage,
		Retention: jetstream.LimitsPolicy, Discard: jetstream.DiscardNew,
		Description: "bciloop session " + sc.Name,
	})
	if err != nil {
		return nil, fmt.Errorf("session: creating stream %s (does the server run JetStream? nats.store_dir for the embedded one): %w", name, err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		return nil, fmt.Errorf("session: stream %s: %w", name, err)
	}
	if info.State.LastSeq != 0 {
		return nil, fmt.Errorf("session.name: session %q exists (stream %s holds %d messages); a session is never overwritten", sc.Name, name, info.State.Msgs)
	}
	s := &sessionRecorder{log: log, cfg: sc, name: sc.Name, nc: nc, stream: st, js: js,
		active: make([]byte, 0, sc.BufferBytes), kickAt: sc.BufferBytes / 2,
		kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{}),
		inflight: make([]sessionFuture, 0, sc.MaxPending)}
	for t, k := range sessionKinds {
		s.subject[t] = SessionSubject(sc.Name, k)
	}
	return s, nil
}

// reserve reports whether a chunk of n bytes may be appended, counting a
// refusal or a buffer growth. Called with s.mu held.
func (s *sessionRecorder) reserve(n int) bool {
	if s.closed {
		return false
	}
	if len(s.active)+n > s.cfg.MaxBufferBytes {
		s.rejected++
		return false
	}
	if cap(s.active)-len(s.active) < n {
		s.grows++
	}
	return true
}

// commit counts the chunk just appended and wakes the publisher when the
// buffer passes its mark. Called with s.mu held.
func (s *sessionRecorder) commit() {
	s.appended++
	if len(s.active) >= s.kickAt {
		select {
		case s.kick <- struct{}{}:
		default:
		}
	}
}

func (s *sessionRecorder) block(b *acquire.Block) {
	s.mu.Lock()
	if s.reserve(acquire.BlockChunkSize(b)) {
		s.active = s.enc.AppendBlock(s.active, b)
		s.commit()
	}
	s.mu.Unlock()
}

func (s *sessionRecorder) command(now int64, data []byte) {
	s.mu.Lock()
	if s.reserve(20 + len(data)) {
		s.active = s.enc.AppendCommand(s.active, now, data)
		s.commit()
	}
	s.mu.Unlock()
}

func (s *sessionRecorder) stim(now int64, ev *acquire.StimEvent) {
	s.mu.Lock()
	if s.reserve(52 + 40*len(ev.Pulses)) {
		s.active = s.enc.AppendStim(s.active, now, ev)
		s.commit()
	}
	s.mu.Unlock()
}

func (s *sessionRecorder) appendChunk(t acquire.ChunkType, payload []byte) {
	s.mu.Lock()
	if s.reserve(12 + len(payload)) {
		s.active = acquire.AppendChunk(s.active, t, payload)
		s.commit()
	}
	s.mu.Unlock()
}

// params records decoder parameters that apply from the bin with sequence
// binSeq on (bins count from 0). It allocates: fits are rare.
func (s *sessionRecorder) params(kind decoderKind, binSeq uint64, p any) error {
	var b paramsBuffer
	b.buf = make([]byte, 8, 4096)
	b.buf[0], b.buf[1], b.buf[2], b.buf[3], b.buf[4], b.buf[5], b.buf[6], b.buf[7] =
		byte(binSeq), byte(binSeq>>8), byte(binSeq>>16), byte(binSeq>>24), byte(binSeq>>32), byte(binSeq>>40), byte(binSeq>>48), byte(binSeq>>56)
	if err := kind.write(&b, p); err != nil {
		return fmt.Errorf("session: encoding decoder parameters: %w", err)
	}
	s.appendChunk(acquire.ChunkParams, b.buf)
	return nil
}

type paramsBuffer struct{ buf []byte }

func (b *paramsBuffer) Write(p []byte) (int, error) { b.buf = append(b.buf, p...); return len(p), nil }

// tee records what the loop publishes on a subject a session keeps.
func (l *Loop) tee(subj string, data []byte) {
	switch subj {
	case l.subjCmd:
		l.sess.command(acquire.Now(), data)
	case l.subjBins:
		l.sess.appendChunk(acquire.ChunkBins, data)
	case l.subjCursor:
		l.sess.appendChunk(acquire.ChunkCursor, data)
	}
}

func (s *sessionRecorder) fail(err error) {
	msg := err.Error()
	if s.errMsg.CompareAndSwap(nil, &msg) {
		s.log.Error().Err(err).Msg("session")
	}
}

// summary returns the session's figures.
func (s *sessionRecorder) summary() *SessionSummary {
	s.mu.Lock()
	sum := &SessionSummary{Name: s.name, Stream: SessionStream(s.name), Messages: s.appended, Rejected: s.rejected, Grows: s.grows}
	s.mu.Unlock()
	sum.Acked, sum.Resyncs, sum.Resent, sum.Unconfirmed = s.acked.Load(), s.resyncs.Load(), s.resent.Load(), s.unconfirmed.Load()
	if e := s.errMsg.Load(); e != nil {
		sum.Error = *e
	}
	return sum
}

// close stops appends and waits for the publisher to have every message
// acknowledged (or drain_timeout to pass).
func (s *sessionRecorder) close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	s.mu.Unlock()
	close(s.stop)
	<-s.done
	s.nc.Close() // every message is acknowledged, or reported unconfirmed
}

// swap moves the appended chunks into pending and returns whether there
// were any.
func (s *sessionRecorder) swap() bool {
	s.mu.Lock()
	if len(s.active) == 0 {
		s.mu.Unlock()
		return false
	}
	data := s.active
	var next []byte
	if n := len(s.free); n > 0 {
		next, s.free = s.free[n-1][:0], s.free[:n-1]
	} else {
		next = make([]byte, 0, s.cfg.BufferBytes)
	}
	s.active = next
	s.mu.Unlock()
	b := &sessionBuf{data: data, first: s.held + 1}
	for o := 0; o < len(data); {
		b.offs = append(b.offs, o)
		o += 12 + int(uint32(data[o+4])|uint32(data[o+5])<<8|uint32(data[o+6])<<16|uint32(data[o+7])<<24)
	}
	s.held += uint64(len(b.offs))
	s.pending = append(s.pending, b)
	return true
}

// msg returns the chunk of sequence seq, which pending holds.
func (s *sessionRecorder) msg(seq uint64) []byte {
	for _, b := range s.pending {
		if seq < b.first || seq >= b.first+uint64(len(b.offs)) {
			continue
		}
		i := int(seq - b.first)
		end := len(b.data)
		if i+1 < len(b.offs) {
			end = b.offs[i+1]
		}
		return b.data[b.offs[i]:end]
	}
	return nil
}

// release hands back the buffers whose messages are all acknowledged.
func (s *sessionRecorder) release(acked uint64) {
	n := 0
	for n < len(s.pending) && s.pending[n].first+uint64(len(s.pending[n].offs))-1 <= acked {
		n++
	}
	if n == 0 {
		return
	}
	s.mu.Lock()
	for _, b := range s.pending[:n] {
		if len(s.free) < 4 {
			s.free = append(s.free, b.data[:0])
		}
	}
	s.mu.Unlock()
	s.pending = append(s.pending[:0], s.pending[n:]...)
}

// publish sends message seq; a failure to hand it to the connection is
// reported like a failed acknowledgement.
func (s *sessionRecorder) publish(seq uint64) error {
	data := s.msg(seq)
	if data == nil {
		return fmt.Errorf("session: message %d is no longer held", seq)
	}
	m := &nats.Msg{Subject: s.subject[data[0]], Data: data, Header: nats.Header{}}
	f, err := s.js.PublishMsgAsync(m, jetstream.WithExpectLastSequence(seq-1), jetstream.WithRetryAttempts(0), jetstream.WithStallWait(s.cfg.AckTimeout))
	if err != nil {
		return err
	}
	s.sent = seq
	s.inflight = append(s.inflight, sessionFuture{seq, f})
	return nil
}

// run is the publisher goroutine.
func (s *sessionRecorder) run() {
	defer close(s.done)
	// The pipeline's buffer is taken every 20 ms, or sooner when it is
	// half full, or when nothing is in flight: a few large publishes'
	// worth of buffers are held at a time, not one per acknowledgement.
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	s.stopC = s.stop
	due := true
	for {
		if s.sent == s.held && (due || len(s.inflight) == 0 || s.stopC == nil) {
			s.swap()
			due = false
		}
		var err error
		for err == nil && s.sent < s.held && len(s.inflight) < s.cfg.MaxPending {
			err = s.publish(s.sent + 1)
		}
		if err != nil {
			if !s.resync(err) {
				break
			}
			continue
		}
		if len(s.inflight) == 0 {
			if s.stopC == nil {
				s.mu.Lock()
				empty := len(s.active) == 0
				s.mu.Unlock()
				if empty {
					break
				}
				continue
			}
			select {
			case <-s.kick:
			case <-tick.C:
			case <-s.stopC:
				s.stopping()
			}
			continue
		}
		// Wait for the oldest acknowledgement, noting meanwhile when the
		// pipeline's buffer is due to be taken.
		f := s.inflight[0]
		select {
		case <-f.f.Ok():
			s.inflight = s.inflight[1:]
			s.acked.Store(f.seq)
			s.release(f.seq)
		case err := <-f.f.Err():
			if !s.resync(fmt.Errorf("message %d: %w", f.seq, err)) {
				goto out
			}
		case <-tick.C:
			due = true
		case <-s.kick:
			due = true
		case <-s.stopC:
			s.stopping()
		case <-s.deadline:
			goto out
		}
	}
out:
	s.mu.Lock()
	held := s.appended
	s.mu.Unlock()
	if a := s.acked.Load(); held > a {
		s.unconfirmed.Store(held - a)
		s.fail(fmt.Errorf("session: %d of %d messages not acknowledged within drain_timeout %v", held-a, held, s.cfg.DrainTimeout))
	}
}

// stopping notes that close was called: from now on the publisher drains
// what it holds until drain_timeout.
func (s *sessionRecorder) stopping() {
	s.stopC, s.deadline = nil, time.After(s.cfg.DrainTimeout)
}

// resync recovers from a failed publish: it waits until the stream
// answers, takes its last sequence L as acknowledged (the expected-last-
// sequence chain stores nothing out of order) and publishes again from
// L+1. It returns false when drain_timeout passes first.
func (s *sessionRecorder) resync(cause error) bool {
	if s.resyncs.Add(1) == 1 || s.resyncs.Load()%100 == 0 {
		s.log.Warn().Err(cause).Uint64("resyncs", s.resyncs.Load()).Msg("session publish failed; resending from the stream's last sequence")
	}
	for {
		ctx, cancel := context.WithTimeout(context.Background(), s.cfg.AckTimeout)
		info, err := s.stream.Info(ctx)
		cancel()
		if err == nil {
			last := info.State.LastSeq
			if last < s.acked.Load() {
				s.fail(fmt.Errorf("session: stream %s lost acknowledged messages: last sequence %d, %d were acknowledged", SessionStream(s.name), last, s.acked.Load()))
				return false
			}
			if last > s.held {
				s.fail(fmt.Errorf("session: stream %s holds %d messages, more than the %d sent: another publisher writes to it", SessionStream(s.name), last, s.held))
				return false
			}
			s.resent.Add(s.sent - min(s.sent, last))
			s.acked.Store(last)
			s.release(last)
			s.sent = last
			s.inflight = s.inflight[:0]
			return true
		}
		select {
		case <-time.After(s.cfg.RetryWait):
		case <-s.stopC:
			s.stopping()
		case <-s.deadline:
			return false
		}
	}
}
