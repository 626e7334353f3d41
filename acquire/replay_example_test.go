package acquire_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/bciloop/bciloop/acquire"
)

// An EDF+ file written and read back: two records of one 4 Hz signal and
// an annotation.
func ExampleWriteEDF() {
	dir, _ := os.MkdirTemp("", "edf")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "a.edf")
	e := &acquire.EDF{
		Format:         acquire.FormatEDFPlus,
		RecordDuration: 1,
		Signals:        []acquire.EDFSignal{{Label: "EEG Cz", PhysicalDimension: "uV", PhysicalMin: -100, PhysicalMax: 100, SamplesPerRecord: 4}},
		Annotations:    []acquire.Annotation{{Onset: 1.5, Duration: 0.5, Text: "T1"}},
	}
	if err := acquire.WriteEDFFile(path, e, [][]float64{{0, 10, 20, 30, 40, 50, 60, 70}}); err != nil {
		log.Fatal(err)
	}
	f, err := acquire.ReadEDF(path)
	if err != nil {
		log.Fatal(err)
	}
	x, _ := f.Physical(0)
	fmt.Println(f.Format, f.Records, "records,", f.Signals[0].Label, f.Signals[0].Rate, "Hz")
	fmt.Printf("%.2f\n", x)
	fmt.Printf("%+v\n", f.Annotations)
	// Output:
	// EDF+ 2 records, EEG Cz 4 Hz
	// [0.00 10.00 20.00 30.00 40.00 50.00 60.00 70.00]
	// [{Onset:1.5 Duration:0.5 Text:T1}]
}

// A recording of a few blocks, replayed as a Source.
func ExampleCreateRecording() {
	dir, _ := os.MkdirTemp("", "rec")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "run.bcr")
	rec, err := acquire.CreateRecording(path, []byte(`{"source":"example"}`), acquire.DefaultRecorderConfig())
	if err != nil {
		log.Fatal(err)
	}
	for k := range 3 {
		b := acquire.Block{Seq: uint64(k), Start: int64(2 * k), Frames: 2, Rate: 1000, Channels: 1,
			Data: []float32{float32(k), float32(k) + 0.5}, Arrived: 1e9 + int64(k)*2e6}
		rec.AppendBlock(&b)
	}
	rec.AppendCommand([]byte(`{"v":1}`))
	if err := rec.Close(); err != nil {
		log.Fatal(err)
	}

	src, err := acquire.OpenReplay(path, acquire.DefaultReplayConfig())
	if err != nil {
		log.Fatal(err)
	}
	defer src.Close()
	fmt.Println(src.Format(), string(src.Meta()))
	var b, first acquire.Block
	for src.Read(context.Background(), &b) == nil {
		if b.Seq == 0 {
			first = b
		}
		fmt.Println(b.Seq, b.Start, b.Data, "arrived +", (b.Arrived-first.Arrived)/1e6, "ms")
	}
	// Output:
	// bciloop recording {"source":"example"}
	// 0 0 [0 0.5] arrived + 0 ms
	// 1 2 [1 1.5] arrived + 2 ms
	// 2 4 [2 2.5] arrived + 4 ms
}
