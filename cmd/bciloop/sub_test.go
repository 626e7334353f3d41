package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/bciloop/bciloop/acquire"
	"github.com/bciloop/bciloop/decode"
	"github.com/bciloop/bciloop/loop"
)

func TestDescribe(t *testing.T) {
	var blk acquire.Block
	var bin decode.Bin
	spikes := acquire.AppendSpikesMessage(nil, &acquire.Block{Seq: 4, Start: 40, Frames: 10, Rate: 1000, Channels: 3, Arrived: 99,
		Spikes: []acquire.Spike{{Sample: 41, Channel: 2}}})
	bins := loop.AppendBinsMessage(nil, &decode.Bin{Seq: 7, Start: 140, Width: 20, Rate: 1000, Counts: []float64{1, 0, 3}, Arrived: 77})
	raw := acquire.AppendRawMessage(nil, &acquire.Block{Seq: 2, Start: 8, Frames: 2, Rate: 250, Channels: 2, Arrived: 5, Data: []float32{1, 2, 3, 4}})
	cases := []struct {
		name    string
		msg     []byte
		seq     uint64
		arrived int64
		sent    int64
		line    string
		wantErr string
	}{
		{"spikes", spikes, 5, 99, 0, `"spikes":[[41,2,0]]`, ""},
		{"raw", raw, 3, 5, 0, `"data_uv":[1,2,3,4]`, ""},
		{"bins", bins, 8, 77, 0, `"counts":[1,0,3]`, ""},
		{"command", []byte(`{"v":1,"seq":3,"arrived_ns":10,"sent_ns":12,"state":{}}`), 3, 10, 12, `"seq":3`, ""},
		{"probe", []byte(`{"v":1,"probe":9,"sent_ns":15,"pad":""}`), 9, 15, 15, `"probe":9`, ""},
		{"truncated binary", spikes[:50], 0, 0, 0, "", "malformed bciloop wire message"},
		{"garbage", []byte("hello"), 0, 0, 0, "", "not a bciloop message"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			line, seq, arrived, sent, err := describe(c.msg, &blk, &bin)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("err %v, want %q", err, c.wantErr)
				}
				return
			}
			if err != nil || seq != c.seq || arrived != c.arrived || sent != c.sent || !strings.Contains(line, c.line) || !json.Valid([]byte(line)) {
				t.Fatalf("got %q seq %d arrived %d sent %d err %v", line, seq, arrived, sent, err)
			}
		})
	}
}
