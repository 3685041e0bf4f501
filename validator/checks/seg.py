"""SEG: the speaking / listening structure (SEG001-SEG005).

Every check here reads `Evidence.voice` (analysis/voice.py): the combined voice-activity
timeline (Silero-seeded, webrtcvad-supported, 32 ms windows), the speaking segment (the
stretch where speech is dense: first sustained speech to the last speech not followed by a
mostly silent stretch) and the listening segment (from there to the end of the audio).

Calibration material (scripts/calibrate_voice.py prints every figure quoted here): clips built
by tests/audiomix.py from real speech (LibriSpeech 1320/3575/6829/8230, VCTK p240/p260 and the
JFK address joined to 30 s) followed by 30 s of room tone, of the real CC0 noise recording or
of a stationary bed with that recording's spectrum, at -65 to -35 dBFS; the 60 s MuseTalk
recording; and the audio of ../shared/media/real.
"""

from __future__ import annotations

from ..evidence import Evidence
from ..registry import Outcome, Param, Params, failed, passed, rule, skipped
from ..spans import Span, format_spans


def _dur(span: Span | None) -> float:
    return 0.0 if span is None else span.end_s - span.start_s


def _judge_length(name: str, span: Span, need: float, lo: float, p: Params) -> Outcome:
    """SEG001/SEG002: a found segment against the profile's length minus the tolerance."""
    d = _dur(span)
    text = f"{name} segment is {d:.1f} s ({span.start_s:.1f}-{span.end_s:.1f} s)"
    if d < lo:
        return failed(
            f"{text}; {p.profile.name} needs {need:g} s (at least {lo:.1f} s)",
            measured=round(d, 2),
            limit=lo,
            unit="s",
            spans=[span],
        )
    return passed(
        f"{text} (needs at least {lo:.1f} s)",
        measured=round(d, 2),
        limit=lo,
        unit="s",
        spans=[span],
    )


@rule(
    "SEG001",
    "speaking-segment-too-short",
    "error",
    "detected speaking segment shorter than the profile's (30 s; phoenix-3 60 s) minus a tolerance",
    hint="speak continuously for the whole speaking part (30 s; phoenix-3 60 s) before you fall silent",
    needs=("voice",),
    params=[
        Param(
            "tolerance_s",
            2.0,
            "how much shorter than the profile's speaking time the segment may be, seconds",
            minimum=0,
            maximum=30,
        )
    ],
)
def speaking_segment_too_short(ev: Evidence, p: Params):
    """What it does: measures the speaking segment found in the audio, from the first sustained
    speech to the speech -> silence boundary, and compares it with the profile's speaking time
    (phoenix-4/4.5: 30 s, phoenix-3: 60 s) minus `tolerance_s`.

    Why it matters: the platform trains the talking model on this part; it asks for 30 s
    (phoenix-3: 60 s) of natural speech and rejects clips where it does not find it.

    How to fix: start speaking right after you press record and keep talking for the full time;
    pauses of a second or two are fine, long silences are not.

    Calibration (encoded H.264/AAC 48 kHz clips of the real-speech mixes): the boundary is
    found +0.01 to +0.12 s after the true end of speech: room tone -65 dBFS +0.09, gated
    silence +0.05, noise beds -55/-45/-40/-35 dBFS +0.09/+0.12/+0.12/+0.12, the real noise
    recording at -45 +0.12, white noise -40 +0.12, a natural ending (JFK) +0.01, MuseTalk cut
    at 33 s +0.06; the onset within 0.03 s.  It holds in heavy noise (16 kHz mixes): a bed
    at -25 dBFS (9 dB below the voice) +0.15, white noise at -25 +0.15, with no speech found
    in any listening part.  The 30 s speech track measures a 29.2-29.3 s speaking segment
    (its first file opens with 0.27 s of room noise, its last ends in a pause); MuseTalk's
    30 s of speech measures 30.0 s.  The 2 s tolerance covers that and the
    moment people take to start.  Real footage: on the 11 GRID studio clips the boundary lies
    -0.28 to +0.16 s from the end of sound found by an energy rule (the two at -0.28 s are
    followed by breath-like sound at -30 to -45 dBFS that Silero rates 0.00-0.02, which the
    energy rule counts), the onset -0.05 to 0.00 s from the start of sound.

    Example: `SEG001 fail: speaking segment is 21.4 s (0.8-22.2 s); phoenix-4 needs 30 s (at
    least 28.0 s)`.
    """
    v = ev.voice
    need = p.profile.speaking_s
    lo = need - p.tolerance_s
    if v.speaking is None:
        return failed(
            f"no speech was found in the audio; {p.profile.name} needs {need:g} s of speaking",
            measured=0.0,
            limit=lo,
            unit="s",
        )
    return _judge_length("speaking", v.speaking, need, lo, p)


