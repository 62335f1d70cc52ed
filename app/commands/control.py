"""``runyard pause|resume|close RUN``."""

import sys
import warnings

from runyard.engine import control as engine
from runyard.engine import resolve_root
from runyard.engine.spec import ModuleChanged

from ..arguments import seconds
from ..formatting import run_label
from ..safe_text import one_line
from . import help_of


def add_parsers(sub):
    for verb in ("pause", "resume", "close"):
        text = help_of(verb)
        parser = sub.add_parser(verb, help=text, description=text[0].upper() + text[1:] +
                                ". RUN is an id, an id prefix or a name.")
        parser.add_argument("run", metavar="RUN")
        if verb == "close":
            parser.add_argument("--wait", type=seconds, metavar="SECONDS",
                                help="wait up to SECONDS for the run to end")
        parser.set_defaults(verb=verb)
        yield parser


def run(args) -> int:
    root = resolve_root(args.root)
    if args.verb == "pause":
        info = engine.pause(root, args.run)
        print(f"Pausing run {run_label(info)}")
    elif args.verb == "resume":
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ModuleChanged)
            info = engine.resume(root, args.run)
        for warning in caught:  # a run module changed since the run recorded it
            print(f"runyard: warning: {one_line(warning.message, limit=2000)}",
                  file=sys.stderr)
        print(f"Resumed run {run_label(info)}, attempt {info.attrs.get('attempt')}")
    else:
        info = engine.close(root, args.run, wait=args.wait)
        print(f"Closing run {run_label(info)}" +
              (f": {info.status}" if args.wait else ""))
    return 0
