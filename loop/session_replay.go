package loop

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.yaml.in/yaml/v3"

	"github.com/bciloop/bciloop/acquire"
	"github.com/bciloop/bciloop/decode"
)

// SessionDamage is a message of a session that could not be used: missing
// from the stream, or failing its chunk check (CRC, length, format).
type SessionDamage struct {
	Seq    uint64 `json:"seq"` // stream sequence
	Reason string `json:"reason"`
}

// ReadSession visits the messages of session name in stream order, each
// as received and parsed into a chunk (both valid until visit returns). A damaged message is
// not visited but reported to damage, with its sequence, and reading goes
// on past it: a message missing from the stream (deleted, or dropped by
// the store as unreadable) or one whose chunk check fails. It returns the
// stream's last sequence.
func ReadSession(ctx context.Context, nc *nats.Conn, name string, visit func(seq uint64, raw []byte, c *acquire.Chunk) error, damage func(SessionDamage)) (uint64, error) {
	js, err := jetstream.New(nc)
	if err != nil {
		return 0, err
	}
	st, err := js.Stream(ctx, SessionStream(name))
	if err != nil {
		if errors.Is(err, jetstream.ErrStreamNotFound) {
			return 0, fmt.Errorf("session %q: no stream %s on this server", name, SessionStream(name))
		}
		return 0, fmt.Errorf("session %q: %w", name, err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		return 0, fmt.Errorf("session %q: %w", name, err)
	}
	last := info.State.LastSeq
	if last == 0 {
		return 0, fmt.Errorf("session %q: stream %s is empty", name, SessionStream(name))
	}
	cons, err := st.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{})
	if err != nil {
		return last, fmt.Errorf("session %q: %w", name, err)
	}
	var c acquire.Chunk
	next := uint64(1)       // the sequence expected next
	left := info.State.Msgs // messages the stream holds and has not delivered yet
	wait := false
	for next <= last && left > 0 {
		// No wait: the stream holds everything already; a batch ends
		// with what is there rather than waiting for messages that
		// never come (a damaged one the store dropped). An empty batch
		// is tried again once, waiting a second, before the rest is
		// declared missing.
		var batch jetstream.MessageBatch
		if wait {
			batch, err = cons.Fetch(int(min(1024, left)), jetstream.FetchMaxWait(time.Second))
		} else {
			batch, err = cons.FetchNoWait(int(min(1024, left)))
		}
		if err != nil {
			return last, fmt.Errorf("session %q: reading at sequence %d: %w", name, next, err)
		}
		got := 0
		for m := range batch.Messages() {
			got++
			left--
			md, err := m.Metadata()
			if err != nil {
				return last, fmt.Errorf("session %q: message after sequence %d: %w", name, next-1, err)
			}
			seq := md.Sequence.Stream
			for ; next < seq; next++ {
				damage(SessionDamage{Seq: next, Reason: "missing from the stream (deleted, or dropped by the store as unreadable)"})
			}
			next = seq + 1
			if err := acquire.ParseChunk(m.Data(), &c); err != nil {
				damage(SessionDamage{Seq: seq, Reason: err.Error()})
				continue
			}
			if kind := sessionKinds[c.Type]; m.Subject() != SessionSubject(name, kind) {
				damage(SessionDamage{Seq: seq, Reason: fmt.Sprintf("a %s chunk on subject %s", kind, m.Subject())})
				continue
			}
			if err := visit(seq, m.Data(), &c); err != nil {
				return last, err
			}
		}
		if err := batch.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) && !errors.Is(err, context.DeadlineExceeded) {
			return last, fmt.Errorf("session %q: reading at sequence %d: %w", name, next, err)
		}
		if got == 0 && wait {
			break // nothing more comes
		}
		wait = got == 0
	}
	for ; next <= last; next++ {
		damage(SessionDamage{Seq: next, Reason: "missing from the stream (deleted, or dropped by the store as unreadable)"})
	}
	return last, nil
}

// ReplayOptions selects how a session is replayed.
type ReplayOptions struct {
	// Decoder is the decoder type to replay through; empty: the recorded
	// one, with the recorded parameters (every fit of the run, ReFIT
	// included, switched in at the bin where the run switched it).
	Decoder string
	// Params is a parameter file for Decoder; empty: Decoder is fitted on
	// the session's calibration bins (its first decoder.calibration), as
	// the run would have fitted it.
	Params string
	// Export, when set, writes the session's blocks, commands and
	// stimulation events to this bciloop recording file (it must not exist).
	Export string
}

