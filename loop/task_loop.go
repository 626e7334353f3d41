package loop

import (
	"errors"
	"fmt"
	"time"

	"github.com/bciloop/bciloop/acquire"
	"github.com/bciloop/bciloop/decode"
	"github.com/bciloop/bciloop/sim"
)

// intentSetter is a synthetic brain whose intended velocity can come from
// outside (sim.MotorCortex, and any brain with the same method).
type intentSetter interface{ SetIntent(sim.Intent) }

// sourceIntent is a source that hands an Intent on to its brain, reporting
// whether the brain takes one.
type sourceIntent interface{ SetIntent(sim.Intent) bool }

// setIntent makes it the intended velocity of src's synthetic brain.
func setIntent(src acquire.Source, it sim.Intent) error {
	if s, ok := src.(sourceIntent); ok {
		if s.SetIntent(it) {
			return nil
		}
		return errors.New("task: the synthetic brain of this source takes no intended velocity")
	}
	if ss, ok := src.(*acquire.SimSource); ok {
		if b := ss.Brain(); b != nil {
			var target intentSetter = b
			target.SetIntent(it)
			return nil
		}
	}
	return fmt.Errorf("task: needs a synthetic brain that takes an intended velocity (source.type sim, preset motor-cortex or motor-net), not %T", src)
}

// taskVelocityOnly reports whether the task makes every decoder a velocity
// decoder: under velocity control the cursor integrates the decoded
// velocity, so the decoders are fitted on (vx, vy) alone and the position
// is the cursor's, not a decoded state (Gilja et al. 2012 likewise take the
// position from the cursor rather than estimating it).
func taskVelocityOnly(c *Config) bool { return c.Task.Type != "none" && c.Task.Control == "velocity" }

// poissonSpeed is the speed scale of the Poisson decoder's default grid
// (±3 of it): the brain's RMS speed, or under a task a half of the user's
// speed, so that the grid spans ±1.5 times the intended speed.
func poissonSpeed(c *Config) float64 {
	if c.Task.Type != "none" {
		return c.Task.User.Speed / 2
	}
	return c.Source.SpeedRMS
}

// taskRun is the closed-loop task of a Loop: the task, its simulated user,
// and ReFIT's collection of closed-loop bins.
type taskRun struct {
	task    *Task
	user    *User
	subj    string
	posIdx  [2]int // px, py in the decoder state (position control)
	refitOn bool
	// ReFIT: the closed-loop bins of the first block with their intention
	// estimates, in storage allocated at Build.
	refitFrames int64 // closed-loop frames after which to refit
	refitBins   []decode.Bin
	counts      []float64
	labels      []float64
}

// buildTask builds cfg.Task (when not none) once the source, binner and
// decoder are known: the simulated user becomes the brain's intent.
func (l *Loop) buildTask() error {
	tc := l.cfg.Task
	if tc.Type == "none" {
		return nil
	}
	if l.velState[0] < 0 || l.velState[1] < 0 {
		return fmt.Errorf("task: the decoder's state %v has no vx, vy", l.stateNames)
	}
	user, err := NewUser(tc.User, l.rate, l.frames)
	if err != nil {
		return fmt.Errorf("task.%w", err)
	}
	task, err := NewTask(tc, l.rate, l.frames, user)
	if err != nil {
		return err
	}
	tr := &taskRun{task: task, user: user, subj: "bciloop." + l.cfg.Rig + ".cursor",
		posIdx: [2]int{index(l.stateNames, "px"), index(l.stateNames, "py")}}
	if task.PositionControl() && (tr.posIdx[0] < 0 || tr.posIdx[1] < 0) {
		return fmt.Errorf("task.control: position needs a decoder with px, py in its state, and it has %v", l.stateNames)
	}
	if l.dec != nil {
		task.SetPhase(PhaseClosedLoop, 0) // a loaded decoder: no open-loop block
	}
	if tc.Refit.Enabled {
		if len(l.stateNames) != 2 {
			return fmt.Errorf("task.refit: ReFIT refits a velocity decoder (state vx, vy), and this one has %v", l.stateNames)
		}
		tr.refitOn = true
		tr.refitFrames = int64(tc.Refit.After.Seconds() * l.rate)
		n := int(tr.refitFrames/int64(l.frames)) + 1
		tr.refitBins = make([]decode.Bin, 0, n)
		tr.counts = make([]float64, 0, n*l.channels)
		tr.labels = make([]float64, 0, 2*n)
	}
	if _, paced := l.src.(acquire.Paced); !l.cfg.Run.Lockstep && !paced {
		// The user is read by the brain's Advance and written by the
		// pipeline: both must run on the pipeline goroutine.
		return fmt.Errorf("task: in real time the simulated user needs a self-pacing source, and %T is not one", l.src)
	}
	if err := setIntent(l.src, user); err != nil {
		return err
	}
	l.task = tr
	return nil
}

