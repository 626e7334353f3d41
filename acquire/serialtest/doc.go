// Package serialtest is the test kit of bciloop's serial boards: fake
// devices in Go that sit behind pseudo-terminals and are opened through
// go.bug.st/serial exactly like a real port.
//
// A Board (CytonBoard, ModEEGBoard, ThinkGearBoard, SpikerBoxBoard) emits its
// protocol's exact bytes from seeded random samples, so that a test knows
// what every frame must decode to, and answers the protocol's commands. A
// Device (Linux) runs a Board at its real rate or faster, writing what is due
// each millisecond in one burst as a USB serial chip does, and injects
// faults: corrupted packets, dropped packets (the counter jumps), false
// header bytes inside the data (a Board option), counter wraps (a Board's
// CounterStart), and the port vanishing mid-stream and coming back at the
// same path (Path is a symlink the device re-points to a new pty). Report
// tells which packets were lost, so that tests check that drops are
// counted exactly and no sample is invented.
package serialtest
