package loop

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// UserConfig configures the simulated user of a closed-loop task (User).
type UserConfig struct {
	// Delay is the visual feedback delay: the user acts on the screen (the
	// cursor and the target) as it was Delay ago. Visually guided
	// corrections of reaching start 100–200 ms after a change of the seen
	// hand or cursor (Saunders & Knill 2003, Exp Brain Res 152:341;
	// Sarlegna et al. 2003, Exp Brain Res 151:524); the default 150 ms sits
	// in that range.
	Delay time.Duration `yaml:"delay"`
	// Speed is the intended speed far from the target, cm/s.
	Speed float64 `yaml:"speed"`
	// Brake is the distance (cm) below which the intended speed falls in
	// proportion to the distance: speed = Speed·min(1, d/Brake).
	Brake float64 `yaml:"brake"`
	// Tau is the time constant of the first-order lag between the command
	// and the intended velocity (the smoothness of the motor command); the
	// default 50 ms is of the order of the 40 ms muscle-filter time
	// constants of Todorov (2005, Neural Comput 17:1084).
	Tau time.Duration `yaml:"tau"`
	// Noise is the standard deviation (cm/s, per axis) of the
	// Ornstein–Uhlenbeck noise added to the intended velocity, with time
	// constant NoiseTau (default 1 cm/s, 5 % of the default speed: a
	// modelling choice, not a measured figure).
	Noise    float64       `yaml:"noise"`
	NoiseTau time.Duration `yaml:"noise_tau"`
	// Seed seeds the noise.
	Seed uint64 `yaml:"seed"`
}

// DefaultUserConfig returns the defaults: 150 ms visual delay, 20 cm/s with
// braking within 6 cm, a 50 ms command lag and 1 cm/s of noise with a
// 200 ms time constant.
func DefaultUserConfig() UserConfig {
	return UserConfig{Delay: 150 * time.Millisecond, Speed: 20, Brake: 6, Tau: 50 * time.Millisecond,
		Noise: 1, NoiseTau: 200 * time.Millisecond, Seed: 1}
}

// Validate reports every problem of c at once, each as "key: message".
func (c *UserConfig) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
	}
	if c.Delay < 0 || c.Delay > 10*time.Second {
		bad("delay", "must be in [0, 10s], got %v", c.Delay)
	}
	if !(c.Speed > 0) || math.IsInf(c.Speed, 0) {
		bad("speed", "must be finite and > 0, got %v", c.Speed)
	}
	if !(c.Brake > 0) || math.IsInf(c.Brake, 0) {
		bad("brake", "must be finite and > 0, got %v", c.Brake)
	}
	if c.Tau < 0 {
		bad("tau", "must be ≥ 0, got %v", c.Tau)
	}
	if !(c.Noise >= 0) || math.IsInf(c.Noise, 0) {
		bad("noise", "must be finite and ≥ 0, got %v", c.Noise)
	}
	if c.NoiseTau <= 0 {
		bad("noise_tau", "must be > 0, got %v", c.NoiseTau)
	}
	return errors.Join(errs...)
}

// Screen is what the task shows at one moment: the cursor and, when On,
// the target (centre and radius, cm).
type Screen struct {
	Sample           int64 // frame from which the screen is shown
	X, Y             float64
	TargetX, TargetY float64
	TargetR          float64
	On               bool
}

