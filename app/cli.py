"""The ``runyard`` command: one readable line on stderr for every error."""

import argparse
import sys

from runyard.engine.errors import AmbiguousRun, RunNotFound, RunyardError, UsageError

from .commands import control, dash, demo, doctor, flow, ls, run, show, sync
from .safe_text import one_line

COMMANDS = (dash, ls, show, run, flow, sync, demo, doctor)


class Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, not a usage dump
        self.exit(2, f"{self.prog}: {message} (see '{self.prog} --help')\n")


def root_option(parser: argparse.ArgumentParser, default=None) -> None:
    parser.add_argument("--root", metavar="DIR", default=default,
                        help="runs directory (default: $RUNYARD_ROOT, 'root' in "
                             "runyard.toml, else ./runs)")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="runyard", description="A local-first run yard for simulations "
                    "and experiments.")
    root_option(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    for command in COMMANDS:
        child = command.add_parser(sub)
        root_option(child, default=argparse.SUPPRESS)
        child.set_defaults(handler=command.run)
    for child in control.add_parsers(sub):
        root_option(child, default=argparse.SUPPRESS)
        child.set_defaults(handler=control.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    command_argv = None
    if "run" in argv and "--" in argv and argv.index("run") < argv.index("--"):
        split = argv.index("--")  # `runyard run [options] -- COMMAND ...`
        argv, command_argv = argv[:split], argv[split + 1:]
    parser = build_parser()
    args = parser.parse_args(argv)
    if command_argv is not None:
        args.command_argv = command_argv
    if getattr(args, "handler", None) is None:  # plain `runyard`: the dashboard
        args.handler, args.poll, args.no_poll = dash.run, None, False
    try:
        return args.handler(args)
    except (RunNotFound, AmbiguousRun, UsageError) as exc:
        return fail(exc, 2)
    except RunyardError as exc:
        return fail(exc, 1)
    except ValueError as exc:  # a checked argument (name, folder, tag, metadata)
        return fail(exc, 2)
    except BrokenPipeError:  # `runyard ls | head`
        sys.stderr.close()
        return 0
    except OSError as exc:  # a file refused (a link planted in a run) or the disk
        return fail(exc, 1)
    except KeyboardInterrupt:
        print("runyard: interrupted", file=sys.stderr)
        return 130


def fail(error: Exception, code: int) -> int:
    """One line on stderr: an error may quote a run's name or file, shown as data."""
    print(f"runyard: {one_line(error, limit=2000)}", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
