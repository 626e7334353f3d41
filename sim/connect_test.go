package sim

import (
	"math"
	"slices"
	"testing"

	"github.com/bciloop/bciloop/model"
)

// rows returns, for every presynaptic neuron of pr (local index), its
// targets (global indices) from the CSR.
func rows(e *engine, pr *projRT) [][]int32 {
	np := e.threads + 1
	out := make([][]int32, pr.srcHi-pr.srcLo)
	for r := range out {
		out[r] = pr.tgt[pr.split[r*np]:pr.split[r*np+np-1]]
	}
	return out
}

// pairNet is a network of two lif populations A (nA) and B (nB) with the
// projections given, on a 1 mm sheet.
func pairNet(nA, nB, threads int, projs ...Projection) NetworkConfig {
	cell := model.LIF{C: 200, GL: 10, EL: -60, VTh: -50, VReset: -60, TRef: 2}
	cfg := DefaultNetworkConfig()
	cfg.Threads = threads
	cfg.Sheet.WidthUM, cfg.Sheet.Grid = 1000, 0
	cfg.Populations = []Population{
		{Name: "A", N: nA, Model: ModelLIF, LIF: cell, TauEMs: 5, TauIMs: 10},
		{Name: "B", N: nB, Model: ModelLIF, LIF: cell, TauEMs: 5, TauIMs: 10},
	}
	cfg.Projections = projs
	return cfg
}

