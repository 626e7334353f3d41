// Package acquire holds the sample stream types of bciloop (Block, Spike),
// the Source interface every input implements, the process clock used for
// latency stamps, and the sources themselves: the synthetic brain adapter
// (real-time or lockstep), serial boards, files and NATS streams.
//
// SimSource reads a synthetic brain (SimBrain) in blocks: in lockstep,
// as fast as the reader reads and deterministically; in real time, paced to
// the monotonic clock from absolute deadlines, emitting every block that is
// due. The brains the runtime can build by name form one table
// (SimPresets, SimOptions, BuildSimBrain): the motor cortex, the EEG, the
// beta and seizure circuits, the spiking networks and the spiking motor
// cortex, each a SimPreset entry with an adapter; stimulation reaches the
// brain through SimSource.Stimulable. Every Source runs the conformance kit
// in acquire/acquiretest.
//
// Serial boards (OpenBCI Cyton and Cyton + Daisy, OpenEEG ModularEEG P2,
// NeuroSky ThinkGear, Backyard Brains SpikerBox) are read by SerialSource
// through go.bug.st/serial, one file per protocol. Each protocol's parser
// (CytonParser, ModEEGParser, ThinkGearParser, SpikerBoxParser) is a pure
// state machine over bytes: Parse(dst, in) appends frames while dst has
// room, keeps partial packets across chunk boundaries, resynchronises after
// corrupt bytes and false headers, and reports counter gaps as dropped
// frames, never filling them in. The source identifies the device by
// handshake (not USB ID), stamps blocks with the sample clock and the
// arrival time, cuts blocks at gaps (Block.Dropped), and on a vanished port
// returns ErrDisconnected, then reconnects with backoff, resuming a board
// that kept streaming. ProbeSerial finds which protocol answers on a port
// without touching ports other programs hold. Raw sample blocks travel as
// wire messages of type 3 (AppendRawMessage, DecodeRawMessage). Fake
// devices on pseudo-terminals for tests are in acquire/serialtest.
//
// Files. ReadEDF and OpenEDF read EDF (Kemp et al. 1992), EDF+ (Kemp &
// Olivan 2003, with TAL annotations, +C and +D) and BioSemi BDF/BDF+
// (24-bit): header, per-signal labels and rates, physical samples per
// channel (ReadPhysical) or frame-major (ReadFrames), annotations; a file
// whose length disagrees with its header is refused. WriteEDF writes them
// (a round trip is exact to half a quantisation step). ReadOpenBCICSV reads
// OpenBCI GUI raw CSV files. CreateRecording writes the native recording
// format (record.go: append-only chunks with CRC-32C for blocks, commands,
// stimulation events and metadata; appends are allocation-free and never
// touch the disk, a goroutine writes and fsyncs every SyncInterval); its
// RecordingReader returns chunks in order and stops at a torn or damaged
// tail, reporting where (TornError). ExportRecordingCSV writes a recording
// as CSV files. OpenReplay makes any of these files a Source, paced in real
// time or as fast as possible, with the file's sample clock; a recording
// of a replay equals the original byte for byte (see Replay for what
// Arrived means on replay).
//
// Time has two clocks. The sample clock (Block.Start, Spike.Sample: frame
// indices at the device rate since stream start) orders and bins data. The
// monotonic host clock (Now, Block.Arrived) measures latency; it is the
// system-wide CLOCK_MONOTONIC on Linux, so stamps compare across processes
// on one machine.
package acquire
