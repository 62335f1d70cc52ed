"""runyard.app: the command line and the Textual dashboard.

Importing this package loads nothing heavy: textual is imported only by the
commands that open the dashboard.
"""
