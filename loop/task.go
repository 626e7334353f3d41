package loop

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"time"
)

// TaskConfig configures the closed-loop cursor task (Task) and its simulated
// user. Type "none" runs no task.
type TaskConfig struct {
	Type    string `yaml:"type"`    // see Components["task.type"]
	Control string `yaml:"control"` // see Components["task.control"]

	Workspace    float64       `yaml:"workspace"`     // half-width of the square the cursor is kept in, cm
	Distance     float64       `yaml:"distance"`      // centre-out: distance of the outer targets from the centre, cm
	Targets      int           `yaml:"targets"`       // centre-out: outer targets, evenly spaced
	TargetRadius float64       `yaml:"target_radius"` // acceptance radius, cm
	MinDistance  float64       `yaml:"min_distance"`  // random: least distance of a new target from the cursor, cm
	Hold         time.Duration `yaml:"hold"`          // time in the target that acquires it
	Timeout      time.Duration `yaml:"timeout"`       // a trial not holding by then fails
	InterTrial   time.Duration `yaml:"inter_trial"`   // blank screen between trials
	Seed         uint64        `yaml:"seed"`          // target order

	// Refit, when enabled, recalibrates the Kalman decoder by intention
	// estimation (ReFIT, Gilja et al. 2012) after the first closed-loop
	// block of length After.
	Refit RefitConfig `yaml:"refit"`

	User UserConfig `yaml:"user"`
}

// RefitConfig configures ReFIT recalibration.
type RefitConfig struct {
	Enabled bool          `yaml:"enabled"`
	After   time.Duration `yaml:"after"` // closed-loop time with the first decoder whose bins are refitted
}

// DefaultTaskConfig returns no task, with the parameters of a centre-out
// task after Gilja et al. (2012, Nat Neurosci 15:1752): 8 targets at 8 cm,
// a 500 ms hold; here a 2 cm acceptance radius, a 3 s timeout and a 200 ms
// blank between trials.
func DefaultTaskConfig() TaskConfig {
	return TaskConfig{Type: "none", Control: "velocity", Workspace: 12, Distance: 8, Targets: 8, TargetRadius: 2,
		MinDistance: 6, Hold: 500 * time.Millisecond, Timeout: 3 * time.Second, InterTrial: 200 * time.Millisecond, Seed: 1,
		Refit: RefitConfig{After: time.Minute}, User: DefaultUserConfig()}
}

// Validate reports every problem of c at once, each as "key: message".
func (c *TaskConfig) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
	}
	if _, ok := Components["task.type"][c.Type]; !ok {
		bad("type", "unknown %q (one of: %s)", c.Type, names(Components["task.type"]))
	}
	if _, ok := Components["task.control"][c.Control]; !ok {
		bad("control", "unknown %q (one of: %s)", c.Control, names(Components["task.control"]))
	}
	positive := func(key string, v float64) {
		if !(v > 0) || math.IsInf(v, 0) {
			bad(key, "must be finite and > 0, got %v", v)
		}
	}
	positive("workspace", c.Workspace)
	positive("target_radius", c.TargetRadius)
	switch c.Type {
	case "centre-out", "center-out":
		positive("distance", c.Distance)
		if c.Distance+c.TargetRadius > c.Workspace {
			bad("distance", "%v plus target_radius %v reaches outside the workspace (half-width %v)", c.Distance, c.TargetRadius, c.Workspace)
		}
		if c.Targets < 1 || c.Targets > 360 {
			bad("targets", "must be in [1, 360], got %d", c.Targets)
		}
	case "random":
		if !(c.MinDistance >= 0) || c.MinDistance > 2*c.Workspace {
			bad("min_distance", "must be in [0, 2·workspace], got %v", c.MinDistance)
		}
		if c.TargetRadius >= c.Workspace {
			bad("target_radius", "%v leaves no room for targets in a workspace of half-width %v", c.TargetRadius, c.Workspace)
		}
	}
	if c.Hold < 0 {
		bad("hold", "must be ≥ 0, got %v", c.Hold)
	}
	if c.Timeout <= c.Hold {
		bad("timeout", "must be > hold (%v), got %v", c.Hold, c.Timeout)
	}
	if c.InterTrial < 0 {
		bad("inter_trial", "must be ≥ 0, got %v", c.InterTrial)
	}
	if c.Refit.Enabled {
		if c.Refit.After <= 0 {
			bad("refit.after", "must be > 0, got %v", c.Refit.After)
		}
		if c.Control != "velocity" {
			bad("refit.enabled", "ReFIT needs control: velocity")
		}
	}
	for _, e := range flatten(c.User.Validate()) {
		errs = append(errs, fmt.Errorf("user.%w", e))
	}
	return errors.Join(errs...)
}

