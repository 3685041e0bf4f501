"""The clips this repository ships, recognised by content (sha256), never by name.

A first run of `validator check sample_media/sample.mp4` fails by design; the report says so,
and why, so that a new user does not take the FAIL for a broken installation.
"""

from __future__ import annotations

# sha256 of the file -> what the text and HTML reports say about it.
KNOWN_SAMPLES: dict[str, str] = {
    "03e6de287d1827e0d3cca00be3030a65fac92e959e7547591f8f11f69a57f4c6": (
        "This is the bundled sample clip, and it fails on purpose: it is a still photograph "
        "of a smiling person (lips apart, teeth showing) with a synthetic voice, so the mouth "
        "rules MTH001 and MTH003 rightly fail it while every other rule passes. To see what "
        "a pass looks like (PASS, exit 0): validator check sample_media/sample.mp4 --ignore "
        "MTH001,MTH003. See sample_media/README.md."
    ),
}


def sample_note(sha256: str | None) -> str | None:
    return KNOWN_SAMPLES.get(sha256 or "")
