package loop

import (
	"sync"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Latency is a latency histogram in nanoseconds: an HdrHistogram (Tene's
// High Dynamic Range Histogram) from 1 µs to 60 s at 3 significant digits,
// so a quantile is exact to 0.1 % and recording never allocates. It is safe
// for concurrent use.
type Latency struct {
	mu sync.Mutex
	h  *hdrhistogram.Histogram
}

const (
	latencyMin = 1e3  // 1 µs
	latencyMax = 6e10 // 60 s
)

// NewLatency returns an empty histogram.
func NewLatency() *Latency {
	return &Latency{h: hdrhistogram.New(latencyMin, latencyMax, 3)}
}

// Record adds one latency in ns, clamped to the histogram's range (values
// below 1 µs count as 1 µs; the clamp keeps max honest to 0.1 %).
func (l *Latency) Record(ns int64) {
	if ns < latencyMin {
		ns = latencyMin
	} else if ns > latencyMax {
		ns = latencyMax
	}
	l.mu.Lock()
	_ = l.h.RecordValue(ns)
	l.mu.Unlock()
}

// Quantiles are latency figures in microseconds.
type Quantiles struct {
	Count int64   `json:"count"`
	P50   float64 `json:"p50"`
	P90   float64 `json:"p90"`
	P99   float64 `json:"p99"`
	P999  float64 `json:"p999"`
	Max   float64 `json:"max"`
	Mean  float64 `json:"mean"`
}

// Quantiles returns the current figures.
func (l *Latency) Quantiles() Quantiles {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.h.TotalCount() == 0 {
		return Quantiles{}
	}
	us := func(v int64) float64 { return float64(v) / 1e3 }
	return Quantiles{
		Count: l.h.TotalCount(),
		P50:   us(l.h.ValueAtQuantile(50)),
		P90:   us(l.h.ValueAtQuantile(90)),
		P99:   us(l.h.ValueAtQuantile(99)),
		P999:  us(l.h.ValueAtQuantile(99.9)),
		Max:   us(l.h.Max()),
		Mean:  l.h.Mean() / 1e3,
	}
}

// Reset empties the histogram.
func (l *Latency) Reset() {
	l.mu.Lock()
	l.h.Reset()
	l.mu.Unlock()
}

// CCDF returns the complementary cumulative distribution of the recorded
// latencies: for each distinct recorded bucket value v (in µs, ascending),
// the fraction of recordings above it. Empty when nothing was recorded.
func (l *Latency) CCDF() (us, above []float64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := l.h.TotalCount()
	if n == 0 {
		return nil, nil
	}
	var seen int64
	for _, b := range l.h.Distribution() {
		if b.Count == 0 {
			continue
		}
		seen += b.Count
		us = append(us, float64(b.To)/1e3)
		above = append(above, float64(n-seen)/float64(n))
	}
	return us, above
}

// Latencies returns the loop's histograms by stage name (the Stage*
// constants), and "e2e" for arrival → command published. They are live:
// the pipeline goes on recording into them.
func (l *Loop) Latencies() map[string]*Latency {
	m := make(map[string]*Latency, len(l.lat)+1)
	for k, h := range l.lat {
		m[k] = h
	}
	m["e2e"] = l.e2e
	return m
}

// StreamSeconds returns the stream time processed so far. Safe from any
// goroutine.
func (l *Loop) StreamSeconds() float64 { return float64(l.simSamples.Load()) / l.rate }

// WarmupSeconds returns the stream time at which the warm-up ended, or −1
// while it lasts. Safe from any goroutine.
func (l *Loop) WarmupSeconds() float64 {
	if !l.timing.warm.Load() {
		return -1
	}
	return float64(l.timing.warmS.Load()) / l.rate
}

// Channels returns the source's channel count.
func (l *Loop) Channels() int { return l.channels }
