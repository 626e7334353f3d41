package acquire_test

import (
	"fmt"

	"github.com/bciloop/bciloop/acquire"
)

// A Cyton packet decoded by hand-made bytes: channel 1 at +1000 counts,
// channel 2 at −1 count, gain 24; a second packet confirms the first.
func ExampleCytonParser() {
	pkt := func(counter byte) []byte {
		p := []byte{0xA0, counter, 0x00, 0x03, 0xE8, 0xFF, 0xFF, 0xFF}
		p = append(p, make([]byte, 18+6)...)
		return append(p, 0xC0)
	}
	p := acquire.NewCytonParser(false, nil)
	frames, n := p.Parse(make([]acquire.CytonFrame, 0, 4), append(pkt(254), pkt(255)...))
	for _, f := range frames {
		fmt.Printf("counter %d: %.3f µV, %.5f µV, dropped %d\n", f.Counter, f.Microvolts[0], f.Microvolts[1], f.Dropped)
	}
	fmt.Println(n, "bytes consumed")
	// Output:
	// counter 254: 22.352 µV, -0.02235 µV, dropped 0
	// counter 255: 22.352 µV, -0.02235 µV, dropped 0
	// 66 bytes consumed
}

// Raw sample blocks travel on NATS as wire messages of type 3.
func ExampleDecodeRawMessage() {
	b := acquire.Block{Seq: 1, Start: 250, Frames: 2, Channels: 2, Rate: 250, Arrived: 1, Data: []float32{1, 2, 3, 4}}
	msg := acquire.AppendRawMessage(nil, &b)
	var got acquire.Block
	err := acquire.DecodeRawMessage(&got, msg)
	fmt.Println(len(msg), err, got.Start, got.Data)
	// Output: 64 <nil> 250 [1 2 3 4]
}
