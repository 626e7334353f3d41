package acquire

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"time"
)

// EDF, EDF+ and BDF files.
//
// EDF, the European Data Format, is specified by Kemp B, Värri A, Rosa AC,
// Nielsen KD, Gade J (1992), "A simple format for exchange of digitized
// polygraphic recordings", Electroencephalogr Clin Neurophysiol 82:391–393.
// A file is an ASCII header of 256 bytes, then 256 bytes per signal, then
// data records; each record holds, signal after signal, that signal's
// samples for the record duration as 16-bit little-endian two's complement
// integers. Header layout (bytes):
//
//	8 version "0"   80 patient   80 recording   8 start date dd.mm.yy
//	8 start time hh.mm.ss   8 header bytes   44 reserved
//	8 number of data records (-1 while recording)   8 record duration (s)
//	4 number of signals ns
//	then ns × 16 label, ns × 80 transducer, ns × 8 physical dimension,
//	ns × 8 physical minimum, ns × 8 physical maximum, ns × 8 digital minimum,
//	ns × 8 digital maximum, ns × 80 prefiltering, ns × 8 samples per record,
//	ns × 32 reserved
//
// Physical values follow from digital ones by the linear map that takes
// [digital min, digital max] onto [physical min, physical max].
//
// EDF+ (Kemp B, Olivan J (2003), "European data format 'plus' (EDF+), an
// EDF alike standard format for the exchange of physiological data", Clin
// Neurophysiol 114:1755–1761) marks itself with "EDF+C" (continuous) or
// "EDF+D" (discontinuous) at the start of the reserved field and adds
// "EDF Annotations" signals holding Time-stamped Annotation Lists (TALs):
//
//	+Onset[0x15 Duration]0x14 text 0x14 [text 0x14 ...] 0x00
//
// with onset and duration in seconds (onset signed, relative to the start
// time), unused bytes 0x00. The first TAL of each record is the
// time-keeping TAL, "+onset 0x14 0x14", giving the record's start time.
//
// BDF (BioSemi, "BDF format", https://www.biosemi.com/faq/file_format.htm)
// is EDF with 24-bit little-endian two's complement samples, the version
// field 0xFF "BIOSEMI" and "24BIT" in the reserved field. BDF+ (the EDF+
// rules on BDF, as written by BioSemi's tools and EDFbrowser) carries
// "BDF+C"/"BDF+D" and a "BDF Annotations" signal of 24-bit samples.

// EDFFormat is the flavour of an EDF-family file.
type EDFFormat uint8

// The EDF-family formats.
const (
	FormatEDF     EDFFormat = iota + 1 // EDF, Kemp et al. 1992: 16-bit samples
	FormatEDFPlus                      // EDF+, Kemp & Olivan 2003: 16-bit samples, annotations
	FormatBDF                          // BioSemi BDF: 24-bit samples
	FormatBDFPlus                      // BDF+: 24-bit samples, EDF+ annotations
)

func (f EDFFormat) String() string {
	switch f {
	case FormatEDF:
		return "EDF"
	case FormatEDFPlus:
		return "EDF+"
	case FormatBDF:
		return "BDF"
	case FormatBDFPlus:
		return "BDF+"
	}
	return fmt.Sprintf("EDFFormat(%d)", uint8(f))
}

// plus reports whether f carries EDF+ annotations and time keeping.
func (f EDFFormat) plus() bool { return f == FormatEDFPlus || f == FormatBDFPlus }

// bytesPerSample returns 2 for EDF and EDF+, 3 for BDF and BDF+.
func (f EDFFormat) bytesPerSample() int {
	if f == FormatBDF || f == FormatBDFPlus {
		return 3
	}
	return 2
}

// digitalRange returns the representable digital range of f's samples.
func (f EDFFormat) digitalRange() (lo, hi int) {
	if f.bytesPerSample() == 3 {
		return -1 << 23, 1<<23 - 1
	}
	return math.MinInt16, math.MaxInt16
}

