package acquire

// ParseStats counts what a serial protocol parser has seen since it was made
// or Reset. Every parser keeps one; the serial Source reports the sum.
type ParseStats struct {
	Bytes   uint64 // bytes consumed
	Packets uint64 // packets accepted (a Daisy frame is two packets)
	Frames  uint64 // frames emitted
	Dropped uint64 // frames known lost from the device's sample counter (gaps, with wrap)
	Skipped uint64 // bytes discarded while looking for the next packet start
	Bad     uint64 // candidate packets rejected: bad footer, checksum or structure, unpaired Daisy halves, broken frames
	Resyncs uint64 // times the parser lost packet lock and had to hunt for a header
}

// Add adds o to s.
func (s *ParseStats) Add(o ParseStats) {
	s.Bytes += o.Bytes
	s.Packets += o.Packets
	s.Frames += o.Frames
	s.Dropped += o.Dropped
	s.Skipped += o.Skipped
	s.Bad += o.Bad
	s.Resyncs += o.Resyncs
}

// counterGap returns the number of counter values skipped between the last
// counter seen and next, for a counter that wraps modulo mod (a power of
// two): 0 when next follows last. A repeated counter is a gap of mod−1: the
// device's counter went round once.
func counterGap(last, next, mod uint32) uint32 {
	return (next - last - 1) & (mod - 1)
}
