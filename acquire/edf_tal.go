package acquire

import (
	"fmt"
	"strconv"
)

// Time-stamped Annotation Lists (TALs) of EDF+ (Kemp & Olivan 2003, section
// 2.2.2): within an annotation signal's bytes of one record,
//
//	TAL   = Onset [0x15 Duration] 0x14 { Text 0x14 } 0x00
//	Onset = ("+" | "-") digits ["." digits]      (seconds from the start time)
//	Duration = digits ["." digits]                (seconds)
//
// repeated, the rest of the signal's bytes 0x00. In the first annotation
// signal of every record the first TAL starts with the time-keeping
// annotation, an empty text: "+567 0x14 0x14" gives the record's start.
const (
	talDuration = 0x15
	talText     = 0x14
	talEnd      = 0x00
)

// talError locates a problem inside one record's annotation bytes.
type talError struct {
	pos int
	msg string
}

func (e *talError) Error() string { return fmt.Sprintf("byte %d: %s", e.pos, e.msg) }

// parseTALs parses the annotation bytes b of one record and calls emit for
// every non-empty annotation text. With timekeeping, the first TAL must be
// the time-keeping TAL, whose onset is returned as the record start.
func parseTALs(b []byte, timekeeping bool, emit func(onset, duration float64, text string)) (float64, error) {
	start := 0.0
	first := true
	pos := 0
	for pos < len(b) && b[pos] != talEnd {
		tal := pos
		onset, n, err := talNumber(b[pos:], true)
		if err != nil {
			return 0, &talError{pos: pos, msg: "onset: " + err.Error()}
		}
		pos += n
		dur := -1.0
		if pos < len(b) && b[pos] == talDuration {
			pos++
			d, n, err := talNumber(b[pos:], false)
			if err != nil {
				return 0, &talError{pos: pos, msg: "duration: " + err.Error()}
			}
			dur = d
			pos += n
		}
		if pos >= len(b) || b[pos] != talText {
			return 0, &talError{pos: pos, msg: "onset or duration not followed by 0x14"}
		}
		pos++
		k := 0
		for {
			end := pos
			for end < len(b) && b[end] != talText && b[end] != talEnd {
				end++
			}
			if end >= len(b) || b[end] != talText {
				return 0, &talError{pos: tal, msg: "TAL not terminated by 0x14 0x00 within the record"}
			}
			text := string(b[pos:end])
			switch {
			case timekeeping && first && k == 0:
				if text != "" {
					return 0, &talError{pos: tal, msg: fmt.Sprintf("the record's first TAL must be the time-keeping TAL (empty first text), found %q", text)}
				}
				start = onset
			case text != "":
				emit(onset, dur, text)
			}
			k++
			pos = end + 1
			if pos < len(b) && b[pos] == talEnd {
				pos++
				break
			}
			if pos >= len(b) {
				return 0, &talError{pos: tal, msg: "TAL not terminated by 0x00 within the record"}
			}
		}
		first = false
	}
	if timekeeping && first {
		return 0, &talError{pos: 0, msg: "no time-keeping TAL"}
	}
	return start, nil
}

// talNumber parses a decimal number at the start of b, signed (onset: a
// leading '+' or '-' is required) or not (duration), and returns it with
// the bytes it used.
func talNumber(b []byte, signed bool) (float64, int, error) {
	i := 0
	if signed {
		if len(b) == 0 || (b[0] != '+' && b[0] != '-') {
			return 0, 0, fmt.Errorf("must start with '+' or '-'")
		}
		i++
	}
	digits, dot := 0, false
	for ; i < len(b); i++ {
		c := b[i]
		if c >= '0' && c <= '9' {
			digits++
			continue
		}
		if c == '.' && !dot {
			dot = true
			continue
		}
		break
	}
	if digits == 0 {
		return 0, 0, fmt.Errorf("%q has no digits", b[:i])
	}
	v, err := strconv.ParseFloat(string(b[:i]), 64)
	if err != nil {
		return 0, 0, err
	}
	return v, i, nil
}

// appendTAL appends one TAL with the given texts; dur < 0 omits the
// duration. Numbers use the shortest decimal that reads back exactly.
func appendTAL(dst []byte, onset, dur float64, texts ...string) []byte {
	if onset >= 0 {
		dst = append(dst, '+')
	}
	dst = strconv.AppendFloat(dst, onset, 'f', -1, 64)
	if dur >= 0 {
		dst = append(dst, talDuration)
		dst = strconv.AppendFloat(dst, dur, 'f', -1, 64)
	}
	dst = append(dst, talText)
	for _, t := range texts {
		dst = append(dst, t...)
		dst = append(dst, talText)
	}
	return append(dst, talEnd)
}