// Phase is a block of trials with one way of moving the cursor.
type Phase int

// Phases, in run order.
const (
	// PhaseOpenLoop: calibration; the cursor follows the user's intended
	// velocity, as when a subject watches the cursor move to the targets
	// while the decoder's training data are collected.
	PhaseOpenLoop Phase = iota
	// PhaseClosedLoop: the decoder fitted on the open-loop block drives the
	// cursor.
	PhaseClosedLoop
	// PhaseRefit: the ReFIT decoder drives the cursor.
	PhaseRefit
	numPhases
)

var phaseNames = [numPhases]string{"open-loop", "closed-loop", "refit"}

func (p Phase) String() string { return phaseNames[p] }

// trialState is where a trial is.
type trialState int

const (
	stateBlank trialState = iota // between trials: no target
	stateReach                   // target shown, cursor outside it
	stateHold                    // cursor inside the target
)

var trialStateNames = [...]string{"blank", "reach", "hold"}

// blockStats accumulates the trials of one phase.
type blockStats struct {
	frames                 int64 // frames spent in the phase
	trials, successes      int
	timeToTarget, dialIn   float64 // sums over successes, s
	pathEff, bits, moveSum float64 // sums over successes (path efficiency, Fitts ID in bits, time to target s)
}

// Task is the cursor task of a closed-loop experiment in a 2-D workspace:
// centre-out (Targets outer targets at Distance, alternating with the
// centre target; the outer targets in a new seeded random order each round)
// or random targets (uniform in the workspace shrunk by the target radius,
// at least MinDistance from the cursor, by rejection from the seeded
// generator).
//
// Each bin the decoded command moves the cursor: velocity control
// integrates the decoded (vx, vy) over the bin, c ← c + v·Δt_bin, position
// control sets c to the decoded (px, py); the cursor is kept in the
// workspace. A trial shows its target after a blank of InterTrial; it is
// acquired when the cursor stays within TargetRadius for Hold, and fails
// when Timeout has passed without a hold in progress (a hold under way at
// the timeout runs to its end). The user sees every screen through its
// visual delay (User).
//
// Metrics per phase, over the trials that ended in it (a trial cut by a
// phase change is dropped):
//
//   - success rate: acquired / ended trials;
//   - time to target: target onset → the final entry into the target, the
//     one whose hold succeeded (the hold itself excluded), as in Gilja et
//     al. (2012, Nat Neurosci 15:1752);
//   - dial-in time: first entry → final entry (Gilja et al. 2012);
//   - path efficiency: the straight distance from the cursor at onset to
//     the target's edge, D − R, over the path length travelled until the
//     final entry (1 is a straight line; 1 too when the target appeared on
//     the cursor);
//   - Fitts's-law bit rate: ID = log₂((D + W)/W), the Shannon formulation
//     (MacKenzie 1992, Hum-Comput Interact 7:91), D the distance at onset
//     and W the target diameter, summed over acquired trials and divided by
//     the summed time to target (bits/s), a Fitts's-law throughput as
//     Gilja et al. (2012) use to compare decoders.
//
// All times are counted in frames, so lockstep runs reproduce bit for bit.
// StepVelocity, StepPosition and AppendCursor (into a buffer with room) do
// not allocate.
type Task struct {
	cfg        TaskConfig
	centreOut  bool
	position   bool
	rate       float64
	binFrames  int64
	binDt      float64
	holdF      int64
	timeoutF   int64
	blankF     int64
	user       *User
	rng        *rand.Rand
	order      []int // centre-out: outer targets of the current round
	next       int   // centre-out: index in order; even trials go out
	outward    bool  // centre-out: the next target is an outer one
	phase      Phase
	x, y       float64 // cursor, cm
	vx, vy     float64 // cursor velocity over the last bin, cm/s
	tx, ty     float64 // target
	state      trialState
	trial      uint64 // trials started (the current one's number)
	stateSince int64  // frame the current state began
	onset      int64
	firstEntry int64 // -1 until the first entry
	startX     float64
	startY     float64
	path       float64 // path length since onset
	pathEntry  float64 // path length at the current entry
	stats      [numPhases]blockStats
	seq        uint64
	enc        []byte
}

