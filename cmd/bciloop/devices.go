package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"go.bug.st/serial/enumerator"

	"github.com/bciloop/bciloop/acquire"
)

func init() {
	register("devices", command{"devices [--probe PORT] [--timeout D] [--json]", cmdDevices})
}

// deviceInfo is one serial port as `devices --json` prints it.
type deviceInfo struct {
	Port         string `json:"port"`
	USB          bool   `json:"usb"`
	VID          string `json:"vid,omitempty"`
	PID          string `json:"pid,omitempty"`
	Product      string `json:"product,omitempty"`
	Manufacturer string `json:"manufacturer,omitempty"`
	Serial       string `json:"serial,omitempty"`
}

func cmdDevices(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("devices", flag.ContinueOnError)
	fs.SetOutput(stderr)
	probe := fs.String("probe", "", "identify the protocol that answers on this port (skipped, with an error, if another program holds it)")
	timeout := fs.Duration("timeout", time.Second, "with --probe: how long each protocol gets to answer")
	asJSON := fs.Bool("json", false, "print JSON lines instead of a table")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: bciloop devices [flags]\n\nLists serial ports with their USB vendor and product IDs and names, or with\n--probe PORT finds which board protocol answers there (cyton, cyton-daisy,\nmodeeg, thinkgear, spikerbox). A probe first checks that no other program\nholds the port (exclusive mode, TIOCEXCL, or an open descriptor in another\nprocess) and refuses it if one does: opening a port can reset a board.\n\nflags:")
		fs.PrintDefaults()
	}
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return usageErr("devices: unexpected arguments %q (use --probe PORT)", pos)
	}
	if *timeout <= 0 {
		return usageErr("devices: --timeout must be > 0, got %v", *timeout)
	}
	if *probe != "" {
		res, err := acquire.ProbeSerial(ctx, *probe, *timeout)
		if err != nil {
			return fmt.Errorf("devices: %w", err)
		}
		if *asJSON {
			b, _ := json.Marshal(map[string]string{"port": *probe, "protocol": res.Protocol, "identity": res.Identity})
			fmt.Fprintln(stdout, string(b))
			return nil
		}
		fmt.Fprintf(stdout, "%s: %s (%s)\n", *probe, res.Protocol, res.Identity)
		return nil
	}
	ports, err := enumerator.GetDetailedPortsList()
	if err != nil {
		return fmt.Errorf("devices: %w", err)
	}
	if *asJSON {
		for _, p := range ports {
			b, _ := json.Marshal(deviceInfo{p.Name, p.IsUSB, p.VID, p.PID, p.Product, p.Manufacturer, p.SerialNumber})
			fmt.Fprintln(stdout, string(b))
		}
		return nil
	}
	if len(ports) == 0 {
		fmt.Fprintln(stdout, "no serial ports found")
		return nil
	}
	w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "PORT\tVID:PID\tPRODUCT\tMANUFACTURER\tSERIAL")
	for _, p := range ports {
		id := "-"
		if p.IsUSB {
			id = p.VID + ":" + p.PID
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", p.Name, id, dash(p.Product), dash(p.Manufacturer), dash(p.SerialNumber))
	}
	return w.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
