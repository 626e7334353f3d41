package loop

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"
)

// taskAt builds a task at 1 kHz with 20-frame bins and no user.
func taskAt(t *testing.T, edit func(c *TaskConfig)) *Task {
	t.Helper()
	cfg := DefaultTaskConfig()
	cfg.Type = "centre-out"
	if edit != nil {
		edit(&cfg)
	}
	task, err := NewTask(cfg, 1000, 20, nil)
	if err != nil {
		t.Fatal(err)
	}
	task.SetPhase(PhaseClosedLoop, 0)
	return task
}

// drive runs the task for bins bins of 20 frames after frame from with a
// controller that sees the task (no delay) and returns a velocity.
func drive(task *Task, from int64, bins int, ctl func(x, y, tx, ty float64, on bool) (float64, float64)) {
	for i := 1; i <= bins; i++ {
		x, y := task.Cursor()
		tx, ty, on := task.Target()
		vx, vy := ctl(x, y, tx, ty, on)
		task.StepVelocity(from+int64(20*i), vx, vy)
	}
}

// straight aims at the target centre at speed, stopping on it.
func straight(speed float64) func(x, y, tx, ty float64, on bool) (float64, float64) {
	return func(x, y, tx, ty float64, on bool) (float64, float64) {
		d := math.Hypot(tx-x, ty-y)
		if !on || d == 0 {
			return 0, 0
		}
		s := min(speed, d/0.02) / d
		return s * (tx - x), s * (ty - y)
	}
}

func block(t *testing.T, s *TaskSummary, phase string) TaskBlock {
	t.Helper()
	for _, b := range s.Blocks {
		if b.Phase == phase {
			return b
		}
	}
	t.Fatalf("no %s block in %+v", phase, s.Blocks)
	return TaskBlock{}
}

