"""`validator prepare IN -o OUT`: repair what can be repaired, say what cannot, prove it."""

from __future__ import annotations

import argparse
import json

from ..progress import Progress
from ._common import add_settings_options, settings_from_args, write_output

ORDER = 20


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "prepare",
        help="repair a clip into an upload-ready MP4 (container, codec, rotation, HDR, frame rate, trim)",
        description="Validate IN, plan the repairs, write OUT (a temporary file renamed into place only "
        "after it validates) and print a before/after table. Exit codes as for `check` on OUT: "
        "0 passed, 1 still fails (problems no preprocessing can fix), 2 usage error, "
        "3 the tool could not finish (OUT untouched).",
    )
    p.add_argument("input", metavar="IN", help="the clip to repair (never modified)")
    p.add_argument(
        "-o",
        "--output",
        metavar="OUT",
        help="where to write the repaired .mp4 (for a photo: .jpg or .png)",
    )
    p.add_argument(
        "--trim",
        choices=["auto", "none"],
        default="auto",
        help="auto: cut extra footage before the first word and after the listening time "
        "(by the voice segments); none: keep everything (default auto)",
    )
    p.add_argument("--dry-run", action="store_true", help="print the plan and write nothing")
    p.add_argument(
        "--keep-metadata",
        action="store_true",
        help="copy the input's metadata (device make/model, location, dates); off by default",
    )
    p.add_argument(
        "--loudness",
        action="store_true",
        help="gentle loudness normalisation by gain only (no filtering)",
    )
    p.add_argument(
        "--reencode", action="store_true", help="re-encode the video even when it could be copied"
    )
    p.add_argument("--overwrite", action="store_true", help="replace OUT if it exists (never IN)")
    p.add_argument(
        "--format", choices=["text", "json"], default="text", help="output format (default text)"
    )
    add_settings_options(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..prepare import PrepareOptions, prepare, proof

    settings = settings_from_args(args)
    options = PrepareOptions(
        trim=args.trim,
        keep_metadata=args.keep_metadata,
        loudness=args.loudness,
        reencode=args.reencode,
        overwrite=args.overwrite,
    )
    # The same progress line as `check` ("[0/1 done] clip.mp4 decode 40%"), on a terminal only.
    bar = Progress(1)
    progress = (lambda stage, f: bar.stage(args.input, stage, f)) if bar.enabled else None
    if args.output is None and not args.dry_run:
        from ..errors import UsageError

        raise UsageError(
            "prepare needs -o OUT.mp4 (OUT.jpg or OUT.png for a photo), or --dry-run to see the plan"
        )
    try:
        result = prepare(
            args.input, args.output, settings, options, dry_run=args.dry_run, progress=progress
        )
    finally:
        bar.close()
    if args.format == "json":
        doc = {
            "input": args.input,
            "output": str(result.output) if result.output else None,
            "dry_run": bool(args.dry_run),
            "plan": result.plan.to_dict(),
            "changes": [],
            "exit_code": result.exit_code,
            "before": result.before.to_dict(),
            "after": result.after.to_dict() if result.after else None,
        }
        if result.after is not None:
            doc["changes"] = [
                {
                    "rule": c.rule,
                    "name": c.name,
                    "before": c.before.status if c.before else None,
                    "after": c.after.status if c.after else None,
                }
                for c in proof.changes(result.before, result.after)
            ]
        write_output(json.dumps(doc, indent=2) + "\n", None)
        return result.exit_code
    text = [f"Plan for {args.input}:", "", result.plan.describe()]
    if args.dry_run:
        text.append("Dry run: nothing was written.\n")
    elif result.after is not None:
        text += [
            f"Wrote {result.output}",
            "",
            "Before -> after:",
            proof.table(result.before, result.after),
        ]
        fails = [r for r in result.after.failures]
        if result.after.passed:
            text.append(f"{result.output}: passes every selected rule.\n")
        else:
            ids = ", ".join(sorted({r.rule for r in fails}))
            redo = "a new photo" if result.after.kind == "photo" else "a new recording"
            text.append(
                f"{result.output}: still fails ({ids}); these need {redo} or a better source.\n"
            )
    else:
        text.append("Nothing was written.\n")
    write_output("\n".join(text), None)
    return result.exit_code