// ReplayReport is what a replay found: offline metrics of the decoder
// replayed, agreement with the recorded commands, and the damage met.
type ReplayReport struct {
	Session         string `json:"session"`
	Rig             string `json:"rig"`
	RecordedDecoder string `json:"recorded_decoder"`
	Decoder         string `json:"decoder"`
	Fit             string `json:"fit"` // "recorded", "calibrate" or "file"
	Messages        uint64 `json:"messages"`
	Blocks          uint64 `json:"blocks"`
	Bins            uint64 `json:"bins"`
	CalibrationBins int    `json:"calibration_bins"`
	// Decoded counts the bins decoded by the replayed decoder.
	Decoded uint64 `json:"decoded"`
	// R² of the decoded velocity (vx, vy) against the recorded ground
	// truth, mean and per dimension; null without both.
	R2Vel     *float64  `json:"r2_vel"`
	R2VelDims []float64 `json:"r2_vel_dims,omitempty"`
	// R2VelRecorded is the same figure for the recorded commands over the
	// same bins.
	R2VelRecorded *float64 `json:"r2_vel_recorded"`
	// Commands recorded, and how the replayed commands compare: identical
	// means the same bytes (the replay stamps a command with the recorded
	// arrived_ns and sent_ns, which no replay can reproduce).
	CommandsRecorded  uint64 `json:"commands_recorded"`
	CommandsReplayed  uint64 `json:"commands_replayed"`
	CommandsIdentical uint64 `json:"commands_identical"`
	CommandsDiffer    uint64 `json:"commands_differ"`
	FirstDifference   string `json:"first_difference,omitempty"`
	// Agreement compares replayed and recorded states per component both
	// decoders have: RMS difference, and R² of the replay taking the
	// recorded commands as the reference.
	Agreement map[string]StateAgreement `json:"agreement,omitempty"`
	Stims     uint64                    `json:"stims"`
	Cursor    uint64                    `json:"cursor_states"`
	// Damaged counts unusable messages; Damage lists them (stream sequence
	// and why).
	Damaged        uint64          `json:"damaged"`
	Damage         []SessionDamage `json:"damage,omitempty"`
	Export         string          `json:"export,omitempty"`
	ExportedChunks uint64          `json:"exported_chunks,omitempty"`
}

// StateAgreement compares one state component of the replayed and the
// recorded commands.
type StateAgreement struct {
	RMSE float64 `json:"rmse"`
	R2   float64 `json:"r2"`
}

// sessionReplay re-runs a session's blocks through a decoder.
type sessionReplay struct {
	opt      ReplayOptions
	rep      *ReplayReport
	meta     SessionMeta
	haveMeta bool
	dcfg     DecoderConfig
	kind     decoderKind
	names    []string // the replayed decoder's state names
	fitCols  []int
	recorded bool // replaying the recorded decoder with its recorded parameters
	none     bool // a stream-only session replayed without a decoder

	binner   *decode.SpikeBinner
	bin      decode.Bin
	est      decode.Estimate
	dec      decode.Decoder
	calib    []decode.Bin
	switches []paramSwitch // recorded fits not yet applied, in order

	enc      *commandEncoder
	partial  partialCounts // what drops.go's rules did with partial bins
	seq      uint64
	cmds     map[uint64][]byte // recorded commands by bin seq, until their bin is replayed
	velIdx   [2]int            // vx, vy in the replayed state
	recVel   [2]int            // vx, vy in the recorded state
	velTruth [2]int
	r2       *decode.R2
	r2rec    *decode.R2
	common   []string
	agree    *decode.R2
	agreeBuf [2][]float64

	out *acquire.RecordingWriter
}

type paramSwitch struct {
	from   uint64
	params any
}

