package sim

import (
	"math"
	"math/rand/v2"
	"time"
)

// latentVelocity is the intended-velocity process of the motor brains
// (MotorCortex, MotorNet; see MotorCortex for the process): two cascaded
// exact low-pass stages per axis driven by white noise, the position
// reflected at the workspace walls, or, with an Intent, the intent's
// velocity and its integral.
type latentVelocity struct {
	x1, x2, p, v [2]float64
	a, innov     float64
	vscale       float64
	w, dt        float64
	rng          *rand.Rand
}

// newLatentVelocity starts the process at a draw from its stationary
// distribution, from the random stream (seed, stream).
func newLatentVelocity(speedRMS float64, tau time.Duration, workspace, dt float64, seed, stream uint64) latentVelocity {
	l := latentVelocity{w: workspace, dt: dt, rng: rand.New(rand.NewPCG(seed, stream))}
	l.a = math.Exp(-dt / tau.Seconds())
	l.innov = math.Sqrt(1 - l.a*l.a)
	v2 := (1 + l.a*l.a) / ((1 + l.a) * (1 + l.a))
	l.vscale = speedRMS / math.Sqrt2 / math.Sqrt(v2)
	for ax := range 2 {
		z1, z2 := l.rng.NormFloat64(), l.rng.NormFloat64()
		l.x1[ax] = z1
		l.x2[ax] = (z1 + l.a*z2) / (1 + l.a)
		l.v[ax] = l.vscale * l.x2[ax]
	}
	return l
}

// step advances the latent process and the reflected position one frame.
func (l *latentVelocity) step() {
	a, w := l.a, l.w
	for ax := range 2 {
		x1 := a*l.x1[ax] + l.innov*l.rng.NormFloat64()
		x2 := a*l.x2[ax] + (1-a)*x1
		v := l.vscale * x2
		p := l.p[ax] + v*l.dt
		if p > w || p < -w {
			if p > w {
				p = 2*w - p
			} else {
				p = -2*w - p
			}
			p = max(-w, min(w, p)) // a step longer than the workspace
			x1, x2, v = -x1, -x2, -v
		}
		l.x1[ax], l.x2[ax], l.v[ax], l.p[ax] = x1, x2, v, p
	}
}

// intended takes the velocity (vx, vy) of an Intent for one frame (a
// non-finite component counts as 0) and integrates the position without
// walls, leaving the latent state frozen (MotorCortex's external intent).
func (l *latentVelocity) intended(vx, vy float64) {
	if !finite(vx) {
		vx = 0
	}
	if !finite(vy) {
		vy = 0
	}
	l.v = [2]float64{vx, vy}
	l.p[0] += vx * l.dt
	l.p[1] += vy * l.dt
}
