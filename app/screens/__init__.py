"""The dashboard's screens, one per file."""
