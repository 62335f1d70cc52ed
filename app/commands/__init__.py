"""One module per ``runyard`` sub-command: ``add_parser(sub)`` and ``run(args)``."""