// EDFSignal describes one ordinary signal of an EDF-family file.
type EDFSignal struct {
	Label             string  // e.g. "EEG Fpz-Cz" (EDF+ standard texts), at most 16 characters
	Transducer        string  // e.g. "AgAgCl electrode"
	PhysicalDimension string  // e.g. "uV"
	PhysicalMin       float64 // physical value of DigitalMin
	PhysicalMax       float64 // physical value of DigitalMax
	DigitalMin        int     // smallest digital value
	DigitalMax        int     // largest digital value
	Prefilter         string  // e.g. "HP:0.1Hz LP:75Hz"
	SamplesPerRecord  int     // samples in each data record

	// Derived on reading (ignored by WriteEDF).
	Rate   float64 // samples per second: SamplesPerRecord / record duration
	Gain   float64 // physical = Gain·digital + Offset
	Offset float64

	index   int // position among all signals of the file
	byteOff int // offset of the signal's samples within a record
}

// Annotation is one EDF+ annotation (a text of a TAL).
type Annotation struct {
	Onset    float64 // seconds from the file's start time
	Duration float64 // seconds; -1 when the TAL gives none
	Text     string  // UTF-8
}

// EDF is an EDF, EDF+, BDF or BDF+ file: its header, its ordinary signals,
// its annotations and access to its samples. Samples are read on demand
// (ReadPhysical, ReadFrames, Physical); the header and annotations are read
// when the file is opened.
//
// Methods of one EDF must not be called concurrently (they share a read
// buffer).
type EDF struct {
	Format        EDFFormat
	Discontinuous bool      // EDF+D or BDF+D: records need not be contiguous in time
	Patient       string    // patient field, trailing spaces removed
	Recording     string    // recording field, trailing spaces removed
	Start         time.Time // start date and time as written (no time zone; UTC location)

	Records        int         // data records
	RecordDuration float64     // seconds per data record
	Signals        []EDFSignal // ordinary signals in file order (annotation signals excluded)
	Annotations    []Annotation
	// RecordStarts holds the start of each record in seconds from Start:
	// the time-keeping TAL of EDF+ and BDF+, else r·RecordDuration.
	RecordStarts []float64

	HeaderBytes int // header size: 256·(signals + 1), annotation signals included
	RecordBytes int // bytes per data record

	name   string
	r      io.ReaderAt
	closer io.Closer
	bps    int   // bytes per sample
	annots []int // indices (into all) of annotation signals
	all    []EDFSignal
	buf    []byte // scratch for ReadPhysical
	rec    []byte // cached record for ReadFrames
	recIdx int    // index of the record in rec, -1 for none
}

// ErrEDF is wrapped by every error about a malformed EDF-family file.
var ErrEDF = errors.New("malformed EDF/BDF file")

// EDFError locates a problem in an EDF-family file.
type EDFError struct {
	File   string // file name, as given
	Offset int64  // byte offset of the field or sample
	Field  string // header field (e.g. "signal 3 digital minimum") or "record 7 annotations"
	Msg    string
}

func (e *EDFError) Error() string {
	return fmt.Sprintf("%s: offset %d: %s: %s", e.File, e.Offset, e.Field, e.Msg)
}

// Unwrap returns ErrEDF.
func (e *EDFError) Unwrap() error { return ErrEDF }

// edfSignalFields are the per-signal header fields, in header order, with
// their widths in bytes (Kemp et al. 1992).
var edfSignalFields = [...]struct {
	name  string
	width int
}{
	{"label", 16}, {"transducer type", 80}, {"physical dimension", 8}, {"physical minimum", 8},
	{"physical maximum", 8}, {"digital minimum", 8}, {"digital maximum", 8}, {"prefiltering", 80},
	{"samples per record", 8}, {"reserved", 32},
}

const (
	edfFixedHeader = 256
	edfMaxSignals  = 1 << 16
)

