"""The package's own error types.

`validate()` raises these for a bad *call* (missing path, unknown profile, invalid setting) and
for a tool failure (a model file missing or corrupt).  A bad *clip* never raises: it becomes a
failing report.  Each error carries the CLI exit code it maps to.
"""

from __future__ import annotations

# The exit codes, defined once (cli.py, batch.py and the commands import them).
EXIT_PASS, EXIT_FAIL, EXIT_USAGE, EXIT_TOOL = 0, 1, 2, 3


class ValidatorError(Exception):
    """Base class of every error this package raises on purpose."""

    exit_code = EXIT_TOOL


class UsageError(ValidatorError):
    """The call itself is wrong: a path that does not exist, a directory, a bad argument."""

    exit_code = 2


class SettingsError(UsageError):
    """A setting is unknown or out of its allowed range; the message names key and range."""


class ClipError(ValidatorError):
    """The clip itself is too damaged for the requested output (`prepare` on a file whose
    timing or streams are broken): exit 1, like a failing clip, with the reason."""

    exit_code = 1


class ToolError(ValidatorError):
    """The tool could not finish: a model file missing or corrupt, an internal failure."""

    exit_code = 3


class ModelError(ToolError):
    """A bundled model file is missing or does not match its recorded checksum."""
