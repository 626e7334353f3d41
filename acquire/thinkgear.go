package acquire

// NeuroSky ThinkGear serial stream (NeuroSky, "ThinkGear Communications
// Protocol", developer.neurosky.com/docs/doku.php?id=thinkgear_communications_protocol):
// 57600 baud 8N1 in the TGAM's raw-output mode, packets of
//
//	[0xAA] [0xAA] [PLENGTH 0–169] [PAYLOAD × PLENGTH] [CHKSUM]
//
// where CHKSUM is the inverted low byte of the sum of the payload bytes and a
// PLENGTH of 0xAA is one more sync byte. The payload is a run of data rows:
// any number of 0x55 EXCODE bytes, a CODE, for CODE ≥ 0x80 a length byte,
// then the value. Rows decoded here: 0x02 POOR_SIGNAL (0–200, 0 good),
// 0x04 ATTENTION and 0x05 MEDITATION eSense (0–100), 0x80 RAW_WAVE (2 bytes,
// signed 16-bit big-endian, 512 per second), 0x83 ASIC_EEG_POWER (8 × 3-byte
// big-endian unsigned band powers: delta, theta, low alpha, high alpha, low
// beta, high beta, low gamma, mid gamma). Other rows are skipped by their
// length. A raw value converts to µV as raw × (1.8 / 4096) / 2000 V
// (NeuroSky, "TGAM1 Spec Sheet", raw-value conversion), 0.2197 µV per count.
const (
	ThinkGearBaud = 57600
	ThinkGearRate = 512.0

	tgSync       = 0xAA
	tgExcode     = 0x55
	tgMaxPayload = 169
	tgPoorSignal = 0x02
	tgAttention  = 0x04
	tgMeditation = 0x05
	tgRaw        = 0x80
	tgPower      = 0x83
	tgUVPerCount = 1.8 / 4096 / 2000 * 1e6
)

// Which eSense values a ThinkGearPacket carries (ThinkGearPacket.Has).
const (
	ThinkGearPoorSignal = 1 << iota
	ThinkGearAttention
	ThinkGearMeditation
	ThinkGearPower
)

// ThinkGearPacket is one raw sample or eSense report. A payload with raw
// rows gives one packet per raw row, the payload's eSense values riding on
// the first; a payload without raw rows gives one packet with HasRaw false.
type ThinkGearPacket struct {
	HasRaw     bool
	Raw        int16
	Microvolts float32 // Raw × 0.2197 µV
	Has        uint8   // ThinkGearPoorSignal | ThinkGearAttention | …: which fields below are set
	PoorSignal uint8
	Attention  uint8
	Meditation uint8
	Power      [8]uint32 // delta, theta, low α, high α, low β, high β, low γ, mid γ
}

// ThinkGearParser decodes a ThinkGear byte stream. It is a pure state
// machine over bytes (any chunking gives the same packets). A packet is
// accepted when its checksum matches, its rows parse exactly to its length
// and the next packet's two sync bytes follow it. The confirmation is not
// optional: the inverted-sum checksum accepts a packet that lost its last
// payload byte whenever that byte equals the next one (the sum of a
// payload and its checksum is always 0xFF), which a raw value ending in
// 0xAA followed by the next sync always satisfies. It costs one packet
// period (1.95 ms at 512 Hz) of latency when the next packet is not in the
// same read. A rejected candidate's bytes after its first are parsed again, so
// a real packet hidden inside a false one is still found. The stream has no
// counter, so nothing is reported as dropped; rejected packets are counted
// in Stats().Bad.
type ThinkGearParser struct {
	stats  ParseStats
	buf    [tgBufSize]byte // sync, sync, length, payload, checksum, next sync ×2
	n      int
	locked bool
	// replay holds consumed bytes that must be parsed again after a
	// rejected candidate: replay[ri:rn]. Its length never exceeds the
	// candidate buffer's (see fail).
	replay [tgBufSize + 1]byte
	ri, rn int
}

