"""Fault campaign: uploads over a damaged serial line to an emulated board.

Each upload sends random bytes (a few bytes to 10 KB) as `blob` while FaultyLine drops,
flips, duplicates and truncates bytes and cuts the line (device/faults.py; upload i's
faults come from seed + i). After each upload the line is clean again and the board is
asked what `blob` holds. What must hold, every time:

- no corrupt blob is bound: `blob` is the new data (the upload said it worked) or its
  old value (the upload said it failed);
- the board answers afterwards, on the same connection, without a reboot;
- a failed upload keeps the old value.

A Ctrl-D at an empty raw REPL line makes the firmware soft-reboot, which wipes its RAM,
old value and all. No single damaged byte can send one (the transport's GUARD, and
Blob.receive() for the upload's bytes); a soft reboot is counted apart, upload() must
report it (StateLost), and it fails the run.

    .venv/bin/python tests/fault/fault_upload.py --uploads 1000 [--jobs 2] [--seed 0]

Prints the figures and exits 1 when something that must hold did not.
"""

from __future__ import annotations

import argparse
import collections
import concurrent.futures
import os
import random
import re
import sys
import time
import zlib

from microai.device import DeviceError, StateLost, connect
from microai.device.faults import FaultyLine, plan
from microai.device.upload import CHUNK, upload

NAME = "blob"


def blob_state(t) -> tuple | None:
    """(len, crc) of `blob` on the board, None when it is None; raises DeviceError."""
    return t.eval(
        f"(len({NAME}), __import__('binascii').crc32({NAME})) if {NAME} is not None else None"
    )


MEAN = 1.0  # faults per upload (a geometric count)
STORM_EVERY, STORM_MEAN = 16, 6  # one upload in 16 is a storm: 6 faults, one retry