func mustBuild(t testing.TB, cfg NetworkConfig) *engine {
	t.Helper()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	e, err := build(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestConnectProb(t *testing.T) {
	tests := []struct {
		name               string
		from, to           string
		p                  float64
		autapses           bool
		wantSelf, noSelfOK bool
	}{
		{"A to B", "A", "B", 0.05, false, false, true},
		{"A to A without autapses", "A", "A", 0.3, false, false, true},
		{"A to A all pairs with autapses", "A", "A", 1, true, true, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := mustBuild(t, pairNet(400, 300, 3, Projection{From: tc.from, To: tc.to, Receptor: Exc, Rule: ConnProb, P: tc.p,
				Autapses: tc.autapses, Weight: 1, DelayMs: 0.1}))
			pr := &e.projs[0]
			to := e.pops[e.popIndex[tc.to]]
			pairs := float64(pr.srcHi-pr.srcLo) * float64(to.hi-to.lo)
			if tc.from == tc.to && !tc.autapses {
				pairs -= float64(to.hi - to.lo)
			}
			mean, sd := tc.p*pairs, math.Sqrt(tc.p*(1-tc.p)*pairs)
			// Binomial count within 5 standard deviations.
			if got := float64(pr.synapses()); math.Abs(got-mean) > 5*sd+1e-9 {
				t.Errorf("%v synapses, want %v ± %v", got, mean, 5*sd)
			}
			self := false
			for r, row := range rows(e, pr) {
				if !slices.IsSorted(row) {
					t.Fatalf("row %d not sorted", r)
				}
				for k, j := range row {
					if j < to.lo || j >= to.hi {
						t.Fatalf("row %d target %d outside %s", r, j, tc.to)
					}
					if k > 0 && row[k-1] == j {
						t.Fatalf("row %d repeats target %d", r, j)
					}
					if tc.from == tc.to && int32(r)+pr.srcLo == j {
						self = true
					}
				}
			}
			if self != tc.wantSelf {
				t.Errorf("autapse present %v, want %v", self, tc.wantSelf)
			}
		})
	}
}

func TestConnectInDegree(t *testing.T) {
	for _, multapses := range []bool{false, true} {
		e := mustBuild(t, pairNet(50, 70, 2, Projection{From: "A", To: "A", Receptor: Exc, Rule: ConnInDegree, K: 49, Multapses: multapses, Weight: 1, DelayMs: 0.1},
			Projection{From: "A", To: "B", Receptor: Inh, Rule: ConnInDegree, K: 20, Multapses: multapses, Weight: -1, DelayMs: 0.1}))
		for pi, pr := range e.projs {
			to := e.pops[e.popIndex[[]string{"A", "B"}[pi]]]
			in := map[int32][]int32{}
			for r, row := range rows(e, &pr) {
				for _, j := range row {
					in[j] = append(in[j], int32(r))
				}
			}
			k := []int{49, 20}[pi]
			for j := to.lo; j < to.hi; j++ {
				src := in[j]
				if len(src) != k {
					t.Fatalf("multapses=%v proj %d: neuron %d has in-degree %d, want %d", multapses, pi, j, len(src), k)
				}
				slices.Sort(src)
				if !multapses && len(slices.Compact(src)) != k {
					t.Fatalf("proj %d: neuron %d has repeated partners", pi, j)
				}
				for _, s := range src {
					if pi == 0 && !multapses && s == j {
						t.Fatalf("autapse on %d", j)
					}
				}
			}
		}
	}
	// In-degree 49 from 49 others: every neuron gets all of them.
	e := mustBuild(t, pairNet(50, 1, 1, Projection{From: "A", To: "A", Receptor: Exc, Rule: ConnInDegree, K: 49, Weight: 1, DelayMs: 0.1}))
	if got := e.projs[0].synapses(); got != 50*49 {
		t.Errorf("%d synapses, want %d", got, 50*49)
	}
}

func TestConnectList(t *testing.T) {
	pre := []int32{3, 0, 3, 3, 1}
	post := []int32{4, 2, 1, 4, 0}
	w := []float64{1, 2, 3, 4, 5}
	d := []float64{0.1, 0.2, 0.3, 0.4, 0.5}
	e := mustBuild(t, pairNet(5, 6, 2, Projection{From: "A", To: "B", Receptor: Exc, Rule: ConnList, Pre: pre, Post: post, Weights: w, DelaysMs: d}))
	pr := &e.projs[0]
	type syn struct {
		pre, post int32
		w         float32
		d         uint16
	}
	var got []syn
	for r, row := range rows(e, pr) {
		start := pr.split[r*(e.threads+1)]
		for k, j := range row {
			got = append(got, syn{int32(r), j - 5, pr.wts[int(start)+k], pr.dl[int(start)+k]})
		}
	}
	// By presynaptic neuron, then target, ties in list order.
	want := []syn{{0, 2, 2, 2}, {1, 0, 5, 5}, {3, 1, 3, 3}, {3, 4, 1, 1}, {3, 4, 4, 4}}
	if !slices.Equal(got, want) {
		t.Errorf("synapses %v, want %v", got, want)
	}
	if e.nslot != 5 {
		t.Errorf("ring of %d slots, want 5", e.nslot)
	}
}

func TestConnectDistance(t *testing.T) {
	const sigma, p = 100.0, 0.8
	cfg := pairNet(1500, 1500, 1, Projection{From: "A", To: "B", Receptor: Exc, Rule: ConnDistance, P: p, SigmaUM: sigma, Weight: 1, DelayMs: 0.1})
	e := mustBuild(t, cfg)
	pr := &e.projs[0]
	connected := map[[2]int32]bool{}
	for r, row := range rows(e, pr) {
		for _, j := range row {
			connected[[2]int32{int32(r) + pr.srcLo, j}] = true
		}
	}
	// Connected fraction per distance bin against p·exp(−d²/2σ²).
	const bins = 6
	var pairs, hits, expect [bins]float64
	for i := int32(0); i < 1500; i++ {
		for j := int32(1500); j < 3000; j++ {
			dx, dy := e.x[i]-e.x[j], e.y[i]-e.y[j]
			d := math.Sqrt(dx*dx + dy*dy)
			if d > 4*sigma {
				if connected[[2]int32{i, j}] {
					t.Fatalf("pair %d→%d at %v µm beyond 4σ is connected", i, j, d)
				}
				continue
			}
			b := int(d / (4 * sigma / bins))
			pairs[b]++
			expect[b] += p * math.Exp(-d*d/(2*sigma*sigma))
			if connected[[2]int32{i, j}] {
				hits[b]++
			}
		}
	}
	for b := range bins {
		// Bernoulli sums: within 5 standard deviations (variance ≤ mean).
		if math.Abs(hits[b]-expect[b]) > 5*math.Sqrt(expect[b])+1 {
			t.Errorf("bin %d: %v connections among %v pairs, want %v", b, hits[b], pairs[b], expect[b])
		}
	}
}

func TestSplitRows(t *testing.T) {
	// Three partitions of 256-neuron blocks over 1000 neurons.
	e := mustBuild(t, pairNet(500, 500, 3, Projection{From: "A", To: "B", Receptor: Exc, Rule: ConnProb, P: 0.2, Weight: 1, DelayMs: 0.1},
		Projection{From: "B", To: "A", Receptor: Exc, Rule: ConnProb, P: 0.2, Weight: 1, DelayMs: 0.1}))
	if !slices.Equal(e.bounds, []int32{0, 256, 512, 1000}) {
		t.Fatalf("bounds %v", e.bounds)
	}
	for _, pr := range e.projs {
		np := e.threads + 1
		for r := range int(pr.srcHi - pr.srcLo) {
			for p := range e.threads {
				for _, j := range pr.tgt[pr.split[r*np+p]:pr.split[r*np+p+1]] {
					if j < e.bounds[p] || j >= e.bounds[p+1] {
						t.Fatalf("row %d partition %d holds target %d", r, p, j)
					}
				}
			}
		}
	}
}

// synapseBytes returns the bytes of connectivity per synapse: targets,
// weights, delays and the row offsets.
func synapseBytes(e *engine) float64 {
	var b int64
	for _, pr := range e.projs {
		b += int64(len(pr.tgt))*4 + int64(len(pr.wts))*4 + int64(len(pr.dl))*2 + int64(len(pr.split))*4
	}
	return float64(b) / float64(e.synCount)
}

func TestSynapseBytes(t *testing.T) {
	for _, c := range []struct {
		preset string
		n      int
	}{{"coba", 0}, {"cuba", 0}, {"brunel-c", 2500}} {
		cfg, err := Preset(c.preset, PresetOptions{Neurons: c.n, Seed: 1, Threads: 2})
		if err != nil {
			t.Fatal(err)
		}
		e := mustBuild(t, cfg)
		// Hard requirement: at most 12 bytes per synapse.
		if b := synapseBytes(e); b > 12 {
			t.Errorf("%s: %.2f bytes per synapse, want ≤ 12", c.preset, b)
		}
	}
	// Per-synapse weights and delays: 4 + 4 + 2 bytes plus offsets.
	pre := make([]int32, 400*50)
	post := make([]int32, len(pre))
	w := make([]float64, len(pre))
	d := make([]float64, len(pre))
	for k := range pre {
		pre[k], post[k], w[k], d[k] = int32(k%400), int32(k/400), 1, 0.1*float64(1+k%7)
	}
	e := mustBuild(t, pairNet(400, 400, 1, Projection{From: "A", To: "B", Receptor: Exc, Rule: ConnList, Pre: pre, Post: post, Weights: w, DelaysMs: d}))
	if b := synapseBytes(e); b > 12 {
		t.Errorf("list with weights and delays: %.2f bytes per synapse, want ≤ 12", b)
	}
}

// TestMergeProjections: projections that deliver alike share rows; the
// synapses are those of the members, each row sorted.
func TestMergeProjections(t *testing.T) {
	cfg := COBA(1000, 6, 67)
	cfg.Threads = 3
	e := mustBuild(t, cfg)
	if len(e.projs) != 2 {
		t.Fatalf("%d projections after merging COBA's four, want 2 (from E, from I)", len(e.projs))
	}
	var total int
	for _, pr := range e.projs {
		total += pr.synapses()
		for r, row := range rows(e, &pr) {
			if !slices.IsSorted(row) {
				t.Fatalf("row %d not sorted", r)
			}
		}
	}
	if int64(total) != e.synCount {
		t.Errorf("%d synapses after merging, %d built", total, e.synCount)
	}
	// The same pairs as the projections built one by one (from the same
	// streams: a projection's seed depends on its index).
	want := map[[2]int32]int{}
	for j := range cfg.Projections {
		pr, err := e.buildProjection(j, &cfg)
		if err != nil {
			t.Fatal(err)
		}
		for r, row := range rows(e, &pr) {
			for _, k := range row {
				want[[2]int32{int32(r) + pr.srcLo, k}]++
			}
		}
	}
	got := map[[2]int32]int{}
	for _, pr := range e.projs {
		for r, row := range rows(e, &pr) {
			for _, k := range row {
				got[[2]int32{int32(r) + pr.srcLo, k}]++
			}
		}
	}
	if len(got) != len(want) {
		t.Fatalf("%d distinct pairs merged, %d in the projections", len(got), len(want))
	}
	for p, c := range want {
		if got[p] != c {
			t.Fatalf("pair %v: %d merged, %d built", p, got[p], c)
		}
	}
}
