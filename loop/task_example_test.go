package loop_test

import (
	"fmt"
	"math"

	"github.com/bciloop/bciloop/loop"
)

// A centre-out task driven by an ideal controller that moves the cursor
// straight at 10 cm/s to the target centre: 6 cm from the centre of one
// target to the edge of the next (8 cm away, radius 2 cm) take 0.6 s.
func ExampleTask() {
	cfg := loop.DefaultTaskConfig()
	cfg.Type = "centre-out"
	task, err := loop.NewTask(cfg, 1000, 20, nil) // 1 kHz, 20-frame bins, no simulated user
	if err != nil {
		panic(err)
	}
	task.SetPhase(loop.PhaseClosedLoop, 0)
	for bin := int64(1); bin <= 1500; bin++ { // 30 s
		x, y := task.Cursor()
		tx, ty, on := task.Target()
		vx, vy := 0.0, 0.0
		if d := math.Hypot(tx-x, ty-y); on && d > 0 {
			s := min(10, d/0.02) / d // 10 cm/s, stopping on the centre
			vx, vy = s*(tx-x), s*(ty-y)
		}
		task.StepVelocity(20*bin, vx, vy)
	}
	b := task.Summary("ideal").Blocks[0]
	fmt.Printf("%s: %d of %d trials, %.2f s to target, path efficiency %.2f, %.2f bits/s\n",
		b.Phase, b.Successes, b.Trials, *b.TimeToTarget, *b.PathEff, *b.BitRate)
	// Output:
	// closed-loop: 23 of 23 trials, 0.60 s to target, path efficiency 0.99, 2.62 bits/s
}