@rule(
    "SEG002",
    "listening-segment-missing",
    "error",
    "no trailing silent segment, or it is shorter than the profile's (30 s; phoenix-3 60 s) minus a tolerance",
    hint="after speaking, stay silent with lips closed for the full listening time (30 s; phoenix-3 60 s) "
    "before you stop recording",
    needs=("voice",),
    params=[
        Param(
            "tolerance_s",
            2.0,
            "how much shorter than the profile's listening time the segment may be, seconds",
            minimum=0,
            maximum=30,
        )
    ],
)
def listening_segment_missing(ev: Evidence, p: Params):
    """What it does: measures the listening segment, from the speech -> silence boundary to the
    end of the audio, and compares it with the profile's listening time (phoenix-4/4.5: 30 s,
    phoenix-3: 60 s) minus `tolerance_s`.  Speech inside it does not shorten it (SEG004 reports
    that); a clip without speech is SEG001's.

    Why it matters: the platform's most specific rejection: "Training video rejected because
    the required 30-second listening segment was not detected."

    How to fix: keep recording, silent and still, for the full listening time after your last
    word; do not stop the recording early.

    Calibration: with 30 s recorded after the last word, every mix (room tone, gate, noise
    beds, real noise, tone, music, knocks, a remark) measures a 29.9-30.0 s listening segment;
    a silence-first take has 0.5 s after its speech and fails; the real talking clips that
    speak to their end (Hamilton, LivePortrait d11) have none (0 s) and fail.

    Example: `SEG002 fail: listening segment is 12.3 s (47.7-60.0 s); phoenix-4 needs 30 s (at
    least 28.0 s)`.
    """
    v = ev.voice
    if v.speaking is None:
        return skipped(
            "not evaluated: no speech was found, so there is no speaking -> listening boundary (see SEG001)"
        )
    need = p.profile.listening_s
    lo = need - p.tolerance_s
    ls = v.listening
    if ls is None:
        return failed(
            f"no silent segment after the speech: speech runs to the end of the audio "
            f"({v.duration_s:.1f} s); {p.profile.name} needs {need:g} s of listening",
            measured=0.0,
            limit=lo,
            unit="s",
        )
    return _judge_length("listening", ls, need, lo, p)


