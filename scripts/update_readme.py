"""Regenerate the README's rule table from the registry (between the `rules:start/end` markers).

python scripts/update_readme.py          # rewrite README.md
python scripts/update_readme.py --check  # exit 1 if README.md is out of date
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from validator.commands.rules import markdown_table  # noqa: E402
from validator.registry import load_all  # noqa: E402

START, END = "<!-- rules:start -->", "<!-- rules:end -->"


def expected(text: str) -> str:
    head, _, rest = text.partition(START)
    _, _, tail = rest.partition(END)
    return f"{head}{START}\n{markdown_table(list(load_all().values()))}{END}{tail}"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args()
    readme = ROOT / "README.md"
    text = readme.read_text(encoding="utf-8")
    if START not in text or END not in text:
        print("README.md has no rules:start/rules:end markers", file=sys.stderr)
        return 1
    new = expected(text)
    if args.check:
        if new != text:
            print(
                "README.md rule table is out of date: run python scripts/update_readme.py",
                file=sys.stderr,
            )
            return 1
        return 0
    readme.write_text(new, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
