"""A stand-in for a user's process: starts a run, then beats and logs until killed.

Usage: child_run.py ROOT NAME TIMEOUT BEAT_EVERY. Prints the run id once started.
"""

import sys
import time
from pathlib import Path

from runyard.engine import beat, init_run_meta, make_run, start_run
from runyard.engine.jsonl import JsonlWriter
from runyard.engine.layout import METRICS
from runyard.engine.series import metric_record

root, name, timeout, beat_every = Path(sys.argv[1]), sys.argv[2], float(sys.argv[3]), \
    float(sys.argv[4])
paths = make_run(root)
init_run_meta(paths, name=name, timeout=timeout)
start_run(paths)
print(paths.id, flush=True)
writer = JsonlWriter(paths.meta(METRICS))
step = 0
while True:
    writer.append([metric_record(step, step * beat_every, time.time(), {"x": step})])
    beat(paths)
    step += 1
    time.sleep(beat_every)
