package sim

import (
	"fmt"
	"math"

	"github.com/bciloop/bciloop/model"
)

// SpikeStats accumulates per-neuron spike statistics from events fed in
// step order (as Advance produces them), counting only spikes in the
// window of steps [From, To): spike counts and the first two moments of
// the inter-spike intervals within the window. Memory is O(neurons), so a
// long run can be summarised chunk by chunk without keeping its spikes.
type SpikeStats struct {
	From, To int64
	count    []int64
	last     []int64
	s1, s2   []float64 // Σ ISI and Σ ISI², in steps
}

// NewSpikeStats returns an empty accumulator for neurons neurons and the
// window [from, to) of steps.
func NewSpikeStats(neurons int, from, to int64) *SpikeStats {
	s := &SpikeStats{From: from, To: to, count: make([]int64, neurons), last: make([]int64, neurons),
		s1: make([]float64, neurons), s2: make([]float64, neurons)}
	for i := range s.last {
		s.last[i] = -1
	}
	return s
}

// Add accumulates events (in step order). Events outside the window or
// with a neuron out of range are ignored. It does not allocate.
func (s *SpikeStats) Add(events []Event) {
	for _, ev := range events {
		i := int(ev.Channel)
		if ev.Sample < s.From || ev.Sample >= s.To || i < 0 || i >= len(s.count) {
			continue
		}
		if l := s.last[i]; l >= 0 {
			d := float64(ev.Sample - l)
			s.s1[i] += d
			s.s2[i] += d * d
		}
		s.last[i] = ev.Sample
		s.count[i]++
	}
}

// Count returns the number of spikes of neurons [first, first+n).
func (s *SpikeStats) Count(first, n int) int64 {
	var c int64
	for _, k := range s.count[first : first+n] {
		c += k
	}
	return c
}

// Rate returns the mean firing rate (Hz) of neurons [first, first+n) over
// the window, for steps of dtMs ms.
func (s *SpikeStats) Rate(first, n int, dtMs float64) float64 {
	if n == 0 {
		return 0
	}
	return float64(s.Count(first, n)) / float64(n) / (float64(s.To-s.From) * dtMs / 1000)
}

// CV returns the mean over neurons [first, first+n) with at least minSpikes
// spikes (minSpikes ≥ 3) of the coefficient of variation of their
// inter-spike intervals, CV_i = σ_i/μ_i with the sample standard deviation
// (Dayan & Abbott 2001 §1.4; as model.ISICV), and the number of neurons
// averaged. It is NaN when no neuron qualifies.
func (s *SpikeStats) CV(first, n, minSpikes int) (cv float64, neurons int) {
	minSpikes = max(minSpikes, 3)
	var sum float64
	for i := first; i < first+n; i++ {
		k := s.count[i] - 1 // intervals
		if s.count[i] < int64(minSpikes) {
			continue
		}
		m := s.s1[i] / float64(k)
		v := (s.s2[i] - float64(k)*m*m) / float64(k-1)
		sum += math.Sqrt(max(v, 0)) / m
		neurons++
	}
	if neurons == 0 {
		return math.NaN(), 0
	}
	return sum / float64(neurons), neurons
}

// PopulationCounts returns the spike counts of neurons [first, first+n) in
// consecutive bins of bin steps covering steps [from, to) (a last partial
// bin is dropped), from events in step order.
func PopulationCounts(events []Event, first, n int, from, to int64, bin int) []float64 {
	if bin < 1 || to <= from {
		return nil
	}
	out := make([]float64, (to-from)/int64(bin))
	lo, hi := int32(first), int32(first+n)
	for _, ev := range events {
		if ev.Channel < lo || ev.Channel >= hi || ev.Sample < from {
			continue
		}
		b := (ev.Sample - from) / int64(bin)
		if b >= int64(len(out)) {
			continue
		}
		out[b]++
	}
	return out
}

// Synchrony returns the synchrony measure χ of Golomb & Rinzel (1993,
// Physica D 72:259; Golomb 2007, Scholarpedia 2:1347) computed on spike
// counts in bins of bin steps over [from, to) for neurons [first, first+n)
// (events in step order):
//
//	χ² = Var_t(Σ_i n_i(t)) / (N·Σ_i Var_t(n_i(t)))
//
// the variance of the population count relative to that of independent
// neurons: χ ≈ 1/√N for independent firing, 1 for full synchrony. It is
// NaN when no neuron fires.
func Synchrony(events []Event, first, n int, from, to int64, bin int) float64 {
	if bin < 1 || n < 1 || to-from < int64(bin) {
		return math.NaN()
	}
	nb := (to - from) / int64(bin)
	end := from + nb*int64(bin)
	lastBin := make([]int64, n)
	cur := make([]float64, n)
	sum := make([]float64, n)
	sq := make([]float64, n)
	for i := range lastBin {
		lastBin[i] = -1
	}
	pop := make([]float64, nb)
	for _, ev := range events {
		i := int(ev.Channel) - first
		if i < 0 || i >= n || ev.Sample < from || ev.Sample >= end {
			continue
		}
		b := (ev.Sample - from) / int64(bin)
		pop[b]++
		if lastBin[i] != b {
			sq[i] += cur[i] * cur[i]
			cur[i] = 0
			lastBin[i] = b
		}
		cur[i]++
		sum[i]++
	}
	var sumVar float64
	for i := range n {
		sq[i] += cur[i] * cur[i]
		m := sum[i] / float64(nb)
		sumVar += sq[i]/float64(nb) - m*m
	}
	var pm, pv float64
	for _, c := range pop {
		pm += c
	}
	pm /= float64(nb)
	for _, c := range pop {
		pv += (c - pm) * (c - pm)
	}
	pv /= float64(nb)
	if sumVar <= 0 {
		return math.NaN()
	}
	return math.Sqrt(pv / (float64(n) * sumVar))
}

// SpectrumPeak returns the frequency (Hz) and power of the largest value of
// the power spectral density of x (sampled at fs Hz) within [fmin, fmax],
// estimated by Welch's method with Hann segments of segment samples
// overlapping by half (model.Welch).
func SpectrumPeak(x []float64, fs, fmin, fmax float64, segment int) (f, power float64, err error) {
	w, err := model.NewWelch(segment, segment/2, fs)
	if err != nil {
		return 0, 0, err
	}
	psd := make([]float64, w.Len())
	if _, err := w.PSDTo(psd, x); err != nil {
		return 0, 0, err
	}
	freqs := w.FreqsTo(make([]float64, w.Len()))
	k := -1
	for i, fr := range freqs {
		if fr >= fmin && fr <= fmax && (k < 0 || psd[i] > psd[k]) {
			k = i
		}
	}
	if k < 0 {
		return 0, 0, fmt.Errorf("no frequency bin in [%v, %v] Hz", fmin, fmax)
	}
	return freqs[k], psd[k], nil
}