def faulted_upload(t, i: int, seed: int, timeout: float, c: collections.Counter) -> tuple:
    """Upload number i over a faulty line: new (len, crc), and "ok", "failed" or "lost"
    (a soft reboot wiped the board's RAM)."""
    rng = random.Random(seed * 1_000_003 + i)
    size = rng.choice([rng.randrange(64), rng.randrange(64, 4096), rng.randrange(10240)])
    data = rng.randbytes(size)
    chunks = max(1, -(-size // CHUNK))
    storm = rng.randrange(STORM_EVERY) == 0
    faults = plan(
        seed * 1_000_003 + i,
        tx_bytes=size * 4 // 3 + 250 * chunks + 400,
        rx_bytes=60 * chunks + 120,
        mean=STORM_MEAN if storm else MEAN,
        cut_seconds=(0.2, 2.0),
    )
    line = t.serial
    t.serial = faulty = FaultyLine(line, faults)
    t0 = time.monotonic()
    try:
        upload(t, data, NAME, retries=1 if storm else 3, timeout=timeout)
        ok = "ok"
    except StateLost:
        ok = "lost"
    except DeviceError as e:
        ok = "failed"
        c["error: " + re.sub(r"/dev/\S+: |\d+", "", str(e).split("\n")[0])[:90]] += 1
    finally:
        t.serial = line
    c["uploads"] += 1
    c["seconds faulted" if faulty.injected else "seconds clean"] += time.monotonic() - t0
    c["storms"] += storm
    c["faults"] += len(faulty.injected)
    c["faulted uploads"] += bool(faulty.injected)
    for f in faulty.injected:
        c[f"fault {f.kind} {f.direction}"] += 1
    c["completed"] += ok == "ok"
    return (len(data), zlib.crc32(data)), ok


def run(board: str, indices: list[int], seed: int, timeout: float) -> dict:
    """Faulted uploads number `indices` on one board, each checked on a clean line."""
    c: collections.Counter = collections.Counter()
    t = connect(board=board, build=False)
    try:
        t.exec(f"{NAME} = None")
        old = None
        for k, i in enumerate(indices):
            if k and k % 100 == 0:
                print(f"{board}: {k} uploads, {c['faults']} faults", file=sys.stderr)
            new, ok = faulted_upload(t, i, seed, timeout, c)
            try:
                if ok != "lost":
                    try:
                        t.recover()  # also finds a soft reboot whose message was eaten
                        state = blob_state(t)
                    except StateLost:
                        ok = "lost"
                        c["names lost, not reported"] += 1
                if ok == "lost":
                    # A Ctrl-D reached an empty raw REPL line: the board wiped its RAM.
                    c["names lost to a soft reboot"] += 1
                    print(f"upload {i}: '{NAME}' lost to a soft reboot", file=sys.stderr)
                    t.exec(f"{NAME} = None")
                    c["usable"] += 1
                    old = None
                    continue
                left = t.eval("globals().get('_mai_up') is not None")
            except DeviceError as e:
                c["unusable"] += 1
                print(f"upload {i}: board unusable afterwards: {e}", file=sys.stderr)
                t.close()
                t = connect(board=board, build=False)
                t.exec(f"{NAME} = None")
                old = None
                continue
            c["usable"] += 1
            c["buffers left"] += left
            if ok == "ok":
                c["corrupt"] += state != new
            else:
                c["failed"] += 1
                c["old kept"] += state == old
                c["new bound, reported failed"] += state == new and state != old
                c["corrupt"] += state not in (old, new)
            if state not in (old, new) or (ok == "ok" and state != new):
                print(f"upload {i}: blob holds {state}; old {old}, new {new}", file=sys.stderr)
            old = state
    finally:
        t.close()
    return dict(c)


def campaign(board: str, uploads: int, seed: int = 0, jobs: int = 1, timeout: float = 2.0) -> dict:
    """Run `uploads` faulted uploads on `jobs` boards at once; the summed tallies."""
    parts = [list(range(k, uploads, jobs)) for k in range(jobs)]
    total: collections.Counter = collections.Counter()
    if jobs == 1:
        total.update(run(board, parts[0], seed, timeout))
    else:
        with concurrent.futures.ProcessPoolExecutor(jobs) as pool:
            for r in pool.map(run, [board] * jobs, parts, [seed] * jobs, [timeout] * jobs):
                total.update(r)
    return dict(total)


def pct(a: int, b: int) -> str:
    return f"{a}/{b} ({100.0 * a / b:.1f}%)" if b else "0/0 (none failed)"


def report(c: dict, seconds: float) -> bool:
    """Print the figures; True when every must-hold holds."""
    n, failed = c.get("uploads", 0), c.get("failed", 0)
    print(f"uploads:                    {n} in {seconds:.0f} s")
    kinds = ", ".join(f"{k[6:]} {v}" for k, v in sorted(c.items()) if k.startswith("fault "))
    print(
        f"storms:                     {c.get('storms', 0)} uploads with ~{STORM_MEAN} faults "
        "and one retry"
    )
    print(
        f"faults injected:            {c.get('faults', 0)} in {c.get('faulted uploads', 0)} "
        f"uploads ({kinds})"
    )
    clean, faulted = n - c.get("faulted uploads", 0), c.get("faulted uploads", 0)
    print(
        f"seconds per upload:         {c.get('seconds clean', 0) / max(clean, 1):.2f} clean, "
        f"{c.get('seconds faulted', 0) / max(faulted, 1):.2f} faulted"
    )
    print(f"uploads completed:          {pct(c.get('completed', 0), n)}")
    print(f"corrupt blobs bound:        {c.get('corrupt', 0)}")
    print(f"boards usable afterwards:   {pct(c.get('usable', 0), n)} without a reboot")
    lost = c.get("names lost to a soft reboot", 0)
    print(f"old names kept on failure:  {pct(c.get('old kept', 0), failed + lost)}")
    if lost:
        print(
            f"  the other {lost}: soft reboots. Damaged bytes put a Ctrl-D on an empty raw "
            "REPL line\n  and the firmware reset, wiping its RAM; upload() said so "
            f"(StateLost) {lost - c.get('names lost, not reported', 0)} times of {lost}."
        )
    print(f"partial buffers left:       {c.get('buffers left', 0)} (freed by the next upload)")
    print(f"failed, new blob bound:     {c.get('new bound, reported failed', 0)}")
    for k, v in sorted(c.items()):
        if k.startswith("error: "):
            print(f"  {v:5}  {k}")
    return (
        c.get("corrupt", 0) == 0
        and c.get("usable", 0) == n
        and c.get("old kept", 0) == failed
        and lost == 0
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--uploads", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--board", default="QEMU_STM32F405")
    ap.add_argument(
        "--jobs", type=int, default=max(1, os.cpu_count() // 2), help="boards run at once"
    )
    ap.add_argument("--timeout", type=float, default=2.0, help="seconds per upload step")
    a = ap.parse_args()
    from microai.boards import load_board
    from microai.firmware import build

    build(load_board(a.board))
    start = time.monotonic()
    c = campaign(a.board, a.uploads, a.seed, a.jobs, a.timeout)
    return 0 if report(c, time.monotonic() - start) else 1


if __name__ == "__main__":
    sys.exit(main())
