//go:build linux

package acquire

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// checkPortFree fails with ErrPortInUse if port is in exclusive mode or
// open in another process, and with ErrNoPort if it does not exist.
func checkPortFree(port string) error {
	var st unix.Stat_t
	if err := unix.Stat(port, &st); err != nil {
		if errors.Is(err, unix.ENOENT) {
			return portError(port, os.ErrNotExist)
		}
		return fmt.Errorf("acquire: serial port %s: %w", port, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFCHR {
		return fmt.Errorf("acquire: %s is not a character device, so not a serial port", port)
	}
	// O_NONBLOCK: do not wait for carrier. Another holder keeps DTR up, so
	// this open and its close do not toggle it.
	fd, err := unix.Open(port, unix.O_RDONLY|unix.O_NOCTTY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if errors.Is(err, unix.EBUSY) {
		return fmt.Errorf("acquire: %w: %s is open in exclusive mode (TIOCEXCL) by another program", ErrPortInUse, port)
	}
	if err != nil {
		return fmt.Errorf("acquire: serial port %s: %w", port, err)
	}
	excl, err := unix.IoctlGetInt(fd, unix.TIOCGEXCL)
	unix.Close(fd)
	if err == nil && excl != 0 {
		return fmt.Errorf("acquire: %w: %s is open in exclusive mode (TIOCEXCL) by another program", ErrPortInUse, port)
	}
	if pids := portHolders(st.Rdev); len(pids) > 0 {
		return fmt.Errorf("acquire: %w: %s is open in process %s; not probing it (opening it could reset the board or take bytes from that program)", ErrPortInUse, port, strings.Join(pids, ", "))
	}
	return nil
}

// portHolders returns the ids of other processes with a descriptor open on
// the character device rdev, from /proc/*/fd (processes whose descriptors
// this user may not read are not seen).
func portHolders(rdev uint64) []string {
	self := strconv.Itoa(os.Getpid())
	procs, _ := filepath.Glob("/proc/[0-9]*")
	var pids []string
	for _, p := range procs {
		pid := filepath.Base(p)
		if pid == self {
			continue
		}
		fds, err := os.ReadDir(filepath.Join(p, "fd"))
		if err != nil {
			continue
		}
		for _, fd := range fds {
			var st unix.Stat_t
			if unix.Stat(filepath.Join(p, "fd", fd.Name()), &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFCHR && st.Rdev == rdev {
				pids = append(pids, pid)
				break
			}
		}
	}
	slices.Sort(pids)
	return pids
}
