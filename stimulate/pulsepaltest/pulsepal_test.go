package pulsepaltest

import (
	"bytes"
	"encoding/binary"
	"slices"
	"testing"
)

// stream is a session as a host writes it, with the replies due.
func stream() (in, replies []byte) {
	le32 := func(v uint32) []byte { return binary.LittleEndian.AppendUint32(nil, v) }
	in = slices.Concat(
		[]byte{213, 72},
		[]byte{213, 74, 2, 1}, []byte{0x01, 0x40}, // phase 1 voltage of channel 1 = 0x4001
		[]byte{213, 74, 4, 1}, le32(4), // phase 1 duration 4 cycles
		[]byte{213, 74, 1, 3, 1}, // channel 3 biphasic
		[]byte{213, 74, 10, 4}, le32(1809),
		[]byte{213, 89}, []byte("BCILOO"),
		[]byte{213, 77, 0b1001},
		[]byte{213, 80},
		[]byte{213, 81},
	)
	return in, slices.Concat([]byte{75}, le32(21), []byte{1, 1, 1, 1})
}

// TestInputChunking: the same bytes give the same state and replies
// whether they come at once or one by one.
func TestInputChunking(t *testing.T) {
	in, want := stream()
	for _, chunk := range []int{len(in), 1, 3, 7} {
		p := New(21)
		var got []byte
		for b := in; len(b) > 0; {
			n := min(chunk, len(b))
			r, restart := p.Input(b[:n])
			if restart {
				t.Fatal("restart")
			}
			got = append(got, r...)
			b = b[n:]
		}
		r := p.Report()
		if !bytes.Equal(got, want) {
			t.Errorf("chunk %d: replies % x, want % x", chunk, got, want)
		}
		c1, c3, c4 := r.Channels[0], r.Channels[2], r.Channels[3]
		if r.Handshakes != 1 || r.Programs != 4 || r.Aborts != 1 || r.Disconnects != 1 || r.Client != "BCILOO" ||
			c1.Phase1Voltage != 0x4001 || c1.Phase1Duration != 4 || c3.Biphasic != 1 || c4.PulseTrainDuration != 1809 ||
			len(r.Triggers) != 1 || r.Triggers[0].Bits != 0b1001 || r.Triggers[0].Channels[0] != c1 || len(r.Errors) != 0 || r.Pending != 0 {
			t.Errorf("chunk %d: %+v", chunk, r)
		}
	}
}

func TestInputErrors(t *testing.T) {
	tests := []struct {
		name   string
		in     []byte
		errors int
		reply  []byte
	}{
		{"no op-menu byte", []byte{72, 213, 80}, 1, nil},
		{"unknown opcode", []byte{213, 200, 213, 80}, 1, nil},
		{"unknown parameter", []byte{213, 74, 99, 1}, 1, []byte{1}},
		{"channel 0", []byte{213, 74, 1, 0, 1}, 1, []byte{1}},
		{"channel 5", []byte{213, 74, 2, 5, 0, 0}, 1, []byte{1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := New(21)
			reply, _ := p.Input(tc.in)
			r := p.Report()
			if len(r.Errors) != tc.errors || !bytes.Equal(reply, tc.reply) || r.Programs != 0 || r.Pending != 0 {
				t.Errorf("reply % x, report %+v", reply, r)
			}
		})
	}
}
