"""Checks judge and never touch media.  One module per rule family (med.py, seg.py, aud.py,
fac.py, mth.py, img.py, edt.py); every module in this package is imported so its `@rule`
functions register.  Adding a family means adding a module, nothing else."""

import importlib
import pkgutil

for _m in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
    importlib.import_module(f"{__name__}.{_m.name}")
