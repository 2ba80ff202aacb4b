"""Ctrl-C in the middle of a storm: every open the kernel reported is shown or counted
lost (`pybpf run trace_open -o json`), none vanishes with a batch being presented."""
from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# opens of unique missing names until killed; prints how many it did on SIGTERM
STORM = """
import os, signal, sys
tag, n = sys.argv[1], 0
def done(*_):
    print(n, flush=True)
    os._exit(0)
signal.signal(signal.SIGTERM, done)
sys.stdout.write("ready\\n"); sys.stdout.flush()
sys.stdin.read(1)
while True:
    try:
        os.open(f"/nonexistent/{tag}.{n}", os.O_RDONLY)
    except OSError:
        pass
    n += 1
"""


def test_interrupt_mid_storm_keeps_the_count():
    tag = f"pbi{uuid.uuid4().hex[:10]}"
    storm = subprocess.Popen([sys.executable, "-c", STORM, tag], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
    assert storm.stdout.readline() == "ready\n"
    tool = subprocess.Popen([sys.executable, "-m", "pybpf", "run", "trace_open", "-o", "json",
                             "--pid", str(storm.pid), "--ring-size", "64K"],
                            cwd=str(ROOT), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    chunks: list = []  # read all along, as a consumer of the output does
    reader = threading.Thread(target=lambda: chunks.append(tool.stdout.read()), daemon=True)
    reader.start()
    try:
        time.sleep(4)  # loaded and attached (a cold start included)
        storm.stdin.write("g")
        storm.stdin.flush()
        time.sleep(2)
        tool.send_signal(signal.SIGINT)  # while events keep coming
        tool.wait(timeout=30)
        reader.join(timeout=10)
        out, err = chunks[0], tool.stderr.read()
    finally:
        storm.send_signal(signal.SIGTERM)
        done = int(storm.communicate(timeout=10)[0].strip() or 0)
        if tool.poll() is None:
            tool.kill()
    assert tool.returncode == 0 and "Traceback" not in err, err
    seen, lost = set(), 0
    for number, line in enumerate(out.splitlines()):
        try:
            doc = json.loads(line)
        except ValueError:  # a cut line: say where, with what came before and after
            around = out.splitlines()[max(number - 1, 0):number + 2]
            raise AssertionError(f"line {number} is not whole: {around!r}; stderr: {err!r}") from None
        if doc.get("type") == "lost":
            lost = doc["lost_total"]
        elif doc.get("fname", "").startswith(f"/nonexistent/{tag}."):
            seen.add(int(doc["fname"].rsplit(".", 1)[1]))
    assert done > 1000 and seen
    # every open before the last one shown was shown or counted lost; none after the
    # interrupt is expected (the tool stopped reading)
    shown_through = max(seen) + 1
    assert shown_through - len(seen) <= lost, (shown_through, len(seen), lost)
