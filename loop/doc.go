// Package loop is the runtime of bciloop: it reads a config strictly
// (ParseConfig, LoadConfig: unknown keys rejected, every problem reported
// at once with its path), builds the pipeline from the explicit component
// table (Build: validate, size, open nothing slow), and runs it (Run):
// source → Binner → Decoder → NATS command → Controller → stimulate.Limit →
// Stimulator, closing the loop through the synthetic brain.
//
// Concurrency: the pipeline runs on one goroutine (Process), so the path
// from a block's arrival to its command and stimulation never hops
// goroutines. In real time the source reads on its own goroutine into a
// fixed pool of blocks with drop-oldest back-pressure (drops are counted);
// in lockstep it runs on the pipeline goroutine and nothing is dropped.
// Bins that lost frames to drops are decoded by decode.PartialRule (counts
// scaled to the full bin, or the decoder's prediction alone), fitted scaled
// or left out in calibration, and counted (drops.go; Summary bins_partial …).
//
// Latency: every block carries its arrival stamp (acquire.Now); per-stage
// histograms (HdrHistogram) record the time from arrival to each boundary:
// queue, decode, publish, stimulation applied; and pace, stages, bin and
// the whole block, checked against run.deadline (deadline.go). The
// histograms start over when the warm-up ends (run.warmup after the
// decoder is ready); deadline misses, drops and GC cycles are counted from
// then. `bciloop latency` runs all of it against the synthetic brain with a
// subscriber in another process, and External closes the loop through a
// decoder in another process.
//
// NATS: with no URL the loop starts an embedded nats-server on loopback
// (StartEmbedded); otherwise it connects with the configured credentials
// and TLS (Connect), reconnecting for ever on server loss. Commands are
// JSON on bciloop.<rig>.cmd; spikes and bins use the versioned
// little-endian binary encoding of acquire.AppendWireHeader, documented in
// README.
//
// Closed-loop stimulation: the threshold controller reads the decoder; the
// others (rate clamp, responsive, adaptive beta, phase-locked, schedule;
// controllers.go) read a feature stage run on every sample (features.go:
// population rate, LFP, band power, line length). With an experiment
// section (ExperimentConfig, experiment.go) the run measures a closed-loop
// experiment's figures against a shadow brain without stimulation or sham
// pulses into Summary.Experiment (configs/exp-*.yaml).
//
// Closed-loop task: with a task section (TaskConfig) the decoded command
// drives a cursor in a centre-out or random-target task (Task), published
// on bciloop.<rig>.cursor every bin, and the synthetic brain's intended
// velocity comes from a simulated user (User, a sim.Intent) that sees the
// cursor through a visual delay; the run calibrates open loop, then closes
// the loop, optionally recalibrating by ReFIT, and reports the task's
// metrics per block in Summary.Task.
//
// Sessions: with nats.store_dir (embedded server) or an external server
// with JetStream, and a session section (SessionConfig, session.go), the
// run records its blocks, bins, commands, cursor, stimulation and decoder
// parameters into one JetStream stream per session, each message a chunk of
// the bciloop recording format (CRC-32C), published off the pipeline
// goroutine with acknowledgements, expected-last-sequence checks and
// resends, so a server restart leaves no gap. ReplaySession
// (session_replay.go, `bciloop replay`) re-runs a session through the
// recorded decoder (commands reproduced byte for byte) or another one and
// reports damaged messages by stream sequence.
package loop
