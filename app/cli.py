"""The ``runyard`` command: one readable line on stderr for every error."""

import argparse

# argparse's messages go through gettext, which imports locale the first time: it is
# loaded with the command line, so that parsing reads no more files (a process that
# drops its privileges after importing runyard parses as before).
import locale  # noqa: F401
import sys
from importlib import import_module

from runyard.engine.errors import AmbiguousRun, RunNotFound, RunyardError, UsageError

from .commands import COMMANDS
from .safe_text import one_line


class Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, not a usage dump
        self.exit(2, f"{self.prog}: {message} (see '{self.prog} --help')\n")


class _NotUnderstood(Exception):
    """The first look at the arguments did not understand them: the full parse will say."""


class _FirstLook(argparse.ArgumentParser):
    def error(self, message: str):
        raise _NotUnderstood(message)


def root_option(parser: argparse.ArgumentParser, default=None) -> None:
    parser.add_argument("--root", metavar="DIR", default=default,
                        help="runs directory (default: $RUNYARD_ROOT, 'root' in "
                             "runyard.toml, else ./runs)")


def command_module(name: str):
    """The module of command ``name``, loaded now (each command loads only its own)."""
    return import_module(f".commands.{COMMANDS[name][0]}", __package__)


def chosen_command(argv: list[str]) -> str | None:
    """The command ``argv`` names, found by the top-level options alone; None if none
    (``parse`` finds out what else)."""
    first = _FirstLook(add_help=False)
    root_option(first)
    first.add_argument("command", nargs="?")
    try:
        known, _rest = first.parse_known_args(argv)
    except _NotUnderstood:
        return None
    return known.command if known.command in COMMANDS else None


def build_parser(chosen: str | None = None) -> argparse.ArgumentParser:
    """The parser of every command; only ``chosen``'s module is loaded to give its
    options, the others are listed by name and help."""
    parser = Parser(prog="runyard", description="A local-first run yard for simulations "
                    "and experiments.")
    root_option(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    for name, (module_name, text) in COMMANDS.items():
        if name in sub.choices:
            continue  # added with another command of its module
        if chosen is None or module_name != COMMANDS[chosen][0]:
            sub.add_parser(name, help=text, add_help=False).set_defaults(unloaded=name)
            continue
        module = command_module(name)
        adding = getattr(module, "add_parsers", None)
        for child in adding(sub) if adding else [module.add_parser(sub)]:
            root_option(child, default=argparse.SUPPRESS)
            child.set_defaults(handler=module.run)
    return parser


def parse(argv: list[str]) -> argparse.Namespace:
    chosen = chosen_command(argv)
    if chosen is None:  # none at first look: the whole parser says which, if any
        chosen = getattr(build_parser().parse_known_args(argv)[0], "unloaded", None)
    return build_parser(chosen).parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    command_argv = None
    if "run" in argv and "--" in argv and argv.index("run") < argv.index("--"):
        split = argv.index("--")  # `runyard run [options] -- COMMAND ...`
        argv, command_argv = argv[:split], argv[split + 1:]
    args = parse(argv)
    if command_argv is not None:
        args.command_argv = command_argv
    if getattr(args, "handler", None) is None:  # plain `runyard`: the dashboard
        args.handler, args.poll, args.no_poll = command_module("dash").run, None, False
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