func TestTaskConfigValidate(t *testing.T) {
	def := DefaultTaskConfig()
	if err := def.Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	cases := []struct {
		name string
		edit func(c *TaskConfig)
		want []string
	}{
		{"every problem at once", func(c *TaskConfig) {
			c.Type, c.Control, c.Workspace, c.TargetRadius, c.Hold, c.Timeout = "spiral", "force", 0, -1, -time.Second, 0
			c.User.Speed, c.User.NoiseTau = 0, 0
		}, []string{"type:", "control:", "workspace:", "target_radius:", "hold:", "user.speed:", "user.noise_tau:"}},
		{"centre-out outside the workspace", func(c *TaskConfig) { c.Type, c.Distance = "centre-out", 11 }, []string{"distance:"}},
		{"too many targets", func(c *TaskConfig) { c.Type, c.Targets = "center-out", 0 }, []string{"targets:"}},
		{"timeout within the hold", func(c *TaskConfig) { c.Timeout = c.Hold }, []string{"timeout:"}},
		{"refit under position control", func(c *TaskConfig) { c.Refit.Enabled, c.Control = true, "position" }, []string{"refit.enabled:"}},
		{"refit without a block", func(c *TaskConfig) { c.Refit.Enabled, c.Refit.After = true, 0 }, []string{"refit.after:"}},
		{"random target cannot fit", func(c *TaskConfig) { c.Type, c.TargetRadius = "random", 12 }, []string{"target_radius:"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultTaskConfig()
			tc.edit(&c)
			err := c.Validate()
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestTaskStraightReaches(t *testing.T) {
	// 10 cm/s straight at the centre: 6 cm to the edge of a 2 cm target
	// 8 cm away is 0.6 s; hold 0.5 s; blank 0.2 s.
	task := taskAt(t, nil)
	drive(task, 0, 3000, straight(10)) // 60 s
	b := block(t, task.Summary("test"), "closed-loop")
	if b.Trials < 40 || b.Successes != b.Trials {
		t.Fatalf("%d of %d trials acquired, want all of ≥ 40", b.Successes, b.Trials)
	}
	for name, got := range map[string]struct{ v, want, tol float64 }{
		"time to target": {*b.TimeToTarget, 0.6, 0.021},
		"dial-in":        {*b.DialIn, 0, 0},
		"path":           {*b.PathEff, 1, 0.02}, // the entry bin may step past the edge
		"bit rate":       {*b.BitRate, math.Log2(3) / 0.6, 0.1},
	} {
		if math.Abs(got.v-got.want) > got.tol {
			t.Errorf("%s %v, want %v ± %v", name, got.v, got.want, got.tol)
		}
	}
}

func TestTaskTimeouts(t *testing.T) {
	task := taskAt(t, nil)
	drive(task, 0, 1000, func(float64, float64, float64, float64, bool) (float64, float64) { return 0, 0 })
	b := block(t, task.Summary("test"), "closed-loop")
	// An outer trial is a 0.2 s blank and 3 s to the timeout; the centre
	// trial after it starts on the cursor and succeeds after the 0.5 s
	// hold: 20 s hold 5 of each.
	if b.Trials != 10 || b.Successes != 5 || *b.SuccessRate != 0.5 || *b.TimeToTarget != 0 || b.BitRate != nil {
		t.Fatalf("block %+v, want 5 failed and 5 immediate trials", b)
	}
}

func TestTaskDialIn(t *testing.T) {
	// Overshoot: run through the target and come back. Entry on the way
	// out, exit, final entry on the way back.
	task := taskAt(t, func(c *TaskConfig) { c.Targets = 1 }) // target at (8, 0)
	phase := 0
	drive(task, 0, 200, func(x, y, tx, ty float64, on bool) (float64, float64) {
		if !on || tx == 0 {
			return 0, 0
		}
		switch {
		case phase == 0 && x < 11:
			return 20, 0
		case phase == 0:
			phase = 1
			return -10, 0
		case x > 8:
			return -10, 0
		}
		return 0, 0
	})
	b := block(t, task.Summary("test"), "closed-loop")
	if b.Successes < 1 {
		t.Fatalf("no success: %+v", b)
	}
	// First entry at x ≥ 6 (0.3 s at 20 cm/s), exit past 10, back at 10.
	if *b.DialIn < 0.2 || *b.PathEff > 0.8 {
		t.Fatalf("dial-in %v s, path efficiency %v; want an overshoot", *b.DialIn, *b.PathEff)
	}
}

func TestTaskCentreOutOrder(t *testing.T) {
	task := taskAt(t, nil)
	var outer []int
	var centre int
	last := false
	for i := 1; i <= 20000; i++ {
		tx, ty, on := task.Target()
		if on && !last {
			if tx == 0 && ty == 0 {
				centre++
			} else {
				k := int(math.Round(math.Atan2(ty, tx)/(2*math.Pi)*8+8)) % 8
				if d := math.Hypot(tx, ty); math.Abs(d-8) > 1e-9 {
					t.Fatalf("outer target at distance %v", d)
				}
				outer = append(outer, k)
			}
		}
		last = on
		// teleport onto the target: every trial succeeds
		x, y := task.Cursor()
		task.StepVelocity(int64(20*i), (tx-x)/0.02, (ty-y)/0.02)
	}
	if len(outer) < 16 || centre < len(outer)-1 || centre > len(outer) {
		t.Fatalf("%d outer and %d centre targets; want alternation", len(outer), centre)
	}
	for r := 0; r+8 <= len(outer); r += 8 {
		seen := map[int]bool{}
		for _, k := range outer[r : r+8] {
			seen[k] = true
		}
		if len(seen) != 8 {
			t.Fatalf("round %d visits %v, want all 8 targets", r/8, outer[r:r+8])
		}
	}
}

func TestTaskRandomTargets(t *testing.T) {
	task := taskAt(t, func(c *TaskConfig) { c.Type = "random" })
	last := false
	n := 0
	for i := 1; i <= 20000; i++ {
		tx, ty, on := task.Target()
		x, y := task.Cursor()
		if on && !last {
			n++
			if lim := 12 - 2.0; math.Abs(tx) > lim || math.Abs(ty) > lim {
				t.Fatalf("target (%v, %v) outside ±%v", tx, ty, lim)
			}
		}
		last = on
		task.StepVelocity(int64(20*i), (tx-x)/0.02, (ty-y)/0.02)
	}
	if n < 100 {
		t.Fatalf("%d targets", n)
	}
}

func TestTaskMinDistance(t *testing.T) {
	task := taskAt(t, func(c *TaskConfig) { c.Type = "random"; c.MinDistance = 9 })
	for i := 1; i <= 20000; i++ {
		x, y := task.Cursor()
		_, _, wasOn := task.Target()
		task.StepVelocity(int64(20*i), 0, 0)
		if tx, ty, on := task.Target(); on && !wasOn {
			if d := math.Hypot(tx-x, ty-y); d < 9 {
				t.Fatalf("new target %v cm from the cursor, want ≥ 9", d)
			}
		}
	}
}

func TestTaskIntention(t *testing.T) {
	task := taskAt(t, func(c *TaskConfig) { c.Targets = 1; c.InterTrial = 0 }) // target (8, 0)
	if _, _, ok := task.Intention(1, 1); ok {
		t.Fatal("an intention before any target")
	}
	task.StepVelocity(20, 0, 0)
	ix, iy, ok := task.Intention(0, -5) // decoded 5 cm/s downwards
	if !ok || math.Abs(ix-5) > 1e-12 || math.Abs(iy) > 1e-12 {
		t.Fatalf("intention (%v, %v, %v), want (5, 0) towards the target", ix, iy, ok)
	}
	task.StepVelocity(40, 7/0.02, 0) // into the target
	if ix, iy, ok := task.Intention(3, 4); !ok || ix != 0 || iy != 0 {
		t.Fatalf("intention in the target (%v, %v, %v), want 0", ix, iy, ok)
	}
}

func TestTaskCursorMessage(t *testing.T) {
	task := taskAt(t, nil)
	drive(task, 0, 30, straight(10))
	var c Cursor
	msg := task.AppendCursor(nil, "rig-1", 600)
	if err := json.Unmarshal(msg, &c); err != nil {
		t.Fatalf("%s: %v", msg, err)
	}
	x, y := task.Cursor()
	tx, ty, on := task.Target()
	if c.V != CursorVersion || c.Rig != "rig-1" || c.Seq != 1 || c.Sample != 600 || c.Phase != "closed-loop" || c.Trial != 1 ||
		c.State != "reach" || math.Abs(c.X-x) > 1e-5 || math.Abs(c.Y-y) > 1e-5 || math.Abs(c.TargetX-tx) > 1e-5 || math.Abs(c.TargetY-ty) > 1e-5 || c.TargetR != 2 || c.On != on {
		t.Fatalf("cursor %+v from %s", c, msg)
	}
	buf := make([]byte, 0, 512)
	if n := testing.AllocsPerRun(100, func() {
		task.StepVelocity(620, 1, 1)
		buf = task.AppendCursor(buf[:0], "rig-1", 620)
	}); n != 0 {
		t.Fatalf("step and cursor message allocate %v times", n)
	}
}

func TestTaskPhases(t *testing.T) {
	cfg := DefaultTaskConfig()
	cfg.Type = "centre-out"
	task, err := NewTask(cfg, 1000, 20, nil)
	if err != nil {
		t.Fatal(err)
	}
	drive(task, 0, 500, straight(10)) // open loop
	task.SetPhase(PhaseClosedLoop, 10000)
	drive(task, 10000, 500, straight(5))
	s := task.Summary("kalman")
	if len(s.Blocks) != 2 || s.Blocks[0].Decoder != "intent" || s.Blocks[1].Decoder != "kalman" || s.RefitImprovement != nil {
		t.Fatalf("blocks %+v", s.Blocks)
	}
	if s.Blocks[0].Seconds != 10 || s.Blocks[1].Seconds != 10 {
		t.Fatalf("block lengths %v, %v s; want 10, 10", s.Blocks[0].Seconds, s.Blocks[1].Seconds)
	}
	if a, b := *s.Blocks[0].TimeToTarget, *s.Blocks[1].TimeToTarget; b < 1.8*a {
		t.Fatalf("time to target %v s at 10 cm/s and %v s at 5 cm/s", a, b)
	}
}

// TestTaskAllocs steps both task types through many trials (new targets,
// shuffled rounds, holds, timeouts, cursor messages) without allocating.
func TestTaskAllocs(t *testing.T) {
	for _, typ := range []string{"centre-out", "random"} {
		task := taskAt(t, func(c *TaskConfig) { c.Type = typ })
		buf := make([]byte, 0, 512)
		end := int64(0)
		ctl := straight(15)
		if n := testing.AllocsPerRun(3, func() {
			for range 2000 {
				end += 20
				x, y := task.Cursor()
				tx, ty, on := task.Target()
				vx, vy := ctl(x, y, tx, ty, on)
				if end%7000 < 3000 {
					vx, vy = 0, 0 // some timeouts
				}
				task.StepVelocity(end, vx, vy)
				buf = task.AppendCursor(buf[:0], "r", end)
			}
		}); n != 0 {
			t.Fatalf("%s: %v allocations per 2000 bins", typ, n)
		}
		if b := task.Summary("x").Blocks[0]; b.Trials < 50 || b.Successes == b.Trials || b.Successes == 0 {
			t.Fatalf("%s: %d trials, %d acquired; want many of both outcomes", typ, b.Trials, b.Successes)
		}
	}
}
