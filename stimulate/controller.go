package stimulate

import "github.com/bciloop/bciloop/decode"

// Controller turns decoder estimates into stimulation: the closed-loop
// policy between decode and a Stimulator (behind a Limit).
//
// Update is called once per estimate, in order, on the pipeline goroutine.
// When it decides to stimulate it fills the caller-owned dst (Seq, Sample,
// Arrived and Pulses, reusing dst.Pulses' capacity) and returns true; when
// it returns false dst is left as it was. It must not retain dst or est and
// must not allocate after warm-up. The Sample a controller sets is on the
// stream's sample clock (est.Sample plus any delay); Arrived carries
// est.Arrived on for latency measurement; Seq increases by one per pattern
// from the controller.
//
// Reset forgets everything learned from past estimates (previous values,
// lockouts), as at a new trial; Seq keeps counting so that patterns remain
// uniquely numbered.
//
// Concurrency: a Controller is used by one goroutine at a time.
type Controller interface {
	Update(dst *Pattern, est *decode.Estimate) (fire bool)
	Reset()
}
