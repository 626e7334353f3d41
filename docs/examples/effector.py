#!/usr/bin/env python3
"""An external effector: a minimal client, in another language than the
runtime, that reads bciloop's decoded commands from NATS and drives a
device with them.

The device here is a 2-D cursor under velocity control (the same control
law as bciloop's task engine): each command's decoded velocity (vx, vy)
moves it for the time since the previous command, its speed is capped,
and it stays inside a square workspace. A real effector (a robot arm, a
wheelchair, a game) would replace `Cursor.apply`.

    python3 docs/examples/effector.py --url nats://127.0.0.1:4222 --rig demo

Commands are the JSON messages of bciloop.<rig>.cmd (README, "Subjects
and encodings"): {"v":1,"rig":..,"seq":..,"bin_seq":..,"sample":..,
"arrived_ns":..,"sent_ns":..,"decoder":..,"state":{"vx":..,"vy":..}}.
`seq` counts commands from 1 without gaps, so a jump means messages were
lost; the effector counts the missing ones and never moves on a stale or
malformed command. On the same machine `sent_ns` and this process's
time.monotonic_ns() share CLOCK_MONOTONIC, so the effector also measures
the transport latency (publish -> received here).

It prints "ready" once subscribed, then, when it stops (after --count
commands, --duration seconds, or SIGINT/SIGTERM), one JSON line:
{"received", "missing", "malformed", "last_seq", "x", "y", "latency_us":
{"p50", "p99", "max"}}.

Only the standard library and natsmini.py (next to this file) are used.
"""

import argparse
import json
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from natsmini import Client  # noqa: E402


class Cursor:
    """A velocity-controlled point in [-half, half]^2 with a speed cap."""

    def __init__(self, half=10.0, max_speed=50.0):
        self.x = self.y = 0.0
        self.half, self.max_speed = half, max_speed

    def apply(self, vx, vy, dt):
        speed = (vx * vx + vy * vy) ** 0.5
        if speed > self.max_speed:  # a device limit, not a decoder property
            vx, vy = vx * self.max_speed / speed, vy * self.max_speed / speed
        self.x = min(max(self.x + vx * dt, -self.half), self.half)
        self.y = min(max(self.y + vy * dt, -self.half), self.half)


def quantile(sorted_values, q):
    if not sorted_values:
        return None
    i = min(len(sorted_values) - 1, int(q * (len(sorted_values) - 1) + 0.5))
    return sorted_values[i]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--url", default=os.environ.get("BCILOOP_NATS_URL", "nats://127.0.0.1:4222"))
    ap.add_argument("--rig", default="demo", help="bciloop rig name (subject bciloop.<rig>.cmd)")
    ap.add_argument("--rate", type=float, default=1000.0, help="sample rate of the stream (Hz), to turn command samples into seconds")
    ap.add_argument("--count", type=int, default=0, help="stop after this many commands (0: no limit)")
    ap.add_argument("--duration", type=float, default=0.0, help="stop after this many seconds (0: no limit)")
    ap.add_argument("--half", type=float, default=10.0, help="half width of the workspace")
    ap.add_argument("--max-speed", type=float, default=50.0, help="speed cap of the device")
    args = ap.parse_args(argv)

    nc = Client.connect(args.url, name="bciloop-effector")
    cursor = Cursor(args.half, args.max_speed)
    st = {"received": 0, "missing": 0, "malformed": 0, "last_seq": 0, "last_sample": None}
    lat = []
    stop = {"now": False}

    def on_cmd(msg):
        now = time.monotonic_ns()
        try:
            cmd = json.loads(msg.data)
            seq, sample, state = int(cmd["seq"]), int(cmd["sample"]), cmd["state"]
            vx, vy = float(state["vx"]), float(state["vy"])
        except (ValueError, KeyError, TypeError):
            st["malformed"] += 1  # never move on a command that does not parse
            return
        st["received"] += 1
        if st["last_seq"] and seq > st["last_seq"] + 1:
            st["missing"] += seq - st["last_seq"] - 1
        if seq <= st["last_seq"]:
            return  # old or repeated: ignore
        st["last_seq"] = seq
        if st["last_sample"] is not None:
            cursor.apply(vx, vy, (sample - st["last_sample"]) / args.rate)
        st["last_sample"] = sample
        lat.append((now - int(cmd["sent_ns"])) / 1e3)
        if args.count and st["received"] >= args.count:
            stop["now"] = True

    signal.signal(signal.SIGTERM, lambda *_: stop.update(now=True))
    signal.signal(signal.SIGINT, lambda *_: stop.update(now=True))
    nc.subscribe("bciloop.%s.cmd" % args.rig, on_cmd)
    nc.flush()
    print("ready", flush=True)
    end = time.monotonic() + args.duration if args.duration > 0 else None
    while not stop["now"] and not nc.closed:
        if end is not None and time.monotonic() >= end:
            break
        try:
            nc.process(0.05)
        except EOFError:
            break  # the server went away
    nc.close()
    lat.sort()
    out = {k: st[k] for k in ("received", "missing", "malformed", "last_seq")}
    out.update(x=cursor.x, y=cursor.y,
               latency_us={"p50": quantile(lat, 0.5), "p99": quantile(lat, 0.99), "max": lat[-1] if lat else None})
    print(json.dumps(out), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
