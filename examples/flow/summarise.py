"""Step 2 of the example flow: one summary per ``.lines`` file from step 1, then,
once all are done, ``summary.txt`` over all of them."""

import glob
import json
import os

from runyard.engine import current_run, params


def run(instance, save, state):
    with open(instance) as source:
        rows = [line.rstrip("\n").split("\t", 1)[1] for line in source if "\t" in line]
    words = [word for row in rows for word in row.split()]
    longest = sorted(set(words), key=lambda w: (-len(w), w))[: int(params().get("top", 3))]
    name = os.path.basename(instance).rsplit(".", 1)[0]
    with open(f"{name}.summary.json", "w") as out:
        json.dump({"file": name, "lines": len(rows), "words": len(words),
                   "longest": longest}, out)
    current_run().log_metrics({"words": len(words)})
    save("written")


def done():
    summaries = []
    for path in sorted(glob.glob("*.summary.json")):
        with open(path) as source:
            summaries.append(json.load(source))
    with open("summary.txt", "w") as out:
        for item in summaries:
            out.write(f"{item['file']}: {item['lines']} lines, {item['words']} words, "
                      f"longest: {', '.join(item['longest'])}\n")
        out.write(f"total: {sum(i['lines'] for i in summaries)} lines, "
                  f"{sum(i['words'] for i in summaries)} words\n")