const tgBufSize = 3 + tgMaxPayload + 1 + 2

// NewThinkGearParser returns a parser.
func NewThinkGearParser() *ThinkGearParser { return &ThinkGearParser{} }

// Channels returns 1.
func (p *ThinkGearParser) Channels() int { return 1 }

// Rate returns 512 Hz.
func (p *ThinkGearParser) Rate() float64 { return ThinkGearRate }

// CounterModulus returns 0: the stream has no counter.
func (p *ThinkGearParser) CounterModulus() uint32 { return 0 }

// Stats returns the counts since the parser was made or Reset.
func (p *ThinkGearParser) Stats() ParseStats { return p.stats }

// Reset forgets all state and statistics.
func (p *ThinkGearParser) Reset() { *p = ThinkGearParser{} }

// Resync drops a partial packet and the lock.
func (p *ThinkGearParser) Resync() { p.n, p.locked, p.ri, p.rn = 0, false, 0, 0 }

// Held reports whether the parser holds consumed bytes it has not parsed
// yet: bytes of a rejected candidate, parsed again, that dst had no room
// for. Parse with any input, even none, continues with them first.
func (p *ThinkGearParser) Held() bool { return p.ri < p.rn }

// Parse decodes in, appending packets to dst while it has room (a payload's
// packets are appended all at once, or not yet), and returns dst and the
// bytes consumed: all of them unless dst filled up (then, or if Held, call
// again with room). It does not allocate.
func (p *ThinkGearParser) Parse(dst []ThinkGearPacket, in []byte) ([]ThinkGearPacket, int) {
	i := 0
	for len(dst) < cap(dst) {
		var c byte
		replay := p.ri < p.rn
		switch {
		case replay:
			c = p.replay[p.ri]
			p.ri++
		case i < len(in):
			c = in[i]
			i++
		default:
			p.stats.Bytes += uint64(i)
			return dst, i
		}
		var ok bool
		if dst, ok = p.step(dst, c); !ok { // no room: give the byte back
			if replay {
				p.ri--
			} else {
				i--
			}
			break
		}
	}
	p.stats.Bytes += uint64(i)
	return dst, i
}

// step feeds one byte. It returns false, changing nothing, when the packets
// the byte completes do not fit in dst.
func (p *ThinkGearParser) step(dst []ThinkGearPacket, c byte) ([]ThinkGearPacket, bool) {
	switch {
	case p.n < 2: // sync bytes
		if c != tgSync {
			if p.locked {
				p.locked = false
				p.stats.Resyncs++
			}
			p.stats.Skipped += uint64(p.n) + 1
			p.n = 0
			return dst, true
		}
		p.buf[p.n] = c
		p.n++
		return dst, true
	case p.n == 2: // length
		if c == tgSync { // a third sync byte: the last two are the sync
			p.stats.Skipped++
			return dst, true
		}
		if c > tgMaxPayload {
			p.fail(c)
			return dst, true
		}
		p.buf[2] = c
		p.n = 3
		return dst, true
	}
	plen := int(p.buf[2])
	end := 3 + plen + 1 // one past the checksum
	if p.n < end-1 {    // payload
		p.buf[p.n] = c
		p.n++
		return dst, true
	}
	payload := p.buf[3 : 3+plen]
	if p.n == end-1 { // checksum
		var sum byte
		for _, b := range payload {
			sum += b
		}
		if _, valid := tgRows(payload); ^sum != c || !valid {
			p.fail(c)
			return dst, true
		}
		p.buf[p.n] = c
		p.n++
		return dst, true // wait for the next packet's sync bytes
	}
	// Confirming with the next packet's sync bytes.
	if c != tgSync {
		p.fail(c)
		return dst, true
	}
	if p.n+1 < end+2 {
		p.buf[p.n] = c
		p.n++
		return dst, true
	}
	need, _ := tgRows(payload)
	if cap(dst)-len(dst) < need {
		return dst, false
	}
	dst = p.emit(dst, payload)
	p.locked = true
	p.buf[0], p.buf[1], p.n = tgSync, tgSync, 2
	return dst, true
}

