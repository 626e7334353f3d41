package decode_test

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/bciloop/bciloop/decode"
)

// Ten bins in three contiguous folds, with one bin purged on each side of
// every test block (as a filter with two taps needs).
func ExampleContiguousFolds() {
	folds, err := decode.ContiguousFolds(10, 3, 1)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, f := range folds {
		fmt.Printf("fold %d: test [%d, %d), train %v\n", f.Index, f.TestStart, f.TestEnd, f.Train)
	}
	// Output:
	// fold 0: test [0, 3), train [4 5 6 7 8 9]
	// fold 1: test [3, 6), train [0 1 7 8 9]
	// fold 2: test [6, 10), train [0 1 2 3 4]
}

// A table of spike counts as a spreadsheet exports it (semicolons, a
// header), and the error a ragged row gives.
func ExampleReadCSVMatrix() {
	m, err := decode.ReadCSVMatrix(strings.NewReader("ch0;ch1;ch2\n3;0;1\n2;1;0\n"), "counts.csv")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(m.Rows, m.Cols, m.Names, m.Row(1))
	_, err = decode.ReadCSVMatrix(strings.NewReader("3,0,1\n2,1\n"), "counts.csv")
	fmt.Println(err)
	// Output:
	// 2 3 [ch0 ch1 ch2] [2 1 0]
	// counts.csv: line 2: 2 fields, but line 1 has 3 (every row needs the same number of columns)
}

// Accuracy, Cohen's kappa and the chance level of 20 two-class trials.
func ExampleClassification() {
	truth := []int{0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1}
	pred := []int{0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 1, 0, 1, 1, 0, 0}
	m, err := decode.Classification(pred, truth, 2)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("accuracy %.2f, kappa %.2f, chance %.2f (95 %% limit %.2f), p = %.3f\n", m.Accuracy, m.Kappa, m.Chance, m.Chance95, m.PValue)
	// Output:
	// accuracy 0.80, kappa 0.60, chance 0.50 (95 % limit 0.75), p = 0.006
}

// A matrix written as a NumPy .npy file (what numpy.save writes for a
// float64 array) and read back.
func ExampleReadNPY() {
	var file bytes.Buffer
	m := &decode.Matrix{Rows: 2, Cols: 3, Data: []float64{0, 1, 2, 3, 4, 5.5}}
	if err := decode.WriteNPY(&file, m); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%q\n", file.Bytes()[:10])
	back, err := decode.ReadNPY(&file, "m.npy")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(back.Rows, back.Cols, back.Data)
	// Output:
	// "\x93NUMPY\x01\x00v\x00"
	// 2 3 [0 1 2 3 4 5.5]
}