// ReplaySession replays session name read over nc (see ReplayOptions):
// every block in stream order through the binner and the decoder, exactly
// as the run did, so that the recorded decoder reproduces the recorded
// commands bit for bit.
func ReplaySession(ctx context.Context, nc *nats.Conn, name string, opt ReplayOptions) (*ReplayReport, error) {
	r := &sessionReplay{opt: opt, rep: &ReplayReport{Session: name}, cmds: map[uint64][]byte{}}
	last, err := ReadSession(ctx, nc, name, r.visit, func(d SessionDamage) {
		r.rep.Damaged++
		if len(r.rep.Damage) < 1000 {
			r.rep.Damage = append(r.rep.Damage, d)
		}
	})
	if r.out != nil {
		if cerr := r.out.Close(); err == nil && cerr != nil {
			err = cerr
		}
	}
	r.rep.Messages = last
	if err != nil {
		return r.rep, err
	}
	if !r.haveMeta {
		return r.rep, fmt.Errorf("session %q: no meta message (sequence 1) to replay from", name)
	}
	r.finish()
	return r.rep, nil
}

func (r *sessionReplay) visit(seq uint64, raw []byte, c *acquire.Chunk) error {
	if !r.haveMeta {
		if seq != 1 || c.Type != acquire.ChunkMeta {
			return fmt.Errorf("session %q: the meta message (stream sequence 1) is missing or damaged, and a replay needs it (message %d is a %s chunk)", r.rep.Session, seq, sessionKinds[c.Type])
		}
		return r.start(c.Payload)
	}
	if r.out != nil && c.Type <= acquire.ChunkStim && c.Type != acquire.ChunkMeta {
		if err := r.out.WriteChunk(raw); err != nil {
			return fmt.Errorf("export: %w", err)
		}
		r.rep.ExportedChunks++
	}
	switch c.Type {
	case acquire.ChunkBlock:
		return r.block(&c.Block)
	case acquire.ChunkCommand:
		var cmd struct {
			BinSeq uint64 `json:"bin_seq"`
		}
		if err := json.Unmarshal(c.Payload, &cmd); err != nil {
			r.damage(seq, fmt.Sprintf("command does not parse: %v", err))
			return nil
		}
		r.rep.CommandsRecorded++
		r.cmds[cmd.BinSeq] = bytes.Clone(c.Payload)
	case acquire.ChunkParams:
		if !r.recorded || r.none {
			return nil
		}
		from := binary.LittleEndian.Uint64(c.Payload)
		p, err := r.kind.read(bytes.NewReader(c.Payload[8:]))
		if err != nil {
			r.damage(seq, fmt.Sprintf("decoder parameters do not load: %v", err))
			return nil
		}
		r.switches = append(r.switches, paramSwitch{from, p})
	case acquire.ChunkStim:
		r.rep.Stims++
	case acquire.ChunkCursor:
		r.rep.Cursor++
	}
	return nil
}

func (r *sessionReplay) damage(seq uint64, reason string) {
	r.rep.Damaged++
	if len(r.rep.Damage) < 1000 {
		r.rep.Damage = append(r.rep.Damage, SessionDamage{seq, reason})
	}
}

