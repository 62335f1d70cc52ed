"""``runyard ls`` prints exactly what it printed before the listing was made quicker
(issue 11): the same bytes, for a root with every status, good runs of every shape
and hostile runs of many kinds (tests/listing_root.py). The pinned output,
tests/listing_exact.json, was recorded by the listing as it was before.

To record it again after a change that is meant to change the output:
``python tests/test_listing_exact.py``, and say why in the commit.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import listing_root

PINNED = Path(__file__).with_name("listing_exact.json")
COMMANDS = {
    "ls --json": ["ls", "--json"],
    "ls": ["ls"],
    "ls --json --status lost": ["ls", "--json", "--status", "lost"],
    "ls --json --status unreadable": ["ls", "--json", "--status", "unreadable"],
    "ls --json --folder /sweep/1": ["ls", "--json", "--folder", "/sweep/1"],
    "ls --json --tag g2": ["ls", "--json", "--tag", "g2"],
}


def listings(root: Path, commands: dict) -> dict:
    """What each command prints on ``root`` (stdout, stderr, exit code), the root's
    path written ROOT."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RUNYARD_")}
    env.update(RUNYARD_HOST=listing_root.HOST, TZ="UTC", LC_ALL="C.UTF-8")
    out = {}
    for what, args in commands.items():
        result = subprocess.run([sys.executable, "-m", "runyard.app.cli", *args,
                                 "--root", str(root)], capture_output=True, env=env,
                                timeout=120)
        out[what] = [text.decode("utf-8", "surrogateescape").replace(str(root), "ROOT")
                     for text in (result.stdout, result.stderr)] + [result.returncode]
    return out


def recorded(tmp: Path) -> dict:
    listing_root.build(tmp / "all")
    listing_root.build(tmp / "big", extra_hostile=False)
    return {"all": listings(tmp / "all", COMMANDS),
            "big": listings(tmp / "big", {"ls --json": ["ls", "--json"]})}


def test_ls_prints_byte_for_byte_what_it_printed_before(tmp_path):
    pinned = json.loads(PINNED.read_text())
    got = recorded(tmp_path)
    for root in pinned:
        for what in pinned[root]:
            assert got[root][what] == pinned[root][what], (root, what)
    statuses = {run["status"] for run in json.loads(got["all"]["ls --json"][0])}
    assert statuses == {"created", "running", "paused", "completed", "failed",
                        "terminated", "lost", "unreadable"}


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        PINNED.write_text(json.dumps(recorded(Path(folder)), indent=1, ensure_ascii=True)
                          + "\n")


def test_ls_json_is_text_in_the_encoding_of_stdout(tmp_path):
    """ls --json writes bytes straight to stdout's buffer only where the stream's
    encoding writes ASCII as ASCII; in any other (UTF-16 here) it is the same text."""
    listing_root.build(tmp_path / "all")
    env = {k: v for k, v in os.environ.items() if not k.startswith("RUNYARD_")}
    out = {}
    for encoding in ("utf-8", "utf-16", "latin-1"):
        out[encoding] = subprocess.run(
            [sys.executable, "-m", "runyard.app.cli", "ls", "--json", "--root",
             str(tmp_path / "all")], capture_output=True, timeout=120, check=True,
            env={**env, "PYTHONIOENCODING": encoding, "RUNYARD_HOST": listing_root.HOST}
        ).stdout.decode(encoding)
    assert out["utf-16"] == out["utf-8"] == out["latin-1"]
    assert out["utf-8"].isascii() and out["utf-8"].startswith('[{"id":')