// ReadEDF reads the EDF, EDF+, BDF or BDF+ file at path into memory and
// decodes its header and annotations. Use OpenEDF for files too large to
// hold in memory.
func ReadEDF(path string) (*EDF, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return DecodeEDF(bytes.NewReader(data), int64(len(data)), path)
}

// OpenEDF opens the EDF-family file at path and decodes its header and
// annotations; samples are read from the file on demand. Close the EDF when
// done.
func OpenEDF(path string) (*EDF, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	e, err := DecodeEDF(f, st.Size(), path)
	if err != nil {
		f.Close()
		return nil, err
	}
	e.closer = f
	return e, nil
}

// Close releases the file opened by OpenEDF; for other EDFs it does
// nothing. It is idempotent.
func (e *EDF) Close() error {
	if e.closer == nil {
		return nil
	}
	c := e.closer
	e.closer = nil
	return c.Close()
}

// Name returns the file name the EDF was read from.
func (e *EDF) Name() string { return e.name }

// DecodeEDF decodes the EDF-family file of size bytes read through r; name
// labels errors. It checks every header field, that the file's length is
// exactly header + records × record size, and every annotation, and reports
// each problem with the file name, byte offset and field.
func DecodeEDF(r io.ReaderAt, size int64, name string) (*EDF, error) {
	e := &EDF{name: name, r: r, recIdx: -1}
	bad := func(off int64, field, format string, args ...any) error {
		return &EDFError{File: name, Offset: off, Field: field, Msg: fmt.Sprintf(format, args...)}
	}
	if size < edfFixedHeader {
		return nil, bad(0, "header", "file has %d bytes, fewer than the %d-byte fixed header", size, edfFixedHeader)
	}
	h := make([]byte, edfFixedHeader)
	if _, err := r.ReadAt(h, 0); err != nil {
		return nil, fmt.Errorf("%s: reading the header: %w", name, err)
	}
	switch {
	case h[0] == 0xFF && string(h[1:8]) == "BIOSEMI":
		e.Format = FormatBDF
	case string(h[0:8]) == "0       ":
		e.Format = FormatEDF
	default:
		return nil, bad(0, "version", "%q is neither EDF's \"0       \" nor BDF's 0xFF \"BIOSEMI\"", h[0:8])
	}
	reserved := strings.TrimRight(string(h[192:236]), " ")
	switch {
	case e.Format == FormatEDF && (strings.HasPrefix(reserved, "EDF+C") || strings.HasPrefix(reserved, "EDF+D")):
		e.Format = FormatEDFPlus
		e.Discontinuous = reserved[4] == 'D'
	case e.Format == FormatBDF && (strings.HasPrefix(reserved, "BDF+C") || strings.HasPrefix(reserved, "BDF+D")):
		e.Format = FormatBDFPlus
		e.Discontinuous = reserved[4] == 'D'
	}
	e.bps = e.Format.bytesPerSample()
	e.Patient = strings.TrimRight(string(h[8:88]), " ")
	e.Recording = strings.TrimRight(string(h[88:168]), " ")

	var errs []error
	start, err := edfStart(string(h[168:176]), string(h[176:184]), e.Recording, e.Format.plus())
	if err != nil {
		errs = append(errs, bad(168, "start date and time", "%v", err))
	}
	e.Start = start
	ns, err := edfInt(h[252:256])
	if err != nil || ns < 1 || ns > edfMaxSignals {
		return nil, bad(252, "number of signals", "%q must be an integer in [1, %d]", h[252:256], edfMaxSignals)
	}
	hb, err := edfInt(h[184:192])
	if err != nil {
		errs = append(errs, bad(184, "header bytes", "%q is not an integer", h[184:192]))
	} else if want := edfFixedHeader * (ns + 1); hb != want {
		errs = append(errs, bad(184, "header bytes", "%d, but %d signals need 256·(%d+1) = %d", hb, ns, ns, want))
	}
	e.HeaderBytes = edfFixedHeader * (ns + 1)
	if int64(e.HeaderBytes) > size {
		return nil, errors.Join(append(errs, bad(252, "number of signals", "%d signals need a %d-byte header, but the file has %d bytes", ns, e.HeaderBytes, size))...)
	}
	records, err := edfInt(h[236:244])
	if err != nil || records < -1 {
		errs = append(errs, bad(236, "number of data records", "%q must be an integer ≥ -1", h[236:244]))
	}
	dur, err := edfFloat(h[244:252])
	if err != nil || dur < 0 {
		errs = append(errs, bad(244, "duration of a data record", "%q must be a number ≥ 0", h[244:252]))
	}
	e.RecordDuration = dur

	sh := make([]byte, e.HeaderBytes-edfFixedHeader)
	if _, err := r.ReadAt(sh, edfFixedHeader); err != nil {
		return nil, fmt.Errorf("%s: reading the signal header: %w", name, err)
	}
	field := func(k, i int) (string, int64) {
		off := 0
		for j := range k {
			off += ns * edfSignalFields[j].width
		}
		w := edfSignalFields[k].width
		off += i * w
		return string(sh[off : off+w]), int64(edfFixedHeader + off)
	}
	dlo, dhi := e.Format.digitalRange()
	e.all = make([]EDFSignal, ns)
	recSamples := 0
	for i := range e.all {
		s := &e.all[i]
		s.index = i
		text := func(k int) string { v, _ := field(k, i); return strings.TrimRight(v, " ") }
		num := func(k int) (float64, bool) {
			v, off := field(k, i)
			x, err := edfFloat([]byte(v))
			if err != nil {
				errs = append(errs, bad(off, fmt.Sprintf("signal %d %s", i, edfSignalFields[k].name), "%q is not a number", strings.TrimSpace(v)))
				return 0, false
			}
			return x, true
		}
		integer := func(k int) (int, bool) {
			v, off := field(k, i)
			x, err := edfInt([]byte(v))
			if err != nil {
				errs = append(errs, bad(off, fmt.Sprintf("signal %d %s", i, edfSignalFields[k].name), "%q is not an integer", strings.TrimSpace(v)))
				return 0, false
			}
			return x, true
		}
		s.Label, s.Transducer, s.PhysicalDimension, s.Prefilter = text(0), text(1), text(2), text(7)
		pmin, ok1 := num(3)
		pmax, ok2 := num(4)
		dmin, ok3 := integer(5)
		dmax, ok4 := integer(6)
		spr, ok5 := integer(8)
		s.PhysicalMin, s.PhysicalMax, s.DigitalMin, s.DigitalMax, s.SamplesPerRecord = pmin, pmax, dmin, dmax, spr
		if ok3 && ok4 {
			_, off := field(5, i)
			if dmin >= dmax {
				errs = append(errs, bad(off, fmt.Sprintf("signal %d digital minimum", i), "%d must be below the digital maximum %d", dmin, dmax))
			} else if dmin < dlo || dmax > dhi {
				errs = append(errs, bad(off, fmt.Sprintf("signal %d digital range", i), "[%d, %d] exceeds the %d-bit range [%d, %d] of %v", dmin, dmax, 8*e.bps, dlo, dhi, e.Format))
			}
		}
		if ok1 && ok2 && pmin == pmax {
			_, off := field(3, i)
			errs = append(errs, bad(off, fmt.Sprintf("signal %d physical minimum", i), "%v equals the physical maximum", pmin))
		}
		if ok5 {
			_, off := field(8, i)
			if spr < 1 || int64(spr) > size {
				errs = append(errs, bad(off, fmt.Sprintf("signal %d samples per record", i), "%d must be ≥ 1 (and fit in the file)", spr))
			} else {
				s.byteOff = recSamples * e.bps
				recSamples += spr
			}
		}
		if ok1 && ok2 && ok3 && ok4 && dmax > dmin {
			s.Gain = (pmax - pmin) / float64(dmax-dmin)
			s.Offset = pmin - s.Gain*float64(dmin)
		}
		if e.Format.plus() && (s.Label == "EDF Annotations" || s.Label == "BDF Annotations") {
			e.annots = append(e.annots, i)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	e.RecordBytes = recSamples * e.bps
	if e.Format.plus() && e.Discontinuous && len(e.annots) == 0 {
		return nil, bad(192, "reserved", "%v file marked discontinuous (+D) has no annotation signal to time its records", e.Format)
	}
	for i := range e.all {
		s := &e.all[i]
		if isAnnot(e.annots, i) {
			continue
		}
		if e.RecordDuration <= 0 {
			_, off := field(8, i)
			return nil, bad(off, fmt.Sprintf("signal %d", i), "an ordinary signal needs a record duration > 0, the header gives %v", e.RecordDuration)
		}
		s.Rate = float64(s.SamplesPerRecord) / e.RecordDuration
		e.Signals = append(e.Signals, *s)
	}

	// The file's length must be what the header promises.
	body := size - int64(e.HeaderBytes)
	rb := int64(e.RecordBytes)
	if records == -1 {
		if body%rb != 0 {
			return nil, bad(236, "number of data records", "-1 (unknown), and the %d bytes after the header are not a whole number of %d-byte records (%d complete, %d bytes over)", body, rb, body/rb, body%rb)
		}
		records = int(body / rb)
	} else if body/rb != int64(records) || body%rb != 0 {
		want := int64(e.HeaderBytes) + int64(records)*rb
		detail := fmt.Sprintf("%d bytes of trailing data", size-want)
		if size < want {
			detail = fmt.Sprintf("truncated: %d complete records, %d bytes of a partial one", body/rb, body%rb)
		}
		return nil, bad(236, "number of data records", "the header promises %d records × %d bytes + %d header bytes = %d bytes, but the file has %d (%s)",
			records, rb, e.HeaderBytes, want, size, detail)
	}
	e.Records = records
	if err := e.readAnnotations(); err != nil {
		return nil, err
	}
	return e, nil
}

func isAnnot(annots []int, i int) bool {
	for _, a := range annots {
		if a == i {
			return true
		}
	}
	return false
}

// edfInt parses an integer header field (ASCII, space padded).
func edfInt(b []byte) (int, error) {
	s := strings.TrimSpace(string(b))
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v > math.MaxInt32 || v < math.MinInt32 {
		return 0, fmt.Errorf("%q is not an integer", s)
	}
	return int(v), nil
}

// edfFloat parses a decimal header field; exponents, infinities and NaN are
// refused (the standard allows plain decimal ASCII).
func edfFloat(b []byte) (float64, error) {
	s := strings.TrimSpace(string(b))
	if s == "" || strings.ContainsAny(s, "eEnNiIxXpP_") {
		return 0, fmt.Errorf("%q is not a decimal number", s)
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, err
	}
	return v, nil
}

var edfMonths = [...]string{"JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"}

// edfStart parses the start date (dd.mm.yy) and time (hh.mm.ss). Two-digit
// years 85–99 are 1985–1999 and 00–84 are 2000–2084 (Kemp et al. 1992,
// clarified by EDF+); an EDF+ recording field "Startdate dd-MMM-yyyy …"
// supplies the four-digit year when it agrees with the date field.
func edfStart(date, clock, recording string, plus bool) (time.Time, error) {
	var d, mo, y, hh, mm, ss int
	if _, err := fmt.Sscanf(date, "%2d.%2d.%2d", &d, &mo, &y); err != nil || len(strings.TrimSpace(date)) != 8 {
		return time.Time{}, fmt.Errorf("date %q is not dd.mm.yy", date)
	}
	if _, err := fmt.Sscanf(clock, "%2d.%2d.%2d", &hh, &mm, &ss); err != nil || len(strings.TrimSpace(clock)) != 8 {
		return time.Time{}, fmt.Errorf("time %q is not hh.mm.ss", clock)
	}
	if y >= 85 {
		y += 1900
	} else {
		y += 2000
	}
	if plus {
		if f := strings.Fields(recording); len(f) >= 2 && f[0] == "Startdate" && len(f[1]) == 11 {
			var rd, ry int
			var rm string
			if _, err := fmt.Sscanf(strings.ReplaceAll(f[1], "-", " "), "%d %s %d", &rd, &rm, &ry); err == nil && rd == d && ry%100 == y%100 {
				for i, m := range edfMonths {
					if m == rm && i+1 == mo {
						y = ry
					}
				}
			}
		}
	}
	t := time.Date(y, time.Month(mo), d, hh, mm, ss, 0, time.UTC)
	if t.Day() != d || int(t.Month()) != mo || t.Hour() != hh || t.Minute() != mm || t.Second() != ss {
		return time.Time{}, fmt.Errorf("%s %s is not a valid date and time", date, clock)
	}
	return t, nil
}

// readAnnotations parses every annotation signal of every record, filling
// Annotations and RecordStarts and checking the time keeping.
func (e *EDF) readAnnotations() error {
	e.RecordStarts = make([]float64, e.Records)
	for r := range e.RecordStarts {
		e.RecordStarts[r] = float64(r) * e.RecordDuration
	}
	if len(e.annots) == 0 {
		return nil
	}
	var buf []byte
	for r := 0; r < e.Records; r++ {
		for k, ai := range e.annots {
			s := &e.all[ai]
			n := s.SamplesPerRecord * e.bps
			if cap(buf) < n {
				buf = make([]byte, n)
			}
			buf = buf[:n]
			off := int64(e.HeaderBytes) + int64(r)*int64(e.RecordBytes) + int64(s.byteOff)
			if _, err := e.r.ReadAt(buf, off); err != nil {
				return fmt.Errorf("%s: reading record %d annotations: %w", e.name, r, err)
			}
			keep, err := parseTALs(buf, k == 0, func(onset, dur float64, text string) {
				e.Annotations = append(e.Annotations, Annotation{Onset: onset, Duration: dur, Text: text})
			})
			if err != nil {
				var te *talError
				if errors.As(err, &te) {
					return &EDFError{File: e.name, Offset: off + int64(te.pos), Field: fmt.Sprintf("record %d annotations (signal %d)", r, ai), Msg: te.msg}
				}
				return err
			}
			if k == 0 {
				e.RecordStarts[r] = keep
			}
		}
		start := e.RecordStarts[r]
		if math.IsInf(start, 0) || math.IsNaN(start) {
			return &EDFError{File: e.name, Offset: e.recordOffset(r), Field: fmt.Sprintf("record %d time keeping", r), Msg: fmt.Sprintf("start %v is not finite", start)}
		}
		const tol = 1e-6 // seconds; onsets are decimal text, record starts r·duration in float64
		if !e.Discontinuous {
			if want := e.RecordStarts[0] + float64(r)*e.RecordDuration; math.Abs(start-want) > tol {
				return &EDFError{File: e.name, Offset: e.recordOffset(r), Field: fmt.Sprintf("record %d time keeping", r),
					Msg: fmt.Sprintf("starts at %v s, but a continuous (+C) file's record %d starts at %v s", start, r, want)}
			}
		} else if r > 0 {
			if prev := e.RecordStarts[r-1]; start < prev+e.RecordDuration-tol {
				return &EDFError{File: e.name, Offset: e.recordOffset(r), Field: fmt.Sprintf("record %d time keeping", r),
					Msg: fmt.Sprintf("starts at %v s, before the end of record %d (%v s + %v s)", start, r-1, prev, e.RecordDuration)}
			}
		}
	}
	return nil
}

func (e *EDF) recordOffset(r int) int64 {
	return int64(e.HeaderBytes) + int64(r)*int64(e.RecordBytes)
}

// Samples returns the number of samples of ordinary signal sig in the file.
func (e *EDF) Samples(sig int) int64 {
	return int64(e.Records) * int64(e.Signals[sig].SamplesPerRecord)
}

// SignalIndex returns the index in Signals of the signal labelled label
// (surrounding spaces ignored), or -1.
func (e *EDF) SignalIndex(label string) int {
	label = strings.TrimSpace(label)
	for i := range e.Signals {
		if strings.TrimSpace(e.Signals[i].Label) == label {
			return i
		}
	}
	return -1
}

// digital decodes the sample at b (2 or 3 bytes, little-endian two's
// complement).
func (e *EDF) digital(b []byte) int32 {
	if e.bps == 3 {
		return int32(b[0]) | int32(b[1])<<8 | int32(int8(b[2]))<<16
	}
	return int32(int16(uint16(b[0]) | uint16(b[1])<<8))
}

// ReadPhysical reads physical samples of ordinary signal sig, from sample
// index start (counting across records), into dst, and returns how many it
// read. At the end of the signal it returns n < len(dst) and io.EOF. It does
// not allocate once its buffer has grown to the largest read.
func (e *EDF) ReadPhysical(dst []float64, sig int, start int64) (int, error) {
	if sig < 0 || sig >= len(e.Signals) {
		return 0, fmt.Errorf("acquire: EDF %s: signal %d out of range [0, %d)", e.name, sig, len(e.Signals))
	}
	s := &e.Signals[sig]
	spr := int64(s.SamplesPerRecord)
	total := int64(e.Records) * spr
	if start < 0 || start > total {
		return 0, fmt.Errorf("acquire: EDF %s: start %d outside signal %d's %d samples", e.name, start, sig, total)
	}
	n := 0
	for n < len(dst) && start < total {
		rec, k := start/spr, start%spr
		cnt := int(min(spr-k, int64(len(dst)-n)))
		nb := cnt * e.bps
		if cap(e.buf) < nb {
			e.buf = make([]byte, nb)
		}
		buf := e.buf[:nb]
		off := e.recordOffset(int(rec)) + int64(s.byteOff) + k*int64(e.bps)
		if _, err := e.r.ReadAt(buf, off); err != nil {
			return n, fmt.Errorf("acquire: EDF %s: reading signal %d at offset %d: %w", e.name, sig, off, err)
		}
		out := dst[n : n+cnt]
		for i := range out {
			out[i] = s.Gain*float64(e.digital(buf[i*e.bps:])) + s.Offset
		}
		n += cnt
		start += int64(cnt)
	}
	if n < len(dst) {
		return n, io.EOF
	}
	return n, nil
}

// Physical returns every physical sample of ordinary signal sig.
func (e *EDF) Physical(sig int) ([]float64, error) {
	if sig < 0 || sig >= len(e.Signals) {
		return nil, fmt.Errorf("acquire: EDF %s: signal %d out of range [0, %d)", e.name, sig, len(e.Signals))
	}
	out := make([]float64, e.Samples(sig))
	if _, err := e.ReadPhysical(out, sig, 0); err != nil {
		return nil, err
	}
	return out, nil
}

// ErrEDFRates is wrapped by the error of ReadFrames and of an EDF source
// when the chosen signals do not share one sample rate.
var ErrEDFRates = errors.New("signals do not share one sample rate")

// FrameSignals checks that the ordinary signals sigs (all of them when sigs
// is nil) share one sample rate and returns the indices and that rate.
func (e *EDF) FrameSignals(sigs []int) ([]int, float64, error) {
	if sigs == nil {
		sigs = make([]int, len(e.Signals))
		for i := range sigs {
			sigs[i] = i
		}
	}
	if len(sigs) == 0 {
		return nil, 0, fmt.Errorf("acquire: EDF %s: no ordinary signal to read", e.name)
	}
	var errs []error
	for _, s := range sigs {
		if s < 0 || s >= len(e.Signals) {
			errs = append(errs, fmt.Errorf("signal %d out of range [0, %d)", s, len(e.Signals)))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, 0, fmt.Errorf("acquire: EDF %s: %w", e.name, err)
	}
	first := &e.Signals[sigs[0]]
	for _, s := range sigs[1:] {
		if x := &e.Signals[s]; x.SamplesPerRecord != first.SamplesPerRecord {
			return nil, 0, fmt.Errorf("acquire: EDF %s: %w: signal %d %q has %v Hz (%d samples per record), signal %d %q has %v Hz (%d)",
				e.name, ErrEDFRates, sigs[0], first.Label, first.Rate, first.SamplesPerRecord, s, x.Label, x.Rate, x.SamplesPerRecord)
		}
	}
	return sigs, first.Rate, nil
}

// ReadFrames reads frames of the ordinary signals sigs (all of them when
// sigs is nil), which must share one sample rate, from frame index start
// into dst, frame-major: dst[f·len(sigs)+c] is signal sigs[c] at frame
// start+f, in the signal's physical units. It reads len(dst)/len(sigs)
// frames and returns how many it read; at the end of the file it returns
// fewer and io.EOF. It does not allocate after the first call (a nil sigs
// allocates its index list each call: pass the list from FrameSignals).
func (e *EDF) ReadFrames(dst []float32, sigs []int, start int64) (int, error) {
	return e.readFrames(dst, sigs, start, nil)
}

// readFrames is ReadFrames with the physical values of sigs[c] multiplied
// by scale[c] (nil: 1) in float64, before rounding to float32.
func (e *EDF) readFrames(dst []float32, sigs []int, start int64, scale []float64) (int, error) {
	if sigs == nil {
		var err error
		if sigs, _, err = e.FrameSignals(nil); err != nil {
			return 0, err
		}
	}
	if len(sigs) == 0 {
		return 0, fmt.Errorf("acquire: EDF %s: no signal to read", e.name)
	}
	spr := int64(e.Signals[sigs[0]].SamplesPerRecord)
	for _, s := range sigs {
		if s < 0 || s >= len(e.Signals) || int64(e.Signals[s].SamplesPerRecord) != spr {
			_, _, err := e.FrameSignals(sigs)
			return 0, err
		}
	}
	total := int64(e.Records) * spr
	if start < 0 || start > total {
		return 0, fmt.Errorf("acquire: EDF %s: start frame %d outside [0, %d]", e.name, start, total)
	}
	nc := len(sigs)
	want := len(dst) / nc
	n := 0
	for n < want && start < total {
		rec, k := int(start/spr), start%spr
		if err := e.loadRecord(rec); err != nil {
			return n, err
		}
		cnt := int(min(spr-k, int64(want-n)))
		for c, si := range sigs {
			s := &e.Signals[si]
			gain, offset := s.Gain, s.Offset
			if scale != nil {
				gain, offset = gain*scale[c], offset*scale[c]
			}
			p := s.byteOff + int(k)*e.bps
			for f := range cnt {
				dst[(n+f)*nc+c] = float32(gain*float64(e.digital(e.rec[p:])) + offset)
				p += e.bps
			}
		}
		n += cnt
		start += int64(cnt)
	}
	if n < want {
		return n, io.EOF
	}
	return n, nil
}

// loadRecord reads record r into e.rec unless it is there already.
func (e *EDF) loadRecord(r int) error {
	if e.recIdx == r {
		return nil
	}
	if cap(e.rec) < e.RecordBytes {
		e.rec = make([]byte, e.RecordBytes)
	}
	e.rec = e.rec[:e.RecordBytes]
	off := e.recordOffset(r)
	if _, err := e.r.ReadAt(e.rec, off); err != nil {
		e.recIdx = -1
		return fmt.Errorf("acquire: EDF %s: reading record %d at offset %d: %w", e.name, r, off, err)
	}
	e.recIdx = r
	return nil
}
