package loop

import (
	"context"
	"testing"

	"github.com/bciloop/bciloop/acquire"
)

func TestSessionProbeSize(t *testing.T) {
	l, b, done := warmLoopOn(t, false, nil)
	defer done()
	for i := 0; i < 3; i++ {
		_ = l.src.Read(context.Background(), b)
		t.Logf("data %d spikes %d truth %d chunk %d", len(b.Data), len(b.Spikes), len(b.Truth), acquire.BlockChunkSize(b))
	}
}
