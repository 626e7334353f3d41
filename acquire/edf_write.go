package acquire

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
)

// WriteEDF writes an EDF-family file to w: the header described by e and
// the physical samples data, data[i] for e.Signals[i], each holding
// records × Signals[i].SamplesPerRecord values (the number of records
// follows from the data). Reading the file back gives every sample within
// half a quantisation step, Gain/2, of its value.
//
// Used fields of e: Format (FormatEDF when 0), Discontinuous (EDF+/BDF+
// only), Patient and Recording (for EDF+/BDF+ "X X X X" and
// "Startdate dd-MMM-yyyy X X X" when empty), Start (1 January 1985 when
// zero; years 1985–2084), RecordDuration, RecordStarts (EDF+D/BDF+D; nil
// means r·RecordDuration), Annotations (EDF+/BDF+; each goes to the record
// whose span holds its onset) and of each signal Label, Transducer,
// PhysicalDimension, PhysicalMin/Max (both 0: the data's own range),
// DigitalMin/Max (both 0: the format's full range), Prefilter and
// SamplesPerRecord. Header numbers must fit in their 8-character fields:
// physical limits are rounded outwards to fit, and the digital values are
// computed from the limits as written, so that reader and writer agree.
// Every problem is reported at once, each as "key: message".
func WriteEDF(w io.Writer, e *EDF, data [][]float64) error {
	p, err := planEDF(e, data)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(w, 1<<16)
	if _, err := bw.Write(p.header); err != nil {
		return err
	}
	rec := make([]byte, p.recordBytes)
	for r := 0; r < p.records; r++ {
		off := 0
		for i := range p.sigs {
			s := &p.sigs[i]
			for k := range s.spr {
				x := data[i][r*s.spr+k]
				d := math.Round((x - s.offset) / s.gain)
				d = max(float64(s.dmin), min(float64(s.dmax), d))
				v := int32(d)
				rec[off] = byte(v)
				rec[off+1] = byte(v >> 8)
				if p.bps == 3 {
					rec[off+2] = byte(v >> 16)
				}
				off += p.bps
			}
		}
		if p.annotSamples > 0 {
			n := p.annotSamples * p.bps
			clear(rec[off : off+n])
			copy(rec[off:off+n], p.tals[r])
			off += n
		}
		if _, err := bw.Write(rec[:off]); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// WriteEDFFile writes the file with WriteEDF to path, which must not exist
// (an existing recording is never overwritten).
func WriteEDFFile(path string, e *EDF, data [][]float64) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if err := WriteEDF(f, e, data); err != nil {
		f.Close()
		os.Remove(path)
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// edfPlan is a checked, fully resolved EDF file to write.
type edfPlan struct {
	header       []byte
	sigs         []edfPlanSignal
	records      int
	bps          int
	recordBytes  int
	annotSamples int
	tals         [][]byte
}

type edfPlanSignal struct {
	spr          int
	dmin, dmax   int
	gain, offset float64
}

func planEDF(e *EDF, data [][]float64) (*edfPlan, error) {
	var errs []error
	add := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
	}
	format := e.Format
	if format == 0 {
		format = FormatEDF
	}
	if format < FormatEDF || format > FormatBDFPlus {
		add("format", "%v is not an EDF-family format", format)
		return nil, errors.Join(errs...)
	}
	plus := format.plus()
	p := &edfPlan{bps: format.bytesPerSample()}
	if e.Discontinuous && !plus {
		add("discontinuous", "only EDF+ and BDF+ files can be discontinuous, not %v", format)
	}
	if !plus && len(e.Annotations) > 0 {
		add("annotations", "%v cannot hold annotations (use EDF+ or BDF+)", format)
	}
	if len(data) != len(e.Signals) {
		add("data", "%d signals of data for %d signals", len(data), len(e.Signals))
		return nil, errors.Join(errs...)
	}
	if len(e.Signals) == 0 && !plus {
		add("signals", "an %v file needs at least one signal", format)
	}

	// Records follow from the data.
	p.records = -1
	for i := range e.Signals {
		spr := e.Signals[i].SamplesPerRecord
		if spr < 1 {
			add(fmt.Sprintf("signals[%d].samples_per_record", i), "must be ≥ 1, got %d", spr)
			continue
		}
		if len(data[i])%spr != 0 {
			add(fmt.Sprintf("data[%d]", i), "%d samples are not a whole number of %d-sample records", len(data[i]), spr)
			continue
		}
		n := len(data[i]) / spr
		if p.records >= 0 && n != p.records {
			add(fmt.Sprintf("data[%d]", i), "%d records, other signals have %d", n, p.records)
			continue
		}
		p.records = n
	}
	if len(e.Signals) == 0 {
		p.records = len(e.RecordStarts)
	}
	p.records = max(p.records, 0)
	if p.records > 99999999 {
		add("data", "%d records do not fit the 8-character header field", p.records)
	}

	dur := e.RecordDuration
	durText, ok := edfNumber(dur, 0)
	if !ok || dur < 0 || math.IsNaN(dur) || (len(e.Signals) > 0 && dur <= 0) {
		add("record_duration", "%v must be > 0 and fit in 8 characters", dur)
	} else if back, _ := strconv.ParseFloat(durText, 64); back != dur {
		add("record_duration", "%v cannot be written exactly in 8 characters (closest %s)", dur, durText)
	}

	starts := e.RecordStarts
	if starts != nil && len(starts) != p.records {
		add("record_starts", "%d starts for %d records", len(starts), p.records)
		starts = nil
	}
	if starts == nil {
		starts = make([]float64, p.records)
		for r := range starts {
			starts[r] = float64(r) * dur
		}
	}
	for r, s := range starts {
		if math.IsNaN(s) || math.IsInf(s, 0) {
			add(fmt.Sprintf("record_starts[%d]", r), "%v is not finite", s)
		} else if r > 0 && s < starts[r-1]+dur-1e-9 {
			add(fmt.Sprintf("record_starts[%d]", r), "%v s overlaps record %d (%v s + %v s)", s, r-1, starts[r-1], dur)
		} else if !e.Discontinuous && math.Abs(s-(starts[0]+float64(r)*dur)) > 1e-6 {
			add(fmt.Sprintf("record_starts[%d]", r), "%v s, but a continuous file's record %d starts at %v s (set discontinuous)", s, r, starts[0]+float64(r)*dur)
		}
	}

	// Signals.
	dlo, dhi := format.digitalRange()
	p.sigs = make([]edfPlanSignal, len(e.Signals))
	type texts struct{ label, trans, dim, pmin, pmax, dmin, dmax, pre, spr string }
	st := make([]texts, len(e.Signals))
	for i := range e.Signals {
		s := &e.Signals[i]
		key := func(k string) string { return fmt.Sprintf("signals[%d].%s", i, k) }
		checkText(key("label"), s.Label, 16, &errs)
		checkText(key("transducer"), s.Transducer, 80, &errs)
		checkText(key("physical_dimension"), s.PhysicalDimension, 8, &errs)
		checkText(key("prefilter"), s.Prefilter, 80, &errs)
		if plus && (strings.TrimSpace(s.Label) == "EDF Annotations" || strings.TrimSpace(s.Label) == "BDF Annotations") {
			add(key("label"), "%q is reserved for the annotation signal, which WriteEDF adds itself", s.Label)
		}
		dmin, dmax := s.DigitalMin, s.DigitalMax
		if dmin == 0 && dmax == 0 {
			dmin, dmax = dlo, dhi
		}
		if dmin >= dmax || dmin < dlo || dmax > dhi {
			add(key("digital_min"), "[%d, %d] must be an increasing range inside [%d, %d] for %v", dmin, dmax, dlo, dhi, format)
		}
		pmin, pmax := s.PhysicalMin, s.PhysicalMax
		bad := false
		for k, x := range data[i] {
			if math.IsNaN(x) || math.IsInf(x, 0) {
				add(fmt.Sprintf("data[%d][%d]", i, k), "%v cannot be written", x)
				bad = true
				break
			}
		}
		if pmin == 0 && pmax == 0 && !bad {
			pmin, pmax = math.Inf(1), math.Inf(-1)
			for _, x := range data[i] {
				pmin, pmax = min(pmin, x), max(pmax, x)
			}
			if len(data[i]) == 0 {
				pmin, pmax = -1, 1
			}
			if pmin == pmax {
				pmin, pmax = pmin-1, pmax+1
			}
		}
		lo, hi := -1, 1 // round the lower limit down, the upper up (inverted ranges the other way)
		if pmin > pmax {
			lo, hi = 1, -1
		}
		pminText, ok1 := edfNumber(pmin, lo)
		pmaxText, ok2 := edfNumber(pmax, hi)
		if !ok1 || !ok2 || math.IsNaN(pmin) || math.IsNaN(pmax) {
			add(key("physical_min"), "[%v, %v] does not fit in 8-character fields", pmin, pmax)
			continue
		}
		pmin, _ = strconv.ParseFloat(pminText, 64)
		pmax, _ = strconv.ParseFloat(pmaxText, 64)
		if pmin == pmax {
			add(key("physical_min"), "physical minimum and maximum are both %v", pmin)
			continue
		}
		gain := (pmax - pmin) / float64(dmax-dmin)
		p.sigs[i] = edfPlanSignal{spr: s.SamplesPerRecord, dmin: dmin, dmax: dmax, gain: gain, offset: pmin - gain*float64(dmin)}
		st[i] = texts{s.Label, s.Transducer, s.PhysicalDimension, pminText, pmaxText,
			strconv.Itoa(dmin), strconv.Itoa(dmax), s.Prefilter, strconv.Itoa(s.SamplesPerRecord)}
		if len(st[i].spr) > 8 {
			add(key("samples_per_record"), "%d does not fit in 8 characters", s.SamplesPerRecord)
		}
	}

	// Annotations, one TAL list per record.
	if plus {
		p.tals = make([][]byte, p.records)
		for r := range p.tals {
			p.tals[r] = appendTAL(nil, starts[r], -1, "")
		}
		for k, a := range e.Annotations {
			key := fmt.Sprintf("annotations[%d]", k)
			if math.IsNaN(a.Onset) || math.IsInf(a.Onset, 0) {
				add(key+".onset", "%v is not finite", a.Onset)
				continue
			}
			if a.Duration != -1 && (a.Duration < 0 || math.IsNaN(a.Duration) || math.IsInf(a.Duration, 0)) {
				add(key+".duration", "%v must be ≥ 0 (or -1 for none)", a.Duration)
				continue
			}
			if a.Text == "" || strings.ContainsAny(a.Text, "\x00\x14\x15") {
				add(key+".text", "%q must be non-empty without bytes 0x00, 0x14, 0x15", a.Text)
				continue
			}
			if p.records == 0 {
				add(key, "a file without records cannot hold annotations")
				continue
			}
			r := 0
			for r+1 < p.records && starts[r+1] <= a.Onset {
				r++
			}
			p.tals[r] = appendTAL(p.tals[r][:len(p.tals[r])], a.Onset, a.Duration, a.Text)
		}
		longest := 0
		for _, t := range p.tals {
			longest = max(longest, len(t))
		}
		p.annotSamples = max(1, (longest+p.bps-1)/p.bps)
	}

	// Header.
	start := e.Start
	if start.IsZero() {
		start = start.AddDate(1984, 0, 0) // 1 January 1985
	}
	if y := start.Year(); y < 1985 || y > 2084 {
		add("start", "year %d outside 1985–2084, which the two-digit date field can hold", y)
	}
	patient, recording := e.Patient, e.Recording
	if plus && patient == "" {
		patient = "X X X X"
	}
	if plus && recording == "" {
		recording = fmt.Sprintf("Startdate %02d-%s-%04d X X X", start.Day(), edfMonths[start.Month()-1], start.Year())
	}
	checkText("patient", patient, 80, &errs)
	checkText("recording", recording, 80, &errs)
	ns := len(e.Signals)
	if plus {
		ns++
	}
	if ns > 9999 {
		add("signals", "%d signals do not fit the 4-character field", ns)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}

	var h strings.Builder
	pad := func(s string, n int) { h.WriteString(s); h.WriteString(strings.Repeat(" ", n-len(s))) }
	if format.bytesPerSample() == 3 {
		h.WriteString("\xffBIOSEMI")
	} else {
		pad("0", 8)
	}
	pad(patient, 80)
	pad(recording, 80)
	pad(fmt.Sprintf("%02d.%02d.%02d", start.Day(), int(start.Month()), start.Year()%100), 8)
	pad(fmt.Sprintf("%02d.%02d.%02d", start.Hour(), start.Minute(), start.Second()), 8)
	pad(strconv.Itoa(edfFixedHeader*(ns+1)), 8)
	reserved := ""
	switch format {
	case FormatEDFPlus, FormatBDFPlus:
		reserved = format.String()[:3] + "+C"
		if e.Discontinuous {
			reserved = format.String()[:3] + "+D"
		}
	case FormatBDF:
		reserved = "24BIT"
	}
	pad(reserved, 44)
	pad(strconv.Itoa(p.records), 8)
	pad(durText, 8)
	pad(strconv.Itoa(ns), 4)
	annotLabel := format.String()[:3] + " Annotations"
	annotMin, annotMax := strconv.Itoa(dlo), strconv.Itoa(dhi)
	column := func(width int, get func(t texts) string, annot string) {
		for i := range st {
			pad(get(st[i]), width)
		}
		if plus {
			pad(annot, width)
		}
	}
	column(16, func(t texts) string { return t.label }, annotLabel)
	column(80, func(t texts) string { return t.trans }, "")
	column(8, func(t texts) string { return t.dim }, "")
	column(8, func(t texts) string { return t.pmin }, "-1")
	column(8, func(t texts) string { return t.pmax }, "1")
	column(8, func(t texts) string { return t.dmin }, annotMin)
	column(8, func(t texts) string { return t.dmax }, annotMax)
	column(80, func(t texts) string { return t.pre }, "")
	column(8, func(t texts) string { return t.spr }, strconv.Itoa(p.annotSamples))
	column(32, func(texts) string { return "" }, "")
	p.header = []byte(h.String())
	for i := range p.sigs {
		p.recordBytes += p.sigs[i].spr * p.bps
	}
	p.recordBytes += p.annotSamples * p.bps
	return p, nil
}

// checkText reports a header text that is longer than n bytes or not
// printable ASCII (EDF header fields are ASCII 32–126).
func checkText(key, s string, n int, errs *[]error) {
	if len(s) > n {
		*errs = append(*errs, fmt.Errorf("%s: %q is longer than %d characters", key, s, n))
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 32 || s[i] > 126 {
			*errs = append(*errs, fmt.Errorf("%s: %q has a byte %#02x at %d; header fields are printable ASCII", key, s, s[i], i))
			return
		}
	}
}

// edfNumber formats v in at most 8 characters with as many decimals as fit,
// rounding down (dir < 0), up (dir > 0) or to nearest (dir 0). It reports
// false when even the integer part does not fit.
func edfNumber(v float64, dir int) (string, bool) {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "", false
	}
	for d := 7; d >= 0; d-- {
		scale := math.Pow10(d)
		x := v * scale
		switch {
		case dir < 0:
			x = math.Floor(x)
		case dir > 0:
			x = math.Ceil(x)
		default:
			x = math.Round(x)
		}
		s := strconv.FormatFloat(x/scale, 'f', d, 64)
		if strings.Contains(s, ".") {
			s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
		}
		if s == "-0" {
			s = "0"
		}
		if len(s) <= 8 {
			return s, true
		}
	}
	return "", false
}
