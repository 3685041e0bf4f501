"""Replica training-clip validator.

from validator import validate, Settings
report = validate("clip.mp4", settings=Settings(profile="phoenix-3"))
report.passed, report.results, report.to_dict()
"""

from .errors import ModelError, SettingsError, ToolError, UsageError, ValidatorError  # noqa: E402
from .pipeline import validate  # noqa: E402
from .report import Report, Result  # noqa: E402
from .settings import Settings  # noqa: E402
from .version import __version__

__all__ = [
    "validate",
    "Settings",
    "Report",
    "Result",
    "ValidatorError",
    "UsageError",
    "SettingsError",
    "ToolError",
    "ModelError",
    "__version__",
]
