"""One module per ``runyard`` sub-command: ``add_parser(sub)`` (``add_parsers`` for
several) and ``run(args)``.

COMMANDS names each command's module and gives the line ``runyard --help`` shows
for it, so that ``runyard`` loads only the module of the command it runs.
"""

COMMANDS = {
    "dash": ("dash", "open the dashboard (the default command)"),
    "ls": ("ls", "list runs"),
    "show": ("show", "show one run"),
    "run": ("run", "start a run"),
    "flow": ("flow", "prepare and run a flow"),
    "sync": ("sync", "move offline runs from a spool into the root"),
    "demo": ("demo", "create a demo runs directory and open it"),
    "doctor": ("doctor", "check the terminal and the runs directory"),
    "pause": ("control", "freeze a running run (no CPU used while paused)"),
    "resume": ("control", "continue a paused run, or start a new attempt of a terminated, "
                          "lost or failed one"),
    "close": ("control", "stop a run gracefully; it can be resumed later"),
}


def help_of(name: str) -> str:
    return COMMANDS[name][1]