// fail rejects the candidate held in buf[:n] followed by byte c: everything
// after its first byte goes back in front of the bytes still to replay.
// Replayed bytes come out of replay before any new input joins a candidate,
// so candidate and replay together never hold more than one candidate's
// worth of bytes, and the replay fits.
func (p *ThinkGearParser) fail(c byte) {
	p.stats.Bad++
	if p.locked {
		p.locked = false
		p.stats.Resyncs++
	}
	p.stats.Skipped++ // the candidate's first sync byte
	rest := p.rn - p.ri
	m := p.n // bytes buf[1:n] plus c
	copy(p.replay[m:], p.replay[p.ri:p.rn])
	copy(p.replay[:], p.buf[1:p.n])
	p.replay[m-1] = c
	p.ri, p.rn = 0, m+rest
	p.n = 0
}

// tgRows checks that payload parses exactly into rows and returns the
// number of packets it yields: one per raw row, or one for eSense rows
// without raw, or none.
func tgRows(payload []byte) (int, bool) {
	raws, esense := 0, false
	for i := 0; i < len(payload); {
		for i < len(payload) && payload[i] == tgExcode {
			i++
		}
		if i == len(payload) {
			return 0, false
		}
		code := payload[i]
		i++
		if code < 0x80 {
			if i == len(payload) {
				return 0, false
			}
			i++
			esense = esense || code == tgPoorSignal || code == tgAttention || code == tgMeditation
			continue
		}
		if i == len(payload) {
			return 0, false
		}
		l := int(payload[i])
		i++
		if i+l > len(payload) || (code == tgRaw && l != 2) || (code == tgPower && l != 24) {
			return 0, false
		}
		switch code {
		case tgRaw:
			raws++
		case tgPower:
			esense = true
		}
		i += l
	}
	if raws == 0 && esense {
		return 1, true
	}
	return raws, true
}

// emit appends the packets of a valid payload.
func (p *ThinkGearParser) emit(dst []ThinkGearPacket, payload []byte) []ThinkGearPacket {
	p.stats.Packets++
	var es ThinkGearPacket
	first := len(dst)
	raws := 0
	for i := 0; i < len(payload); {
		for payload[i] == tgExcode {
			i++
		}
		code := payload[i]
		i++
		if code < 0x80 {
			v := payload[i]
			i++
			switch code {
			case tgPoorSignal:
				es.Has |= ThinkGearPoorSignal
				es.PoorSignal = v
			case tgAttention:
				es.Has |= ThinkGearAttention
				es.Attention = v
			case tgMeditation:
				es.Has |= ThinkGearMeditation
				es.Meditation = v
			}
			continue
		}
		l := int(payload[i])
		i++
		v := payload[i : i+l]
		i += l
		switch code {
		case tgRaw:
			raw := int16(uint16(v[0])<<8 | uint16(v[1]))
			dst = append(dst, ThinkGearPacket{HasRaw: true, Raw: raw, Microvolts: float32(raw) * tgUVPerCount})
			raws++
		case tgPower:
			es.Has |= ThinkGearPower
			for k := range 8 {
				es.Power[k] = uint32(v[3*k])<<16 | uint32(v[3*k+1])<<8 | uint32(v[3*k+2])
			}
		}
	}
	switch {
	case raws > 0:
		f := &dst[first]
		f.Has, f.PoorSignal, f.Attention, f.Meditation, f.Power = es.Has, es.PoorSignal, es.Attention, es.Meditation, es.Power
	case es.Has != 0:
		dst = append(dst, es)
	}
	p.stats.Frames += uint64(raws)
	return dst
}
