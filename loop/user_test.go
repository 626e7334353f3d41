package loop

import (
	"math"
	"testing"
	"time"
)

func newTestUser(t *testing.T, edit func(c *UserConfig)) *User {
	t.Helper()
	cfg := DefaultUserConfig()
	cfg.Noise, cfg.Tau = 0, 0
	if edit != nil {
		edit(&cfg)
	}
	u, err := NewUser(cfg, 1000, 20)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestUserDelayAndSpeed(t *testing.T) {
	cases := []struct {
		name     string
		tx       float64
		wantVX   float64
		delay    time.Duration
		wantSeen int64
	}{
		{"far: full speed", 10, 20, 150 * time.Millisecond, 150},
		{"within brake: proportional", 3, 10, 150 * time.Millisecond, 150},
		{"no delay", 10, 20, 0, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			u := newTestUser(t, func(c *UserConfig) { c.Delay = tc.delay })
			u.Show(Screen{Sample: 0, TargetX: tc.tx, TargetR: 1, On: true})
			for s := int64(0); s < 400; s++ {
				vx, vy := u.Velocity(s)
				want := 0.0
				if s >= tc.wantSeen {
					want = tc.wantVX
				}
				if math.Abs(vx-want) > 1e-12 || vy != 0 {
					t.Fatalf("frame %d: (%v, %v), want (%v, 0)", s, vx, vy, want)
				}
			}
		})
	}
}

func TestUserSeesThroughDelay(t *testing.T) {
	u := newTestUser(t, nil) // 150 ms, bins of 20 frames
	for s := int64(0); s < 2000; s++ {
		if s%20 == 0 {
			u.Show(Screen{Sample: s, X: float64(s), On: false})
		}
		u.Velocity(s)
		seen, ok := u.Seen()
		if s < 150 {
			if ok {
				t.Fatalf("frame %d: saw a screen before the delay", s)
			}
			continue
		}
		if want := float64((s - 150) / 20 * 20); !ok || seen.X != want {
			t.Fatalf("frame %d: sees the screen of frame %v, want %v", s, seen.X, want)
		}
	}
}

func TestUserLagAndNoise(t *testing.T) {
	u := newTestUser(t, func(c *UserConfig) { c.Delay, c.Tau = 0, 100*time.Millisecond })
	u.Show(Screen{TargetX: 100, On: true})
	vx, _ := u.Velocity(0)
	if want := 20 * -math.Expm1(-0.01); math.Abs(vx-want) > 1e-12 {
		t.Fatalf("first frame %v, want %v", vx, want)
	}
	for s := int64(1); s < 1000; s++ { // 10 τ
		vx, _ = u.Velocity(s)
	}
	if math.Abs(vx-20) > 1e-3 {
		t.Fatalf("after 10 τ %v, want 20", vx)
	}

	noisy := func(seed uint64) []float64 {
		u := newTestUser(t, func(c *UserConfig) { c.Noise, c.Seed = 2, seed })
		var out []float64
		for s := int64(0); s < 200000; s++ {
			vx, vy := u.Velocity(s)
			out = append(out, vx, vy)
		}
		return out
	}
	a, b, c := noisy(1), noisy(1), noisy(2)
	var ss float64
	for i := range a {
		if a[i] != b[i] {
			t.Fatal("one seed, two noise sequences")
		}
		ss += a[i] * a[i]
	}
	if sd := math.Sqrt(ss / float64(len(a))); math.Abs(sd-2) > 0.2 {
		t.Fatalf("noise SD %v, want 2", sd)
	}
	if a[1000] == c[1000] {
		t.Fatal("seeds 1 and 2 give the same noise")
	}
}

func TestUserAllocs(t *testing.T) {
	u := newTestUser(t, func(c *UserConfig) { c.Noise = 1 })
	s := int64(0)
	if n := testing.AllocsPerRun(100, func() {
		u.Show(Screen{Sample: s, TargetX: 5, On: true})
		for range 20 {
			u.Velocity(s)
			s++
		}
	}); n != 0 {
		t.Fatalf("Show and Velocity allocate %v times per bin", n)
	}
}
