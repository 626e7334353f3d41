#!/usr/bin/env python3
"""An external decoder for `bciloop latency --external` (and for `run`).

It reads bciloop's binned spike counts from NATS, decodes a stimulation
amplitude from them, and publishes a stimulation command for every bin,
carrying the bin's arrival stamp so that bciloop measures the whole path:
sample arrival -> bins on NATS -> this process -> command on NATS ->
safety limit -> stimulation applied in the synthetic brain.

    bciloop latency --config configs/sim-cursor.yaml --duration 10s \\
        --external 'python3 docs/examples/external_decoder.py'

Environment (set by bciloop latency; defaults for a manual run):
    BCILOOP_NATS_URL  nats://127.0.0.1:4222
    BCILOOP_BINS      bciloop.demo.bins    (binary bins, README "Subjects and encodings")
    BCILOOP_STIM      bciloop.demo.ext.stim (stimulation commands, schema v1 of package stimulate)

It prints "ready" once subscribed (bciloop latency waits for it).

The decoder is deliberately simple (this is a latency example): the
population count of the bin, normalised by its running mean, sets the
amplitude of one biphasic pulse on electrode 0, between 5 and 30 uA.
"""

import os
import signal
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from natsmini import Client  # noqa: E402

# The 48-byte header of bciloop's binary stream messages, little-endian:
# magic "BL", version, type, count, seq, start, frames, channels, 2 pad
# bytes, rate, arrived_ns (acquire.AppendWireHeader).
HEADER = struct.Struct("<2sBBIQqIH2xdq")
TYPE_BINS = 2


def main():
    url = os.environ.get("BCILOOP_NATS_URL", "nats://127.0.0.1:4222")
    bins = os.environ.get("BCILOOP_BINS", "bciloop.demo.bins")
    stim = os.environ.get("BCILOOP_STIM", "bciloop.demo.ext.stim")
    nc = Client.connect(url, name="external-decoder")
    state = {"seq": 0, "mean": None}

    def on_bins(msg):
        data = msg.data
        if len(data) < HEADER.size:
            return
        magic, _version, typ, count, _seq, start, width, _ch, _rate, arrived = HEADER.unpack_from(data)
        if magic != b"BL" or typ != TYPE_BINS:
            return
        counts = struct.unpack_from("<%df" % count, data, HEADER.size)
        total = sum(counts)
        m = state["mean"]
        state["mean"] = total if m is None else 0.99 * m + 0.01 * total
        level = total / state["mean"] if state["mean"] else 1.0
        amp = min(30.0, max(5.0, 15.0 * level))
        state["seq"] += 1
        cmd = ('{"v":1,"seq":%d,"sample":0,"arrived_ns":%d,"pulses":[{"electrode":0,'
               '"amplitude_ua":%.1f,"phase_us":100,"gap_us":50,"count":1,"freq_hz":0}]}'
               % (state["seq"], arrived, amp))
        nc.publish(stim, cmd)

    nc.subscribe(bins, on_bins)
    nc.flush()
    print("ready", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    nc.run()


if __name__ == "__main__":
    main()
