// Package acquire holds the sample stream types of bciloop (Block, Spike),
// the Source interface every input implements, the process clock used for
// latency stamps, and the sources themselves: the synthetic brain adapter
// (real-time or lockstep), serial boards, files and NATS streams.
//
// SimSource reads a synthetic brain (sim.MotorCortex) in blocks: in lockstep,
// as fast as the reader reads and deterministically; in real time, paced to
// the monotonic clock from absolute deadlines, emitting every block that is
// due. Every Source runs the conformance kit in acquire/acquiretest.
//
// Time has two clocks. The sample clock (Block.Start, Spike.Sample: frame
// indices at the device rate since stream start) orders and bins data. The
// monotonic host clock (Now, Block.Arrived) measures latency; it is the
// system-wide CLOCK_MONOTONIC on Linux, so stamps compare across processes
// on one machine.
package acquire