// taskOpenLoop moves the cursor with the user's intended velocity (the bin's
// mean ground-truth vx, vy) during calibration, and starts the closed loop
// once the decoder is fitted.
func (l *Loop) taskOpenLoop() {
	tr := l.task
	end := l.bin.End()
	if len(l.bin.Truth) > 0 {
		tr.task.StepVelocity(end, l.bin.Truth[l.velTruth[0]], l.bin.Truth[l.velTruth[1]])
	} else {
		tr.task.StepVelocity(end, 0, 0)
	}
	l.publish(tr.subj, tr.task.encodeCursor(l.cfg.Rig, end))
	if l.dec != nil {
		tr.task.SetPhase(PhaseClosedLoop, end)
	}
}

// taskClosedLoop moves the cursor with the estimate of the bin just decoded,
// collects the bin for ReFIT in the first closed-loop block, and refits
// when that block is over.
func (l *Loop) taskClosedLoop() error {
	tr := l.task
	t := tr.task
	end := l.est.Sample
	vx, vy := l.est.State[l.velState[0]], l.est.State[l.velState[1]]
	// A bin decoded by prediction alone (too few frames observed; drops.go)
	// has no counts to refit on; scaled bins do.
	if tr.refitOn && t.Phase() == PhaseClosedLoop && !l.cmdEnc.predicted {
		if ix, iy, ok := t.Intention(vx, vy); ok && len(tr.refitBins) < cap(tr.refitBins) {
			c0 := len(tr.counts)
			tr.counts = append(tr.counts, l.bin.Counts...)
			tr.labels = append(tr.labels, 0, 0)
			lab := tr.labels[len(tr.labels)-2:]
			lab[l.velState[0]], lab[l.velState[1]] = ix, iy
			b := l.bin
			b.Counts = tr.counts[c0:len(tr.counts):len(tr.counts)]
			b.Truth = tr.labels[len(tr.labels)-2 : len(tr.labels) : len(tr.labels)]
			tr.refitBins = append(tr.refitBins, b)
		}
	}
	if t.PositionControl() {
		t.StepPosition(end, l.est.State[tr.posIdx[0]], l.est.State[tr.posIdx[1]])
	} else {
		t.StepVelocity(end, vx, vy)
	}
	l.publish(tr.subj, t.encodeCursor(l.cfg.Rig, end))
	if tr.refitOn && t.Phase() == PhaseClosedLoop && t.stats[PhaseClosedLoop].frames >= tr.refitFrames {
		return l.refit(end)
	}
	return nil
}

// refit is ReFIT (Gilja et al. 2012, Nat Neurosci 15:1752): the decoder is
// fitted again on the closed-loop bins of the first block, with the
// intention estimates (decoded velocities turned towards the target, zero
// in the target) as the state, and drives the cursor from then on. Fitting
// allocates, once.
func (l *Loop) refit(end int64) error {
	tr := l.task
	t0 := time.Now()
	p, err := l.kind.fit(&l.cfg.Decoder, tr.refitBins, l.stateNames)
	if err != nil {
		return fmt.Errorf("task.refit: fitting %s on %d closed-loop bins: %w", l.decName, len(tr.refitBins), err)
	}
	dec, err := l.kind.build(&l.cfg.Decoder, p)
	if err != nil {
		return fmt.Errorf("task.refit: %w", err)
	}
	l.dec = dec
	tr.task.SetPhase(PhaseRefit, end)
	l.log.Info().Str("decoder", l.decName).Int("bins", len(tr.refitBins)).Dur("fit", time.Since(t0)).Msg("decoder refitted (ReFIT)")
	tr.refitBins, tr.counts, tr.labels = nil, nil, nil
	return nil
}
