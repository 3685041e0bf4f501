"""`validator rules [ID]`: the rule catalogue, generated from the registry."""

from __future__ import annotations

import argparse
import json
import re

from ..errors import UsageError
from ..registry import Rule, load_all, matches
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
    single = False
    if args.rule:
        key = args.rule.strip()
        r = rules.get(key.upper()) or next(
            (x for x in rules.values() if x.name == key.lower()), None
        )
        if r is not None:
            selected, single = [r], True
        else:  # a family or prefix, exactly as --select takes it ("MED", "FAC00")
            selected = [x for x in rules.values() if matches(x.id, (key.upper(),))]
            if not selected:
                raise UsageError(
                    f"{args.rule}: no such rule, family or prefix (see `validator rules`)"
                )
    else:
        selected = list(rules.values())
    if args.format == "json":
        write_output(json.dumps([rule_dict(r) for r in selected], indent=2) + "\n", None)
    elif args.format == "markdown":
        write_output(markdown_table(selected), None)
    elif single:
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
        "doc": public_doc(r.doc),
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
    doc = public_doc(r.doc)
    if doc:
        out += [doc, ""]
    if "How to fix" not in doc:  # the documentation's own paragraph says it, with the reasons
        out.append(f"How to fix: {r.hint}")
    else:
        out.pop()
    if "Calibration" in doc:
        out += ["", PUBLIC_SOURCES_NOTE]
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


# The rules' calibration notes name the test clips by their short names in the test-media folder,
# which users never see: name their public source instead.
_SOURCES: list[tuple[str, str]] = [
    (r"grid_(\w+?)(?:\.mpg)?", r"GRID corpus clip \1"),
    (r"lp_src_(s\d+)(?:\.mp4)?", r"LivePortrait example source/\1"),
    (r"lp_(d\d+)(?:\.mp4)?", r"LivePortrait example driving/\1"),
    (r"lp_(s\d+)(?:\.jpg)?", r"LivePortrait example photo \1"),
    (r"fr_short_hamilton_clip(?:\.mp4)?", "face_recognition's example short_hamilton_clip"),
    (r"sadtalker_(\w+?)(?:\.mp4)?", r"SadTalker example \1"),
    (r"st_(\w+?)(?:\.png)?", r"SadTalker example image \1"),
    (r"dfrf_french(?:\.mp4)?", "DFRF's example french.mp4"),
    (r"w2lgfpgan_kim_7s_raw(?:\.mp4)?", "Wav2Lip-GFPGAN's example kim_7s_raw"),
    (r"rtvc_librispeech_(\d+)_\d+(?:\.mp3)?", r"LibriSpeech speaker \1"),
    (r"rtvc_vctk_(p\d+)_\d+(?:\.mp3)?", r"VCTK speaker \1"),
    (r"musetalk_eng(?:\.wav)?", "MuseTalk's example eng.wav"),
    (r"whisper_jfk(?:\.flac)?", "the JFK 1961 address excerpt"),
    (r"dfn_noise_freesound_(\d+)(?:\.wav)?", r"freesound noise clip \1"),
]
_SOURCE_RE = [
    (re.compile(r"\b(?:\.\./shared/media/)?(?:real/|audio/|photos/)?" + pat + r"\b"), rep)
    for pat, rep in _SOURCES
]
_SHARED_RE = re.compile(r"`?\.\./shared/media/?`?")
PUBLIC_SOURCES_NOTE = (
    "Calibration clips are public recordings: the GRID corpus (CC BY 4.0), LivePortrait's, "
    "SadTalker's and face_recognition's example clips, LibriSpeech and VCTK (CC BY 4.0)."
)


def public_doc(doc: str | None) -> str:
    """The documentation with test-media file names replaced by their public sources."""
    if not doc:
        return ""
    out = doc
    for rx, rep in _SOURCE_RE:
        out = rx.sub(rep, out)
    out = _SHARED_RE.sub("the calibration set", out)
    return out
