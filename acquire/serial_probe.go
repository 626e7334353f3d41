package acquire

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// ErrPortInUse is wrapped by errors about a port that another program holds
// open, which a probe refuses to touch.
var ErrPortInUse = errors.New("serial port in use by another program")

// ProbeResult is what answered on a port.
type ProbeResult struct {
	Protocol string // one of Protocols()
	Identity string // what the device said about itself
}

// ProbeSerial finds which protocol a device on port speaks, trying each
// within timeout: first the boards that stream unasked (ModularEEG,
// ThinkGear, SpikerBox), listening at their baud rates, then the Cyton's
// 'v' handshake (a Cyton whose banner names a Daisy is reported as
// cyton-daisy). It leaves the board stopped.
//
// Opening a serial port asserts DTR, which resets many Arduino-based boards,
// and a probe's bytes would reach a program reading the port. So before
// opening it for real ProbeSerial checks that no other program holds it:
// it fails with ErrPortInUse if the tty is in exclusive mode (TIOCEXCL, as
// go.bug.st/serial and most acquisition programs set it; read with
// TIOCGEXCL, which also works for root, whom TIOCEXCL does not stop) or if
// another process has it open (/proc/*/fd on Linux). A port that does not
// exist fails with ErrNoPort and the ports that do; a device that answers
// no protocol fails with ErrNoAnswer.
func ProbeSerial(ctx context.Context, port string, timeout time.Duration) (ProbeResult, error) {
	if err := checkPortFree(port); err != nil {
		return ProbeResult{}, err
	}
	var tried []string
	for _, p := range Protocols() {
		if p == ProtocolCytonDaisy {
			continue // the Cyton's banner tells
		}
		cfg := DefaultSerialConfig()
		cfg.Port, cfg.Protocol, cfg.BlockFrames = port, p, 1
		cfg.HandshakeTimeout = timeout
		s, err := OpenSerial(ctx, cfg)
		if err == nil {
			res := ProbeResult{Protocol: p, Identity: s.Identity()}
			if p == ProtocolCyton && strings.Contains(res.Identity, "Daisy") {
				res.Protocol = ProtocolCytonDaisy
			}
			s.Close()
			return res, nil
		}
		if !errors.Is(err, ErrNoAnswer) {
			return ProbeResult{}, err
		}
		tried = append(tried, p)
		if ctx.Err() != nil {
			return ProbeResult{}, ctx.Err()
		}
	}
	return ProbeResult{}, fmt.Errorf("acquire: %w: nothing on %s answered as %s within %v each", ErrNoAnswer, port, strings.Join(tried, ", "), timeout)
}