@rule(
    "SEG003",
    "segments-out-of-order",
    "error",
    "listening comes before speaking, or speech and silence alternate with no single boundary",
    hint="record in one order: speak first, then stay silent; do not split the speaking part with long silences",
    needs=("voice",),
    params=[
        Param(
            "max_leading_silence_s",
            10.0,
            "silence before the first speech longer than this (and longer than the listening segment) "
            "means listening came first, seconds",
            minimum=1,
            maximum=120,
        ),
        Param(
            "max_pause_s",
            6.0,
            "longest silent pause allowed inside the speaking segment, seconds",
            minimum=1,
            maximum=60,
        ),
    ],
)
def segments_out_of_order(ev: Evidence, p: Params):
    """What it does: two structure checks.  (1) Listening first: the silence before the first
    sustained speech is longer than `max_leading_silence_s` and longer than the listening
    segment after the speech.  (2) Alternation: the speaking segment contains a silent pause of
    `max_pause_s` or more, so speech and silence alternate instead of meeting at one boundary.

    Why it matters: the platform finds one speaking part followed by one listening part; a
    reversed or interleaved take is not detected as either ("listening segment was not
    detected").

    How to fix: record again: speak for the whole speaking part, then stay silent.

    Calibration: the longest pause inside the speaking segment measures 0.90-1.02 s on the
    real-speech mixes (six read-speech recordings and the JFK address joined), 0.58 s on
    MuseTalk, 1.06 s on LivePortrait d12 and 0.77 s on d20 (real talking clips); a thinking
    pause of 3-4 s stays below the 6 s default.  A generated silence-first take (30 s room
    tone, then the speech) measures 30.24 s of leading silence against 0.5 s after, and fails.

    Example: `SEG003 fail: a 30.8 s silence (0.0-30.8 s) comes before the speech and only 0.0 s
    after it: listening came before speaking`.
    """
    v = ev.voice
    if v.speaking is None:
        return skipped("not evaluated: no speech was found (see SEG001)")
    lead = v.speaking.start_s
    tail = _dur(v.listening)
    if lead > p.max_leading_silence_s and lead > tail:
        return failed(
            f"a {lead:.1f} s silence (0.0-{lead:.1f} s) comes before the speech and only {tail:.1f} s "
            f"after it: listening came before speaking",
            measured=round(lead, 2),
            limit=p.max_leading_silence_s,
            unit="s",
            spans=[(0.0, lead)],
        )
    runs = v.speech_runs_in(v.speaking)
    pauses = [
        Span(a.end_s, b.start_s)
        for a, b in zip(runs, runs[1:], strict=False)
        if b.start_s - a.end_s >= p.max_pause_s
    ]
    longest = max((b.start_s - a.end_s for a, b in zip(runs, runs[1:], strict=False)), default=0.0)
    if pauses:
        return failed(
            f"speech and silence alternate: {len(pauses)} silent pause(s) of {p.max_pause_s:g} s or more "
            f"inside the speaking segment ({format_spans(pauses)}); longest {longest:.1f} s",
            measured=round(longest, 2),
            limit=p.max_pause_s,
            unit="s",
            spans=pauses,
        )
    return passed(
        f"speaking then listening; longest pause while speaking {longest:.1f} s",
        measured=round(longest, 2),
        limit=p.max_pause_s,
        unit="s",
    )


@rule(
    "SEG004",
    "speech-during-listening",
    "error",
    "voice activity inside the listening segment (more than a short cough/breath allowance)",
    hint="stay completely silent during the listening part: no comments, no 'okay, done' before you stop recording",
    needs=("voice",),
    params=[
        Param(
            "max_speech_s",
            0.5,
            "speech allowed inside the listening segment in total, seconds",
            minimum=0,
            maximum=30,
        ),
        Param(
            "background_voice_db",
            15.0,
            "speech this many dB quieter than your speaking level is another voice in the room "
            "(reported by AUD005), dB",
            minimum=0,
            maximum=60,
        ),
    ],
)
def speech_during_listening(ev: Evidence, p: Params):
    """What it does: adds up the voice activity inside the listening segment.  Runs at least
    `background_voice_db` quieter than the speaker's own level in the speaking segment are
    another voice in the room and left to AUD005; the rest is the speaker.  Fails when that
    exceeds `max_speech_s`.  Each run is reported with its place ("2.0 s of speech at 41.5 s").

    Why it matters: the listening part teaches the replica to listen silently; speech there
    means the platform does not detect a listening segment at all.

    How to fix: stay silent until you stop recording.  Speech after the full listening time
    (an "okay, done" at the end) is cut by `validator prepare --trim auto`; the finding's hint
    says so when that is the case.

    Calibration: speech runs shorter than 0.2 s are dropped by the analyser (a synthetic
    chord's attack raised Silero to 0.75 for 0.1 s); a single word lasts 0.3-0.5 s.  The
    listening parts of every mix measure 0.0 s of speech: room tone, gate, noise beds up to
    -35 dBFS, the real noise recording, white noise, 6 s of a 440 Hz tone, 29 s of synthetic
    music, desk knocks.  A 2 s MuseTalk excerpt added at 41.5 s measures 1.34 s (its own
    pauses are not speech), found at 41.6-43.0 s, and fails.  The speaker's level in the mixes
    is -16.4 dBFS; the 15 dB split sends voices below about -31 dBFS (a television, someone
    in the next room) to AUD005: the same remark 22 dB down passes here and fails AUD005.

    Example: `SEG004 fail: 2.0 s of speech inside the listening segment (41.5-43.5 s); at most
    0.5 s allowed`.
    """
    v = ev.voice
    if v.listening is None:
        return skipped("not evaluated: there is no listening segment (see SEG002)")
    ref = v.speech_level_in(v.speaking)
    own = []
    for r in v.speech_runs_in(v.listening):
        if ref is None or v.run_level_dbfs(r) > ref - p.background_voice_db:
            own.append(r)
    total = sum(_dur(r) for r in own)
    if total > p.max_speech_s:
        # Speech only after the full listening time can be trimmed away instead of re-recorded.
        after = v.listening.start_s + p.profile.listening_s
        hint = None
        if all(r.start_s >= after for r in own):
            hint = (
                f"the speech comes after {p.profile.listening_s:g} s of listening: cut it with "
                f"`validator prepare --trim auto`, or stop recording before you speak"
            )
        return failed(
            f"{total:.1f} s of speech inside the listening segment ({format_spans(own)}); "
            f"at most {p.max_speech_s:g} s allowed",
            measured=round(total, 2),
            limit=p.max_speech_s,
            unit="s",
            spans=own,
            hint=hint,
        )
    return passed(
        f"{total:.1f} s of speech inside the listening segment (at most {p.max_speech_s:g} s)",
        measured=round(total, 2),
        limit=p.max_speech_s,
        unit="s",
        spans=own,
    )


