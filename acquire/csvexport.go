package acquire

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
)

// ExportSummary counts what ExportRecordingCSV wrote.
type ExportSummary struct {
	Files    []string // paths written
	Blocks   int
	Frames   int64 // rows of samples.csv
	Spikes   int
	Commands int
	Stims    int // stimulation events (rows of stim.csv are pulses)
	Meta     int
	// Torn is the recording's torn tail (a *TornError), nil when the file
	// ended with its end chunk. Everything before it was exported.
	Torn error
}

// ExportRecordingCSV writes the chunks of rr as CSV files in dir (created
// if needed; existing files are never overwritten):
//
//	blocks.csv   seq,start,frames,rate,channels,dropped,arrived_ns,spikes,truth_dims
//	samples.csv  sample,ch_0,…,truth_0,…   one row per frame of blocks with data or truth
//	spikes.csv   block_seq,sample,channel,unit
//	commands.csv time_ns,command           (the command text, CSV-quoted)
//	stim.csv     time_ns,seq,sample,arrived_ns,outcome,pulse,electrode,amplitude_ua,phase_us,gap_us,count,freq_hz
//	             one row per pulse train (pulse empty for a pattern without pulses)
//	meta.json    the first meta chunk; further ones as meta_2.json, …
//
// Times (arrived_ns, time_ns) are on the recording clock (ns since the
// first block's arrival). Floats are written in the shortest form that
// reads back exactly. samples.csv needs one shape (channels, truth dims)
// for every block: the first block with data or truth sets it, and a block
// that differs is an error naming its offset. A torn tail ends the export
// without error: the summary's Torn reports it.
func ExportRecordingCSV(rr *RecordingReader, dir string) (ExportSummary, error) {
	var sum ExportSummary
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return sum, err
	}
	type out struct {
		f *os.File
		w *bufio.Writer
	}
	var files []*out
	create := func(name string) (*out, error) {
		p := filepath.Join(dir, name)
		f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err != nil {
			return nil, fmt.Errorf("export: %w", err)
		}
		o := &out{f: f, w: bufio.NewWriterSize(f, 1<<16)}
		files = append(files, o)
		sum.Files = append(sum.Files, p)
		return o, nil
	}
	finish := func(err error) (ExportSummary, error) {
		for _, o := range files {
			if ferr := o.w.Flush(); err == nil && ferr != nil {
				err = fmt.Errorf("export: writing %s: %w", o.f.Name(), ferr)
			}
			if cerr := o.f.Close(); err == nil && cerr != nil {
				err = fmt.Errorf("export: %w", cerr)
			}
		}
		return sum, err
	}
	blocks, err := create("blocks.csv")
	if err != nil {
		return finish(err)
	}
	samples, err := create("samples.csv")
	if err != nil {
		return finish(err)
	}
	spikes, err := create("spikes.csv")
	if err != nil {
		return finish(err)
	}
	commandsOut, err := create("commands.csv")
	if err != nil {
		return finish(err)
	}
	stims, err := create("stim.csv")
	if err != nil {
		return finish(err)
	}
	commands := csv.NewWriter(commandsOut.w)
	blocks.w.WriteString("seq,start,frames,rate,channels,dropped,arrived_ns,spikes,truth_dims\n")
	spikes.w.WriteString("block_seq,sample,channel,unit\n")
	commands.Write([]string{"time_ns", "command"})
	stims.w.WriteString("time_ns,seq,sample,arrived_ns,outcome,pulse,electrode,amplitude_ua,phase_us,gap_us,count,freq_hz\n")

	shapeSet := false
	var dataCh, truthDims int // columns of samples.csv (0: none)
	var line []byte
	var c Chunk
	for {
		err := rr.Next(&c)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			if errors.Is(err, ErrTornTail) {
				sum.Torn = err
				break
			}
			return finish(err)
		}
		switch c.Type {
		case ChunkMeta:
			sum.Meta++
			name := "meta.json"
			if sum.Meta > 1 {
				name = fmt.Sprintf("meta_%d.json", sum.Meta)
			}
			m, err := create(name)
			if err != nil {
				return finish(err)
			}
			m.w.Write(c.Payload)
		case ChunkBlock:
			b := &c.Block
			sum.Blocks++
			line = strconv.AppendUint(line[:0], b.Seq, 10)
			line = appendCSVInt(line, b.Start)
			line = appendCSVInt(line, int64(b.Frames))
			line = append(line, ',')
			line = strconv.AppendFloat(line, b.Rate, 'g', -1, 64)
			line = appendCSVInt(line, int64(b.Channels))
			line = append(line, ',')
			line = strconv.AppendUint(line, b.Dropped, 10)
			line = appendCSVInt(line, b.Arrived)
			line = appendCSVInt(line, int64(len(b.Spikes)))
			line = appendCSVInt(line, int64(b.TruthDims))
			blocks.w.Write(append(line, '\n'))
			for _, s := range b.Spikes {
				line = strconv.AppendUint(line[:0], b.Seq, 10)
				line = appendCSVInt(line, s.Sample)
				line = appendCSVInt(line, int64(s.Channel))
				line = appendCSVInt(line, int64(s.Unit))
				spikes.w.Write(append(line, '\n'))
			}
			sum.Spikes += len(b.Spikes)
			if len(b.Data) == 0 && len(b.Truth) == 0 {
				continue
			}
			ch, td := 0, 0
			if len(b.Data) > 0 {
				ch = b.Channels
			}
			if len(b.Truth) > 0 {
				td = b.TruthDims
			}
			if !shapeSet {
				shapeSet, dataCh, truthDims = true, ch, td
				line = append(line[:0], "sample"...)
				for i := range dataCh {
					line = append(line, ",ch_"...)
					line = strconv.AppendInt(line, int64(i), 10)
				}
				for i := range truthDims {
					line = append(line, ",truth_"...)
					line = strconv.AppendInt(line, int64(i), 10)
				}
				samples.w.Write(append(line, '\n'))
			}
			if ch != dataCh || td != truthDims {
				return finish(fmt.Errorf("export: %s: block at offset %d has %d data channels and %d truth dims, earlier blocks %d and %d: samples.csv needs one shape",
					rr.Name(), c.Offset, ch, td, dataCh, truthDims))
			}
			for f := range b.Frames {
				line = strconv.AppendInt(line[:0], b.Start+int64(f), 10)
				for _, v := range b.Data[f*ch : (f+1)*ch] {
					line = append(line, ',')
					line = strconv.AppendFloat(line, float64(v), 'g', -1, 32)
				}
				for _, v := range b.Truth[f*td : (f+1)*td] {
					line = append(line, ',')
					line = strconv.AppendFloat(line, v, 'g', -1, 64)
				}
				samples.w.Write(append(line, '\n'))
			}
			sum.Frames += int64(b.Frames)
		case ChunkCommand:
			sum.Commands++
			commands.Write([]string{strconv.FormatInt(c.Time, 10), string(c.Payload)})
		case ChunkStim:
			sum.Stims++
			e := &c.Stim
			head := strconv.AppendInt(nil, c.Time, 10)
			head = append(head, ',')
			head = strconv.AppendUint(head, e.Seq, 10)
			head = appendCSVInt(head, e.Sample)
			head = appendCSVInt(head, e.Arrived)
			head = appendCSVInt(head, int64(e.Outcome))
			if len(e.Pulses) == 0 {
				stims.w.Write(append(head, ",,,,,,,\n"...))
			}
			for i, q := range e.Pulses {
				line = append(line[:0], head...)
				line = appendCSVInt(line, int64(i))
				line = appendCSVInt(line, int64(q.Electrode))
				for _, v := range []float64{q.AmplitudeUA, q.PhaseUS, q.GapUS} {
					line = append(line, ',')
					line = strconv.AppendFloat(line, v, 'g', -1, 64)
				}
				line = appendCSVInt(line, int64(q.Count))
				line = append(line, ',')
				line = strconv.AppendFloat(line, q.FreqHz, 'g', -1, 64)
				stims.w.Write(append(line, '\n'))
			}
		}
	}
	commands.Flush()
	if err := commands.Error(); err != nil {
		return finish(fmt.Errorf("export: commands.csv: %w", err))
	}
	return finish(nil)
}

func appendCSVInt(dst []byte, v int64) []byte {
	return strconv.AppendInt(append(dst, ','), v, 10)
}
