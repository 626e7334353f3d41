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
//
// Latency: every block carries its arrival stamp (acquire.Now); per-stage
// histograms (HdrHistogram) record the time from arrival to each boundary:
// queue, decode, publish, stimulation applied.
//
// NATS: with no URL the loop starts an embedded nats-server on loopback
// (StartEmbedded); otherwise it connects with the configured credentials
// and TLS (Connect), reconnecting for ever on server loss. Commands are
// JSON on bciloop.<rig>.cmd; spikes and bins use the versioned
// little-endian binary encoding of acquire.AppendWireHeader, documented in
// README.
package loop
