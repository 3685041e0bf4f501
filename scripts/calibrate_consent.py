"""Calibration of the CON rules: consent statements generated with espeak-ng (six voices, both
wordings, clean and with real room noise at 10 dB SNR), real speech from ../shared/media/audio
that is not a consent statement, truncated statements, and a name-confusion matrix.

    .venv/bin/python scripts/calibrate_consent.py [--media ../shared/media] > calib.jsonl

Needs the [consent] extra and espeak-ng.  Prints one JSON line per recognised clip, then a summary
(score ranges, longest run of missing words, name similarity same/different).  The figures in
validator/checks/con.py ("Calibration") come from this script.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

import audiomix as am  # noqa: E402
import consentgen as cg  # noqa: E402

from validator.analysis import consent as c  # noqa: E402
from validator.settings import Settings  # noqa: E402

PRESENT_SHARE = float(Settings().rule_params("CON001").min_present_share)

NAMES = (
    "Jane Doe",
    "Mohammed Al-Farsi",
    "Siobhan O'Connor",
    "Wei Zhang",
    "Kristoffer Johansson",
    "Priya Raghunathan",
    "John Smith",
    "Maria Garcia",
    "Olusegun Adeyemi",
    "Emily Clarke",
    "Tomasz Kowalski",
    "Hannah Becker",
)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--media", type=Path, default=ROOT.parent / "shared" / "media")
    args = ap.parse_args()
    t = time.perf_counter()
    c.load_recogniser()
    print(json.dumps({"load_s": round(time.perf_counter() - t, 2)}), flush=True)
    noise = am.noise_recording(args.media, 20.0)
    rows = []

    retry_rows = []

    def run(kind: str, label: str, x, name: str | None = None) -> None:
        t = time.perf_counter()
        words, text = c.recognise(x[: int(c.WINDOW_START_S * 16000)])
        dt = time.perf_counter() - t
        ev = c.evidence_from_words(
            "start", len(x) / 16000, words, text, dt, min_present_share=PRESENT_SHARE
        )
        m = ev.match
        row = {
            "kind": kind,
            "label": label,
            "score": round(m.score, 3),
            "missing_run": m.missing_run,
            "missing_end": m.notes.get("missing_end"),
            "wording": m.wording,
            "expected_name": name,
            "name": m.name,
            "words_before": ev.words_before,
            "audio_s": round(len(x) / 16000, 1),
            "recognise_s": round(dt, 2),
            "missing": m.missing,
            "text": text,
        }
        rows.append(row)
        print(json.dumps(row), flush=True)
        if kind == "statement" and name is not None:
            # CON003 as the analyser runs it: the first pass, then (when it does not match) the
            # opening heard again with the expected name - the right one, and a wrong one.
            other = NAMES[(NAMES.index(name) + 5) % len(NAMES)]
            for expected in (name, other):
                sim = c.name_similarity(m.name, expected)
                retry = None
                if sim < c.NAME_RETRY_BELOW:
                    retry = c.retry_name(x[: int(c.WINDOW_START_S * 16000)], ev, expected)
                    sim = max(sim, c.name_similarity(retry, expected))
                r2 = {
                    "kind": "name",
                    "label": label,
                    "said": name,
                    "expected": expected,
                    "correct": expected == name,
                    "first_pass": m.name,
                    "retry": retry,
                    "similarity": round(sim, 3),
                }
                retry_rows.append(r2)
                print(json.dumps(r2), flush=True)

    for i, v in enumerate(cg.VOICES):
        for wording in ("give", "api"):
            name = NAMES[(2 * i + (wording == "api")) % len(NAMES)]
            x = cg.concat(
                cg.silence(0.8), cg.speak(cg.statement(name, wording), voice=v), cg.silence(1.0)
            )
            run("statement", f"{v} {wording} clean", x, name)
            run("statement", f"{v} {wording} noise10", cg.with_noise(x, noise, 10), name)
            if wording == "give":
                full = cg.statement(name, wording)
                half = full[: full.index("I understand")]
                run("truncated", f"{v} first sentence", cg.speak(half, voice=v), name)
                cut = full[: full.index("look and sound")]
                run(
                    "truncated",
                    f"{v} cut before 'look and sound like me'",
                    cg.speak(cut, voice=v),
                    name,
                )
    for f in (*am.SPEECH_FILES, "musetalk_eng.wav"):
        run("other", f, am.load_audio(args.media / "audio" / f))
    run("other", "speech_track 30 s", am.speech_track(args.media, 30.0))

    def summary(kind: str) -> dict:
        sel = [r for r in rows if r["kind"] == kind]
        return {
            "n": len(sel),
            "score_min": min(r["score"] for r in sel),
            "score_max": max(r["score"] for r in sel),
            "missing_run_max": max(r["missing_run"] for r in sel),
            "missing_run_min": min(r["missing_run"] for r in sel),
            "missing_end_max": max(r["missing_end"] for r in sel),
            "missing_end_min": min(r["missing_end"] for r in sel),
            "words_before_max": max(r["words_before"] for r in sel),
            "recognise_s_per_audio_s": round(
                sum(r["recognise_s"] for r in sel) / sum(r["audio_s"] for r in sel), 3
            ),
        }

    heard = [(r["expected_name"], r["name"]) for r in rows if r["kind"] == "statement"]
    same = [c.name_similarity(h, e) for e, h in heard]
    diff = [c.name_similarity(h, o) for e, h in heard for o in NAMES if o != e]
    print(
        json.dumps(
            {
                "statement": summary("statement"),
                "truncated": summary("truncated"),
                "other": summary("other"),
                "name_same": sorted(round(x, 3) for x in same),
                "name_diff_max": round(max(diff), 3),
                "name_diff_p95": round(sorted(diff)[int(0.95 * len(diff))], 3),
                "name_diff_n": len(diff),
                "name_with_retry_correct": sorted(
                    r["similarity"] for r in retry_rows if r["correct"]
                ),
                "name_with_retry_wrong": sorted(
                    r["similarity"] for r in retry_rows if not r["correct"]
                ),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
