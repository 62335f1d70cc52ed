"""Step 1 of the example flow: each instance's non-empty lines, numbered, into
``<instance name>.lines`` in the step's run folder. Progress is saved after every
line, so an interrupted step resumes where it stopped."""

import os
import time

from runyard.engine import current_run, params


def run(instance, save, state):
    with open(instance) as source:
        lines = [line.rstrip("\n") for line in source if line.strip()]
    name = os.path.basename(instance).rsplit(".", 1)[0]
    done = int(state or 0)
    pause = float(params().get("delay", 0.0))  # seconds per line, to watch it live
    with open(f"{name}.lines", "a") as out:
        for number in range(done, len(lines)):
            out.write(f"{number + 1}\t{lines[number]}\n")
            out.flush()
            save(str(number + 1))
            current_run().log_metrics({"lines": number + 1})
            time.sleep(pause)