// NewTask returns the task cfg describes for a stream at rate frames per
// second decoded in bins of binFrames frames, with user as the subject (nil:
// a task without a simulated user).
func NewTask(cfg TaskConfig, rate float64, binFrames int, user *User) (*Task, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("task: %w", err)
	}
	if cfg.Type == "none" {
		return nil, errors.New("task: type none builds no task")
	}
	if !(rate > 0) || binFrames < 1 {
		return nil, fmt.Errorf("task: rate %g Hz and bins of %d frames; want both > 0", rate, binFrames)
	}
	frames := func(d time.Duration) int64 { return int64(math.Round(d.Seconds() * rate)) }
	t := &Task{cfg: cfg, centreOut: cfg.Type != "random", position: cfg.Control == "position", rate: rate,
		binFrames: int64(binFrames), binDt: float64(binFrames) / rate,
		holdF: frames(cfg.Hold), timeoutF: frames(cfg.Timeout), blankF: frames(cfg.InterTrial),
		user: user, rng: rand.New(rand.NewPCG(cfg.Seed, 0x7461736b74677473)),
		order: make([]int, cfg.Targets), outward: true, firstEntry: -1,
		enc: make([]byte, 0, 512)}
	t.next = len(t.order) // a new round on the first outer target
	return t, nil
}

// Phase returns the current phase.
func (t *Task) Phase() Phase { return t.phase }

// SetPhase starts phase p at frame sample: a trial under way is dropped
// (counted nowhere) and the next one starts after a blank.
func (t *Task) SetPhase(p Phase, sample int64) {
	if p == t.phase {
		return
	}
	t.phase = p
	t.state, t.stateSince = stateBlank, sample
}

// Cursor returns the cursor position (cm).
func (t *Task) Cursor() (x, y float64) { return t.x, t.y }

// Target returns the target centre and whether a target is shown.
func (t *Task) Target() (x, y float64, on bool) { return t.tx, t.ty, t.state != stateBlank }

// Intention returns the ReFIT intention estimate for a decoded velocity
// (vx, vy) at the current screen (Gilja et al. 2012): the decoded speed
// turned towards the target centre while reaching, zero while the cursor is
// in the target; ok is false between trials, when no intention is known.
func (t *Task) Intention(vx, vy float64) (ix, iy float64, ok bool) {
	switch t.state {
	case stateHold:
		return 0, 0, true
	case stateReach:
		dx, dy := t.tx-t.x, t.ty-t.y
		d := math.Hypot(dx, dy)
		if d == 0 {
			return 0, 0, true
		}
		s := math.Hypot(vx, vy) / d
		return s * dx, s * dy, true
	}
	return 0, 0, false
}

// StepVelocity moves the cursor by velocity (vx, vy) over the bin ending at
// frame end and advances the trial.
func (t *Task) StepVelocity(end int64, vx, vy float64) {
	t.move(end, t.x+vx*t.binDt, t.y+vy*t.binDt)
}

// StepPosition puts the cursor at (x, y) for the bin ending at frame end
// and advances the trial.
func (t *Task) StepPosition(end int64, x, y float64) { t.move(end, x, y) }

// PositionControl reports whether the decoder's position drives the cursor.
func (t *Task) PositionControl() bool { return t.position }

func (t *Task) move(end int64, x, y float64) {
	if !finite(x) {
		x = t.x
	}
	if !finite(y) {
		y = t.y
	}
	w := t.cfg.Workspace
	x, y = max(-w, min(w, x)), max(-w, min(w, y))
	step := math.Hypot(x-t.x, y-t.y)
	t.vx, t.vy = (x-t.x)/t.binDt, (y-t.y)/t.binDt
	t.x, t.y = x, y
	t.path += step
	t.stats[t.phase].frames += t.binFrames
	t.advance(end)
	if t.user != nil {
		t.user.Show(t.screen(end))
	}
}

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

// advance runs the trial state machine at frame end.
func (t *Task) advance(end int64) {
	if t.state == stateBlank {
		if end-t.stateSince >= t.blankF {
			t.newTarget(end)
		}
		return
	}
	r := t.cfg.TargetRadius
	inside := (t.x-t.tx)*(t.x-t.tx)+(t.y-t.ty)*(t.y-t.ty) <= r*r
	switch {
	case inside && t.state == stateReach:
		t.state, t.stateSince, t.pathEntry = stateHold, end, t.path
		if t.firstEntry < 0 {
			t.firstEntry = end
		}
	case !inside && t.state == stateHold:
		t.state, t.stateSince = stateReach, end
	}
	switch {
	case t.state == stateHold && end-t.stateSince >= t.holdF:
		t.finish(end, true)
	case t.state == stateReach && end-t.onset >= t.timeoutF:
		t.finish(end, false)
	}
}