// User is the simulated user of a closed-loop task, a feedback controller
// in the manner of the online prosthesis simulator of Cunningham et al.
// (2011, J Neurophysiol 105:1932), where a subject's intended movement
// drives simulated neurons and the subject sees the decoded cursor: here the
// subject is a model. It is the brain's sim.Intent, so decoding errors, seen
// after the visual delay, feed back into the neural activity.
//
// Each frame s it looks at the newest screen shown at or before s − D (D the
// visual delay; nothing seen yet, or no target: command 0) and commands a
// velocity towards the target centre with a distance-dependent speed, the
// piecewise-linear form Willett et al. (2017, J Neural Eng 14:016001) fitted
// to the control policies of people using intracortical BCIs:
//
//	u = S·min(1, d/B)·(T − c)/d,   d = |T − c|
//
// The intended velocity follows the command through a first-order lag,
// v ← v + (1 − e^{−Δt/τ})·(u − v), and carries Ornstein–Uhlenbeck noise n per
// axis, n ← a·n + σ·√(1−a²)·ξ with a = e^{−Δt/τ_n}, ξ ~ N(0, 1) from the
// seeded generator; the brain receives v + n. The user has no internal
// model of the delay: it corrects what it saw, so a lagging decoder makes it
// overshoot and dial in.
//
// The task calls Show once per bin with the screen it now displays; the
// brain calls Velocity once per frame, in frame order. Both run on the
// goroutine that advances the brain (lockstep, or the paced real-time
// loop), so runs are deterministic. Neither allocates.
type User struct {
	cfg    UserConfig
	dt     float64
	delay  int64 // frames
	alpha  float64
	na, ns float64 // noise: a and σ·√(1−a²)
	rng    *rand.Rand

	ring       []Screen // shown screens, oldest first from head
	head, size int
	seen       Screen // newest screen visible at the last Velocity
	have       bool

	vx, vy float64 // lagged command
	nx, ny float64 // noise
}

// NewUser returns a user for a stream at rate frames per second whose task
// shows a new screen every binFrames frames.
func NewUser(cfg UserConfig, rate float64, binFrames int) (*User, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("user: %w", err)
	}
	if !(rate > 0) || binFrames < 1 {
		return nil, fmt.Errorf("user: rate %g Hz and bins of %d frames; want both > 0", rate, binFrames)
	}
	u := &User{cfg: cfg, dt: 1 / rate, delay: int64(math.Round(cfg.Delay.Seconds() * rate)),
		rng: rand.New(rand.NewPCG(cfg.Seed, 0x7573657273696d31))}
	if cfg.Tau > 0 {
		u.alpha = -math.Expm1(-u.dt / cfg.Tau.Seconds())
	} else {
		u.alpha = 1
	}
	u.na = math.Exp(-u.dt / cfg.NoiseTau.Seconds())
	u.ns = cfg.Noise * math.Sqrt(1-u.na*u.na)
	// The screens newer than the one in view span at most the delay:
	// delay/binFrames + 1 of them, plus the one in view.
	u.ring = make([]Screen, int(u.delay)/binFrames+3)
	return u, nil
}

// Show records the screen the task displays from frame s.Sample on. Screens
// come in order of Sample; when the ring is full the oldest is dropped
// (never one the delay can still reach, given the bin size NewUser was told).
func (u *User) Show(s Screen) {
	if u.size == len(u.ring) {
		u.head = (u.head + 1) % len(u.ring)
		u.size--
	}
	u.ring[(u.head+u.size)%len(u.ring)] = s
	u.size++
}

// Velocity returns the intended velocity for frame sample (sim.Intent).
func (u *User) Velocity(sample int64) (float64, float64) {
	horizon := sample - u.delay
	for u.size > 0 && u.ring[u.head].Sample <= horizon {
		u.seen, u.have = u.ring[u.head], true
		u.head = (u.head + 1) % len(u.ring)
		u.size--
	}
	var cx, cy float64
	if u.have && u.seen.On {
		dx, dy := u.seen.TargetX-u.seen.X, u.seen.TargetY-u.seen.Y
		if d := math.Hypot(dx, dy); d > 0 {
			k := u.cfg.Speed * min(1, d/u.cfg.Brake) / d
			cx, cy = k*dx, k*dy
		}
	}
	u.vx += u.alpha * (cx - u.vx)
	u.vy += u.alpha * (cy - u.vy)
	if u.ns > 0 {
		u.nx = u.na*u.nx + u.ns*u.rng.NormFloat64()
		u.ny = u.na*u.ny + u.ns*u.rng.NormFloat64()
	}
	return u.vx + u.nx, u.vy + u.ny
}

// Seen returns the screen the user acted on at the last Velocity and whether
// it has seen one yet.
func (u *User) Seen() (Screen, bool) { return u.seen, u.have }
