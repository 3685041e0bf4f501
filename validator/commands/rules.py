"""`validator rules [ID]`: the rule catalogue, generated from the registry."""

from __future__ import annotations

import argparse
import json

from ..errors import UsageError
from ..registry import Rule, load_all
from ._common import write_output

ORDER = 90


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("rules", help="list the rules, or show one rule's documentation")
    p.add_argument(
        "rule", nargs="?", metavar="ID", help="a rule ID (e.g. FAC003) or name (face-too-small)"
    )
    p.add_argument("--format", default="text", choices=["text", "json", "markdown"])
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    rules = load_all()
    if args.rule:
        key = args.rule.strip()
        r = rules.get(key.upper()) or next(
            (x for x in rules.values() if x.name == key.lower()), None
        )
        if r is None:
            raise UsageError(f"{args.rule}: no such rule (see `validator rules`)")
        selected = [r]
    else:
        selected = list(rules.values())
    if args.format == "json":
        write_output(json.dumps([rule_dict(r) for r in selected], indent=2) + "\n", None)
    elif args.format == "markdown":
        write_output(markdown_table(selected), None)
    elif args.rule:
        write_output(rule_text(selected[0]), None)
    else:
        lines = [f"{r.id}  {r.name:<30} {r.severity:<8} {r.summary}" for r in selected]
        write_output("\n".join(lines) + "\n", None)
    return 0


def rule_dict(r: Rule) -> dict:
    return {
        "id": r.id,
        "name": r.name,
        "severity": r.severity,
        "summary": r.summary,
        "hint": r.hint,
        "needs": list(r.needs),
        "doc": r.doc,
        "params": [
            {
                "name": p.name,
                "default": p.default,
                "minimum": p.minimum,
                "maximum": p.maximum,
                "by_profile": dict(p.by_profile),
                "doc": p.doc,
            }
            for p in r.params
        ],
    }


def rule_text(r: Rule) -> str:
    out = [f"{r.id} {r.name} ({r.severity})", "", r.summary, ""]
    if r.doc:
        out += [r.doc, ""]
    out.append(f"How to fix: {r.hint}")
    if r.params:
        out += [
            "",
            "Parameters (set with --set "
            + r.id
            + ".NAME=VALUE or [tool.validator.rules."
            + r.id
            + "]):",
        ]
        for p in r.params:
            prof = "".join(f", {k}: {v}" for k, v in p.by_profile.items())
            out.append(f"  {p.name} = {p.default}{prof}{p.range_text()}: {p.doc}")
    return "\n".join(out) + "\n"


def markdown_table(rules: list[Rule]) -> str:
    rows = ["| ID | name | severity | fails when |", "| --- | --- | --- | --- |"]
    rows += [f"| {r.id} | {r.name} | {r.severity} | {r.summary} |" for r in rules]
    return "\n".join(rows) + "\n"