// start reads the meta message and sets the replay up.
func (r *sessionReplay) start(payload []byte) error {
	m := &r.meta
	if err := json.Unmarshal(payload, m); err != nil {
		return fmt.Errorf("session %q: meta message: %w", r.rep.Session, err)
	}
	if m.Format != "bciloop session" || m.Version != SessionVersion {
		return fmt.Errorf("session %q: meta says format %q version %d; this build replays %q version %d", r.rep.Session, m.Format, m.Version, "bciloop session", SessionVersion)
	}
	r.haveMeta = true
	r.rep.Rig, r.rep.RecordedDecoder = m.Rig, m.Decoder
	r.dcfg = DefaultConfig().Decoder
	if err := yaml.Unmarshal([]byte(m.DecoderConfig), &r.dcfg); err != nil {
		return fmt.Errorf("session %q: meta decoder_config: %w", r.rep.Session, err)
	}
	typ := r.opt.Decoder
	if typ == "" {
		typ = m.Decoder
	}
	var err error
	if r.binner, err = decode.NewSpikeBinner(m.Channels, m.BinFrames); err != nil {
		return fmt.Errorf("session %q: %w", r.rep.Session, err)
	}
	r.rep.Decoder = typ
	if typ == "none" {
		// A stream-only session: blocks and bins are counted (and
		// exported), nothing is decoded.
		r.none = true
		return r.startExport(payload)
	}
	kind, ok := decoderKinds[typ]
	if !ok {
		return fmt.Errorf("decoder: unknown %q (one of: %s)", typ, strings.Join(decoderTypes(), ", "))
	}
	r.kind = kind
	r.dcfg.Type = typ
	r.recorded = typ == m.Decoder && r.opt.Params == ""
	r.velTruth = [2]int{index(m.Truth, "vx"), index(m.Truth, "vy")}
	switch {
	case r.recorded:
		r.rep.Fit = "recorded"
		r.names = m.State
		r.rep.CalibrationBins = m.CalibBins
	case r.opt.Params != "":
		r.rep.Fit = "file"
		p, err := loadDecoderParams(kind, r.opt.Params)
		if err != nil {
			return fmt.Errorf("--params: %w", err)
		}
		if n, ok := paramUnits(p); ok && n != m.Channels {
			return fmt.Errorf("--params: %s fits %d channels but the session has %d", r.opt.Params, n, m.Channels)
		}
		if r.dec, err = kind.build(&r.dcfg, p); err != nil {
			return fmt.Errorf("decoder: %w", err)
		}
		if sn, ok := r.dec.(decode.StateNamer); ok {
			r.names = sn.StateNames()
		}
	default:
		r.rep.Fit = "calibrate"
		if r.velTruth[0] < 0 || r.velTruth[1] < 0 {
			return fmt.Errorf("decoder: fitting %s needs ground truth with vx and vy, and the session has %v; give --params", typ, m.Truth)
		}
		for i, n := range m.Truth {
			if !(kind.velocityOnly || m.VelOnly) || n == "vx" || n == "vy" {
				r.fitCols = append(r.fitCols, i)
				r.names = append(r.names, n)
			}
		}
		if typ == "poisson" {
			if len(r.dcfg.Poisson.Axes) == 0 && len(r.dcfg.Poisson.Classes) == 0 {
				r.dcfg.Poisson.Axes = defaultPoissonAxes(m.PoissonRMS)
			}
			r.names = r.names[:0]
			for _, a := range r.dcfg.Poisson.Axes {
				r.names = append(r.names, a.Name)
			}
		}
		r.rep.CalibrationBins = m.CalibBins
		if m.CalibBins == 0 {
			r.rep.CalibrationBins = int(r.dcfg.Calibration.Seconds() * m.Rate / float64(m.BinFrames))
		}
	}
	r.enc = newCommandEncoder(m.Rig, typ, r.names)
	r.velIdx = [2]int{index(r.names, "vx"), index(r.names, "vy")}
	r.recVel = [2]int{index(m.State, "vx"), index(m.State, "vy")}
	r.r2, r.r2rec = decode.NewR2(2), decode.NewR2(2)
	for _, n := range r.names {
		if index(m.State, n) >= 0 {
			r.common = append(r.common, n)
		}
	}
	if len(r.common) > 0 {
		r.agree = decode.NewR2(len(r.common))
		r.agreeBuf = [2][]float64{make([]float64, len(r.common)), make([]float64, len(r.common))}
	}
	return r.startExport(payload)
}

// startExport creates the export file (when asked for) with the session's
// meta message as its metadata.
func (r *sessionReplay) startExport(meta []byte) error {
	if r.opt.Export == "" {
		return nil
	}
	var err error
	if r.out, err = acquire.CreateRecordingWriter(r.opt.Export, meta); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	r.rep.Export = r.opt.Export
	return nil
}

func decoderTypes() []string {
	var s []string
	for k := range decoderKinds {
		s = append(s, k)
	}
	slices.Sort(s)
	return s
}

func (r *sessionReplay) block(b *acquire.Block) error {
	r.rep.Blocks++
	if err := r.binner.Add(b); err != nil {
		return fmt.Errorf("session %q: block %d: %w", r.rep.Session, b.Seq, err)
	}
	for r.binner.Next(&r.bin) {
		r.rep.Bins++
		if err := r.decodeBin(); err != nil {
			return err
		}
	}
	return nil
}