// finish ends the trial and records it in the phase's statistics.
func (t *Task) finish(end int64, ok bool) {
	st := &t.stats[t.phase]
	st.trials++
	if ok {
		entry := t.stateSince
		st.successes++
		ttt := float64(entry-t.onset) / t.rate
		st.timeToTarget += ttt
		st.dialIn += float64(entry-t.firstEntry) / t.rate
		d := math.Hypot(t.tx-t.startX, t.ty-t.startY)
		if edge := d - t.cfg.TargetRadius; edge > 0 && t.pathEntry > 0 {
			st.pathEff += min(1, edge/t.pathEntry)
		} else {
			st.pathEff++ // the target appeared on the cursor
		}
		st.bits += math.Log2((d + 2*t.cfg.TargetRadius) / (2 * t.cfg.TargetRadius))
		st.moveSum += ttt
	}
	t.state, t.stateSince = stateBlank, end
}

// newTarget shows the next target at frame end.
func (t *Task) newTarget(end int64) {
	if t.centreOut {
		if t.outward {
			if t.next == len(t.order) {
				for i := range t.order {
					t.order[i] = i
				}
				t.rng.Shuffle(len(t.order), func(i, j int) { t.order[i], t.order[j] = t.order[j], t.order[i] })
				t.next = 0
			}
			a := 2 * math.Pi * float64(t.order[t.next]) / float64(len(t.order))
			t.tx, t.ty = t.cfg.Distance*math.Cos(a), t.cfg.Distance*math.Sin(a)
			t.next++
		} else {
			t.tx, t.ty = 0, 0
		}
		t.outward = !t.outward
	} else {
		lim := t.cfg.Workspace - t.cfg.TargetRadius
		for try := 0; ; try++ {
			t.tx, t.ty = lim*(2*t.rng.Float64()-1), lim*(2*t.rng.Float64()-1)
			if math.Hypot(t.tx-t.x, t.ty-t.y) >= t.cfg.MinDistance || try == 1000 {
				break
			}
		}
	}
	t.trial++
	t.state, t.stateSince, t.onset = stateReach, end, end
	t.firstEntry = -1
	t.startX, t.startY, t.path, t.pathEntry = t.x, t.y, 0, 0
	// A target that appears on the cursor is entered at once.
	t.advance(end)
}

// screen is what the task displays from frame end on.
func (t *Task) screen(end int64) Screen {
	return Screen{Sample: end, X: t.x, Y: t.y, TargetX: t.tx, TargetY: t.ty, TargetR: t.cfg.TargetRadius, On: t.state != stateBlank}
}

// TaskBlock is the summary of one phase's trials (the "task" key of the run
// summary; see Task for the definitions).
type TaskBlock struct {
	Phase        string   `json:"phase"`
	Decoder      string   `json:"decoder"` // "intent" in the open-loop phase
	Seconds      float64  `json:"sim_s"`
	Trials       int      `json:"trials"` // ended in the phase (acquired or timed out)
	Successes    int      `json:"successes"`
	SuccessRate  *float64 `json:"success_rate"`     // null without trials
	TimeToTarget *float64 `json:"time_to_target_s"` // mean over acquired trials; null without
	DialIn       *float64 `json:"dial_in_s"`
	PathEff      *float64 `json:"path_efficiency"`
	BitRate      *float64 `json:"bit_rate_bps"` // Fitts's-law throughput
}

// TaskSummary is the task's part of the run summary.
type TaskSummary struct {
	Type    string      `json:"type"`
	Control string      `json:"control"`
	Trials  uint64      `json:"trials"` // trials started
	Blocks  []TaskBlock `json:"blocks"` // the phases run, in order
	// RefitImprovement is 1 − T_refit/T_closed of the mean times to
	// target of the refit and first closed-loop blocks (0.2: 20 % faster);
	// null without both.
	RefitImprovement *float64 `json:"refit_improvement,omitempty"`
}

