//go:build !linux

package acquire

import (
	"errors"
	"fmt"
	"os"

	"go.bug.st/serial"
)

// checkPortFree fails with ErrNoPort if port does not exist and with
// ErrPortInUse if another program holds it exclusively: without /proc and
// TIOCGEXCL, the exclusive open of go.bug.st/serial is the only check.
func checkPortFree(port string) error {
	if _, err := os.Stat(port); errors.Is(err, os.ErrNotExist) {
		return portError(port, err)
	}
	p, err := serial.Open(port, &serial.Mode{BaudRate: 9600})
	var pe *serial.PortError
	if errors.As(err, &pe) && pe.Code() == serial.PortBusy {
		return fmt.Errorf("acquire: %w: %s is held open by another program", ErrPortInUse, port)
	}
	if err != nil {
		return portError(port, err)
	}
	return p.Close()
}
