"""CLI subcommands; each module provides `add_parser(subparsers)` and sets `run` on its parser."""