func (r *sessionReplay) decodeBin() error {
	if r.none {
		return nil
	}
	for len(r.switches) > 0 && r.switches[0].from <= r.bin.Seq {
		d, err := r.kind.build(&r.dcfg, r.switches[0].params)
		if err != nil {
			return fmt.Errorf("decoder: recorded parameters from bin %d: %w", r.switches[0].from, err)
		}
		r.dec = d
		r.switches = r.switches[1:]
	}
	if r.dec == nil {
		if r.recorded {
			return nil // the run was calibrating
		}
		if !calibrationRule(&r.bin, &r.partial) {
			return nil // as the run: too few frames observed to calibrate on
		}
		b := r.bin
		b.Counts = append([]float64(nil), r.bin.Counts...)
		b.Truth = make([]float64, len(r.fitCols))
		for i, c := range r.fitCols {
			b.Truth[i] = r.bin.Truth[c]
		}
		r.calib = append(r.calib, b)
		if len(r.calib) < r.rep.CalibrationBins {
			return nil
		}
		p, err := r.kind.fit(&r.dcfg, r.calib, r.names)
		if err != nil {
			return fmt.Errorf("decoder: fitting %s on %d calibration bins: %w", r.rep.Decoder, len(r.calib), err)
		}
		if r.dec, err = r.kind.build(&r.dcfg, p); err != nil {
			return fmt.Errorf("decoder: %w", err)
		}
		r.calib = nil
		return nil
	}
	// The run's rule for bins that lost frames (drops.go), so that partial
	// bins decode and encode as they did live.
	ok, err := decodeRule(r.dec, &r.est, &r.bin, &r.partial, r.enc)
	if err != nil {
		return fmt.Errorf("bin %d: %w", r.bin.Seq, err)
	}
	if !ok {
		return nil // the run sent no command for this bin either
	}
	r.rep.Decoded++
	r.seq++
	rec, haveRec := r.cmds[r.bin.Seq]
	delete(r.cmds, r.bin.Seq)
	var recCmd Command
	if haveRec {
		if err := json.Unmarshal(rec, &recCmd); err != nil {
			haveRec = false
		}
	}
	if haveRec {
		est := r.est
		est.Arrived = recCmd.ArrivedNS
		got := r.enc.encode(r.seq, &est, recCmd.SentNS)
		r.rep.CommandsReplayed++
		if bytes.Equal(got, rec) {
			r.rep.CommandsIdentical++
		} else {
			r.rep.CommandsDiffer++
			if r.rep.FirstDifference == "" && r.recorded {
				r.rep.FirstDifference = fmt.Sprintf("bin %d: recorded %s, replayed %s", r.bin.Seq, rec, got)
			}
		}
		if r.agree != nil {
			ok := true
			for i, n := range r.common {
				v, in := recCmd.State[n]
				r.agreeBuf[0][i], r.agreeBuf[1][i] = r.est.State[index(r.names, n)], v
				ok = ok && in && !math.IsNaN(v)
			}
			if ok {
				_ = r.agree.Add(r.agreeBuf[0], r.agreeBuf[1])
			}
		}
	}
	if len(r.bin.Truth) > 0 && r.velTruth[0] >= 0 && r.velTruth[1] >= 0 {
		truth := []float64{r.bin.Truth[r.velTruth[0]], r.bin.Truth[r.velTruth[1]]}
		if r.velIdx[0] >= 0 && r.velIdx[1] >= 0 {
			_ = r.r2.Add([]float64{r.est.State[r.velIdx[0]], r.est.State[r.velIdx[1]]}, truth)
		}
		if haveRec {
			vx, okx := recCmd.State["vx"]
			vy, oky := recCmd.State["vy"]
			if okx && oky {
				_ = r.r2rec.Add([]float64{vx, vy}, truth)
			}
		}
	}
	return nil
}

// finish computes the report's figures.
func (r *sessionReplay) finish() {
	if r.none {
		return
	}
	mean := func(v []float64) *float64 { m := (v[0] + v[1]) / 2; return &m }
	if r.r2.Count() > 1 {
		r.rep.R2VelDims = r.r2.R2To(nil)
		r.rep.R2Vel = mean(r.rep.R2VelDims)
	}
	if r.r2rec.Count() > 1 {
		r.rep.R2VelRecorded = mean(r.r2rec.R2To(nil))
	}
	if r.agree != nil && r.agree.Count() > 1 {
		r2, rmse := r.agree.R2To(nil), r.agree.RMSETo(nil)
		r.rep.Agreement = map[string]StateAgreement{}
		for i, n := range r.common {
			r.rep.Agreement[n] = StateAgreement{RMSE: rmse[i], R2: r2[i]}
		}
	}
}