// Summary returns the metrics so far; decoder names the decoder of the
// closed-loop phases.
func (t *Task) Summary(decoder string) *TaskSummary {
	s := &TaskSummary{Type: t.cfg.Type, Control: t.cfg.Control, Trials: t.trial, Blocks: []TaskBlock{}}
	for p := range numPhases {
		st := &t.stats[p]
		if st.frames == 0 {
			continue // the phase did not run
		}
		b := TaskBlock{Phase: p.String(), Decoder: decoder, Seconds: float64(st.frames) / t.rate, Trials: st.trials, Successes: st.successes}
		if p == PhaseOpenLoop {
			b.Decoder = "intent"
		}
		if st.trials > 0 {
			b.SuccessRate = ptr(float64(st.successes) / float64(st.trials))
		}
		if n := float64(st.successes); n > 0 {
			b.TimeToTarget, b.DialIn, b.PathEff = ptr(st.timeToTarget/n), ptr(st.dialIn/n), ptr(st.pathEff/n)
			if st.moveSum > 0 {
				b.BitRate = ptr(st.bits / st.moveSum)
			}
		}
		s.Blocks = append(s.Blocks, b)
	}
	c, r := &t.stats[PhaseClosedLoop], &t.stats[PhaseRefit]
	if c.successes > 0 && r.successes > 0 {
		s.RefitImprovement = ptr(1 - (r.timeToTarget/float64(r.successes))/(c.timeToTarget/float64(c.successes)))
	}
	return s
}

func ptr(v float64) *float64 { return &v }

// CursorVersion is the version of the JSON cursor message ("v").
const CursorVersion = 1

// Cursor is the JSON message published on bciloop.<rig>.cursor every bin
// while a task runs (README, "Subjects and encodings").
type Cursor struct {
	V       int     `json:"v"`
	Rig     string  `json:"rig"`
	Seq     uint64  `json:"seq"`    // from 1, +1 per message
	Sample  int64   `json:"sample"` // frame from which this screen is shown (one past the bin)
	Phase   string  `json:"phase"`  // open-loop, closed-loop or refit
	Trial   uint64  `json:"trial"`  // number of the current or last trial, from 1
	State   string  `json:"state"`  // blank, reach or hold
	X       float64 `json:"x"`      // cursor, cm
	Y       float64 `json:"y"`
	VX      float64 `json:"vx"` // cursor velocity over the bin, cm/s
	VY      float64 `json:"vy"`
	TargetX float64 `json:"target_x"` // last target shown (cm)
	TargetY float64 `json:"target_y"`
	TargetR float64 `json:"target_r"`
	On      bool    `json:"target_on"` // a target is shown
}

// AppendCursor appends the cursor message for the screen shown from frame
// end (after the last Step) to b, without allocating when b has room.
func (t *Task) AppendCursor(b []byte, rig string, end int64) []byte {
	t.seq++
	b = append(b, `{"v":`...)
	b = strconv.AppendInt(b, CursorVersion, 10)
	b = append(b, `,"rig":`...)
	b = strconv.AppendQuote(b, rig)
	b = append(b, `,"seq":`...)
	b = strconv.AppendUint(b, t.seq, 10)
	b = append(b, `,"sample":`...)
	b = strconv.AppendInt(b, end, 10)
	b = append(b, `,"phase":"`...)
	b = append(b, phaseNames[t.phase]...)
	b = append(b, `","trial":`...)
	b = strconv.AppendUint(b, t.trial, 10)
	b = append(b, `,"state":"`...)
	b = append(b, trialStateNames[t.state]...)
	b = append(b, `","x":`...)
	b = appendJSONFloat(b, t.x)
	b = append(b, `,"y":`...)
	b = appendJSONFloat(b, t.y)
	b = append(b, `,"vx":`...)
	b = appendJSONFloat(b, t.vx)
	b = append(b, `,"vy":`...)
	b = appendJSONFloat(b, t.vy)
	b = append(b, `,"target_x":`...)
	b = appendJSONFloat(b, t.tx)
	b = append(b, `,"target_y":`...)
	b = appendJSONFloat(b, t.ty)
	b = append(b, `,"target_r":`...)
	b = appendJSONFloat(b, t.cfg.TargetRadius)
	b = append(b, `,"target_on":`...)
	b = strconv.AppendBool(b, t.state != stateBlank)
	return append(b, '}')
}

// encodeCursor returns the cursor message in the task's own buffer, valid
// until the next call.
func (t *Task) encodeCursor(rig string, end int64) []byte {
	t.enc = t.AppendCursor(t.enc[:0], rig, end)
	return t.enc
}
