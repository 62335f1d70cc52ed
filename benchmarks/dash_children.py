"""The other processes of ``benchmarks/dashboard.py``, as scripts it writes to a temp file.

Each reads its orders on stdin and answers on stdout, one line each; times are
``time.monotonic()``, which on Linux is one clock for every process.
"""

# The comparator for the first screen: a bare Textual DataTable with as many rows.
BARE_APP = """
import sys
from textual.app import App
from textual.widgets import DataTable, Static

ROWS = int(sys.argv[1])

class Bare(App):
    def compose(self):
        yield Static(f"{ROWS} rows")
        yield DataTable()

    def on_mount(self):
        table = self.query_one(DataTable)
        table.add_columns("name", "status", "metric", "folder")
        table.add_rows((f"bare-{i:06d}", "completed", f"{i * 0.5:.4g}", f"/sweep/{i % 20}")
                       for i in range(ROWS))

Bare().run()
"""

# One run logging RATE points a second (3 metrics) until its stdin closes.
LOGGER = """
import select, sys, time
from runyard.engine import Run
root, name, rate = sys.argv[1], sys.argv[2], float(sys.argv[3])
run = Run(root=root)
run.config(disable_resources_metrics=True)
run.init(name=name)
print(run.id, flush=True)
period, step = 1 / rate, 0
due = time.monotonic()
while True:
    run.log_metrics({"loss": 1 / (step + 1), "acc": step * 0.001, "lr": 0.01})
    step += 1
    due += period
    ready, _, _ = select.select([sys.stdin], [], [], max(0.0, due - time.monotonic()))
    if ready and not sys.stdin.readline():
        break
run.close()
print(step, flush=True)
"""

# One run logging each value it reads as metric "loss"; answers the time of each call.
WRITER = """
import sys, time
from runyard.engine import Run
root, name = sys.argv[1], sys.argv[2]
run = Run(root=root)
run.config(disable_resources_metrics=True)
run.init(name=name)
print(run.id, flush=True)
for line in sys.stdin:
    value = float(line)
    sent = time.monotonic()
    run.log_metrics({"loss": value})
    print(sent, flush=True)
run.close()
"""

# The floor for a value on screen: the metrics file polled every millisecond for each
# value it is told about; answers the time it was found.
POLLER = """
import re, sys, time
path = sys.argv[1]
seen = b""
position = 0
for line in sys.stdin:
    wanted = re.compile(rb"(?<![0-9.])" + re.escape(line.strip().encode()) + rb"(?![0-9])")
    print("ready", flush=True)
    while True:
        try:
            with open(path, "rb") as f:
                f.seek(position)
                chunk = f.read()
        except FileNotFoundError:
            chunk = b""
        position += len(chunk)
        seen = seen[-200:] + chunk
        if wanted.search(seen):
            print(time.monotonic(), flush=True)
            seen = b""
            break
        time.sleep(0.001)
"""

# A completed run of STEPS steps x 3 metrics, through the tracking API.
BIG_RUN = """
import sys
from runyard.engine import Run
root, steps = sys.argv[1], int(sys.argv[2])
name = sys.argv[3] if len(sys.argv) > 3 else "big-history"
run = Run(root=root)
run.config(disable_resources_metrics=True, queue_blocking=True)
run.init(name=name)
for step in range(steps):
    run.log_metrics({"loss": 1 / (step + 1) + (step % 97) * 1e-4, "acc": step / steps,
                     "lr": 0.1 * 0.5 ** (step // 20000)}, step=step)
run.close()
print(run.id)
"""
