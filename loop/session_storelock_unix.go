//go:build unix

package loop

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// lockStore takes an exclusive lock on storeDir/bciloop.lock for the life
// of an embedded JetStream server: nats-server does not lock its store, and
// two servers on one store (a run still recording and a replay, say) would
// corrupt it.
func lockStore(storeDir string) (*os.File, error) {
	path := filepath.Join(storeDir, "bciloop.lock")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("embedded nats: store_dir: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("embedded nats: store_dir %s is in use by another server (a run still recording? %s is locked)", storeDir, path)
		}
		return nil, fmt.Errorf("embedded nats: store_dir: locking %s: %w", path, err)
	}
	return f, nil
}
