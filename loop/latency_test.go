package loop

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/bciloop/bciloop/acquire"
	"github.com/bciloop/bciloop/decode"
)

// rawConfig is the raw load of `bciloop latency --load raw-1024`, with a
// 1 s calibration: 1024 channels × 30 kHz in 1 ms blocks → threshold
// crossings → 20 ms bins → steady-state Kalman filter.
func rawConfig(c *Config) {
	c.Source.Preset = "broadband"
	c.Source.Broadband.Channels = 1024
	th := StageConfig{Type: "threshold", ThresholdConfig: decode.DefaultThresholdConfig()}
	th.Calibration = 200 * time.Millisecond
	c.Stages = []StageConfig{th}
	c.Decoder.Type = "kalman-ss"
	c.Decoder.Kalman.QRidge = 0.05
	c.Decoder.Calibration = time.Second
}

// benchProcess measures the pipeline's own cost per 1 ms block after
// warm-up (the source's generation excluded): cpu-µs/op (process CPU
// time, which also counts the NATS client and the embedded server's work
// for the published messages) over 1000 is the share of one core the
// pipeline needs in real time.
func benchProcess(b *testing.B, mutate func(*Config)) {
	l, blk, done := warmLoop(b, mutate)
	defer done()
	// Pre-generate a second of blocks so that only Process is timed.
	blocks := make([]acquire.Block, 1000)
	for i := range blocks {
		if err := l.src.Read(context.Background(), &blocks[i]); err != nil {
			b.Fatal(err)
		}
	}
	_ = blk
	b.ReportAllocs()
	b.ResetTimer()
	var ru syscall.Rusage
	cpu := func() int64 {
		_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		return ru.Utime.Nano() + ru.Stime.Nano()
	}
	var spent int64
	c0 := cpu()
	for i := range b.N {
		if i > 0 && i%len(blocks) == 0 {
			b.StopTimer()
			spent += cpu() - c0
			for k := range blocks {
				if err := l.src.Read(context.Background(), &blocks[k]); err != nil {
					b.Fatal(err)
				}
			}
			c0 = cpu()
			b.StartTimer()
		}
		bl := &blocks[i%len(blocks)]
		bl.Arrived = acquire.Now()
		if err := l.Process(bl); err != nil {
			b.Fatal(err)
		}
	}
	spent += cpu() - c0
	b.ReportMetric(float64(spent)/float64(b.N)/1e3, "cpu-µs/op")
}

// BenchmarkProcessSpikes96 is the spikes-96 load: 96 units, 1 ms blocks,
// Kalman filter, every stream published.
func BenchmarkProcessSpikes96(b *testing.B) { benchProcess(b, nil) }

// BenchmarkProcessRaw1024 is the raw-1024 load's pipeline: threshold
// crossings on 1024 × 30 samples, binning, steady-state Kalman, publishing.
func BenchmarkProcessRaw1024(b *testing.B) { benchProcess(b, rawConfig) }
