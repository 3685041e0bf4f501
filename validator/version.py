"""The package version (its own module: `report` and `cache` read it without importing the
package's public surface)."""

__version__ = "0.1.0"