@rule(
    "SEG005",
    "speaking-segment-sparse",
    "warning",
    "speech covers too little of the speaking segment (long pauses, mostly silence)",
    hint="talk naturally and continuously; prepare what you will say so that you do not stop to think",
    needs=("voice",),
    params=[
        Param(
            "min_speech_share",
            0.5,
            "least share of the speaking segment that must be speech, ratio",
            minimum=0,
            maximum=1,
        ),
        Param(
            "report_pause_s",
            1.5,
            "pauses at least this long are listed in the finding, seconds",
            minimum=0.1,
            maximum=60,
        ),
    ],
)
def speaking_segment_sparse(ev: Evidence, p: Params):
    """What it does: the share of the speaking segment that the voice-activity timeline marks as
    speech (pauses under 0.3 s count as speech); lists the pauses longer than `report_pause_s`.

    Why it matters: the talking model learns from speech; a speaking part that is mostly
    hesitation gives it less to learn from and lip movement that does not follow a voice.

    How to fix: prepare a few sentences to say; keep talking for the whole speaking part.

    Calibration: speech share of the speaking segment 0.88-0.92 on the real-speech mixes (all
    noise conditions), 0.94 on MuseTalk, 0.87 on LivePortrait d20 (a real talking clip with a
    1 s pause), 0.54 on d12 (shouting over music, most of it not recognised as speech).  0.5
    means half the time silent: far below fluent speech.

    Example: `SEG005 fail (warning): speech covers 38% of the speaking segment (needs at least
    50%); pauses at 4.1-7.9 s, 12.0-15.2 s`.
    """
    v = ev.voice
    if v.speaking is None:
        return skipped("not evaluated: no speech was found (see SEG001)")
    sp = v.speaking
    runs = v.speech_runs_in(sp)
    d = _dur(sp)
    share = sum(_dur(r) for r in runs) / d if d > 0 else 0.0
    pauses = [
        Span(a.end_s, b.start_s)
        for a, b in zip(runs, runs[1:], strict=False)
        if b.start_s - a.end_s >= p.report_pause_s
    ]
    where = f"; pauses at {format_spans(pauses)}" if pauses else ""
    if share < p.min_speech_share:
        return failed(
            f"speech covers {share:.0%} of the speaking segment (needs at least {p.min_speech_share:.0%}){where}",
            measured=round(share, 3),
            limit=p.min_speech_share,
            unit="ratio",
            spans=pauses,
        )
    return passed(
        f"speech covers {share:.0%} of the speaking segment{where}",
        measured=round(share, 3),
        limit=p.min_speech_share,
        unit="ratio",
    )
