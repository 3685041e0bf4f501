"""Hostile files, built at test time (nothing here is committed as data).

Builders for the specific defects of issue 11 (`aac_many_channels`, `format_change_ts`,
`set_display_matrix`, `png_claiming`, `fragmented`, ...) and `corpus()`, a seeded generator of
a few hundred damaged, odd-but-valid and non-media files from a few base clips: truncations,
bit flips, mangled MP4 boxes, stale offsets, random bytes, text, special names.  MP4 boxes are
edited in place with the small parser below (`boxes()`), so no external tool is needed.
"""

from __future__ import annotations

import math
import os
import random
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from clipgen import make_clip

from validator.media.source import open_input, open_output

# --- MP4 boxes ---------------------------------------------------------------------------------

CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"stbl", b"edts", b"dinf", b"moof", b"traf"}


@dataclass
class Box:
    type: bytes
    start: int  # offset of the size field
    header: int  # 8 or 16
    size: int
    path: str  # "moov/trak/mdia/..."

    @property
    def body(self) -> int:
        return self.start + self.header

    @property
    def end(self) -> int:
        return self.start + self.size


def boxes(data: bytes, start: int = 0, end: int | None = None, parent: str = "") -> Iterator[Box]:
    """Every box, depth first, with its path.  Stops quietly at a malformed size."""
    end = len(data) if end is None else end
    pos = start
    while pos + 8 <= end:
        size, typ = struct.unpack(">I4s", data[pos : pos + 8])
        header = 8
        if size == 1 and pos + 16 <= end:
            size = struct.unpack(">Q", data[pos + 8 : pos + 16])[0]
            header = 16
        elif size == 0:
            size = end - pos
        if size < header or pos + size > end:
            return
        path = f"{parent}/{typ.decode('latin-1')}" if parent else typ.decode("latin-1")
        b = Box(typ, pos, header, size, path)
        yield b
        if typ in CONTAINERS:
            yield from boxes(data, b.body, b.end, path)
        elif typ == b"stsd":
            pass
        pos += size


def find(data: bytes, path_suffix: str, track: int | None = None) -> list[Box]:
    """Boxes whose path ends with `path_suffix`; `track` picks the n-th trak's."""
    out = []
    trak_no = -1
    for b in boxes(data):
        if b.path == "moov/trak":
            trak_no += 1
        if b.path.endswith(path_suffix) and (track is None or (trak_no == track)):
            out.append(b)
    return out


def track_of_kind(data: bytes, kind: bytes) -> int:
    """Index of the first trak whose handler is `kind` (b"vide", b"soun")."""
    trak_no = -1
    for b in boxes(data):
        if b.path == "moov/trak":
            trak_no += 1
        if b.path.endswith("mdia/hdlr") and data[b.body + 8 : b.body + 12] == kind:
            return trak_no
    raise ValueError(f"no {kind!r} track")


def set_display_matrix(src: Path, dst: Path, angle_deg: float | None) -> Path:
    """Copy `src` with the video track's tkhd matrix set to a rotation by `angle_deg`
    (None: an all-zero matrix)."""
    data = bytearray(src.read_bytes())
    v = track_of_kind(bytes(data), b"vide")
    (tkhd,) = find(bytes(data), "trak/tkhd", v)
    version = data[tkhd.body]
    off = tkhd.body + 4 + (32 if version == 1 else 20) + 8 + 8  # to the matrix
    if angle_deg is None:
        m = [0] * 9
    else:
        c, s = math.cos(math.radians(angle_deg)), math.sin(math.radians(angle_deg))
        f = 1 << 16
        m = [round(c * f), round(s * f), 0, round(-s * f), round(c * f), 0, 0, 0, 1 << 30]
    data[off : off + 36] = struct.pack(">9i", *m)
    dst.write_bytes(bytes(data))
    return dst


def edit_table(src: Path, dst: Path, box: str, kind: bytes, fn) -> Path:
    """Copy `src` with the `box` table (stts, ctts, stco, stsz) of the `kind` track rewritten by
    `fn(entries: np.ndarray) -> None` (in place; uint32 big-endian words after the count)."""
    data = bytearray(src.read_bytes())
    t = track_of_kind(bytes(data), kind)
    hits = find(bytes(data), f"stbl/{box}", t)
    if not hits:
        raise ValueError(f"no {box} in {src}")
    b = hits[0]
    skip = 12 if box == "stsz" else 8  # version/flags + (sample_size) + count
    n_words = (b.end - b.body - skip) // 4
    words = np.frombuffer(bytes(data[b.body + skip : b.body + skip + 4 * n_words]), ">u4").copy()
    fn(words)
    data[b.body + skip : b.body + skip + 4 * n_words] = words.astype(">u4").tobytes()
    dst.write_bytes(bytes(data))
    return dst


# --- specific defects ---------------------------------------------------------------------------


class _Bits:
    def __init__(self) -> None:
        self.bits: list[int] = []

    def put(self, value: int, n: int) -> None:
        self.bits.extend((value >> i) & 1 for i in range(n - 1, -1, -1))

    def tobytes(self) -> bytes:
        while len(self.bits) % 8:
            self.bits.append(0)
        return bytes(
            int("".join(map(str, self.bits[i : i + 8])), 2) for i in range(0, len(self.bits), 8)
        )


def aac_pce(front_cpe: int, side_cpe: int, back_cpe: int, lfe: int) -> bytes:
    """A raw AAC frame holding only a program config element: it re-declares the channel
    configuration (15+15+1 channel pairs and an LFE claim 63 channels), as stale sample offsets
    into other data can."""
    b = _Bits()
    b.put(5, 3)  # ID_PCE
    b.put(0, 4)
    b.put(1, 2)  # AAC LC
    b.put(3, 4)  # 48 kHz
    for n, w in ((front_cpe, 4), (side_cpe, 4), (back_cpe, 4), (lfe, 2), (0, 3), (0, 4)):
        b.put(n, w)
    b.put(0, 3)  # no mixdowns
    tag = 0
    for _ in range(front_cpe + side_cpe + back_cpe):
        b.put(1, 1)
        b.put(tag % 16, 4)
        tag += 1
    for i in range(lfe):
        b.put(i, 4)
    while len(b.bits) % 8:
        b.bits.append(0)
    b.put(0, 8)  # no comment
    b.put(7, 3)  # ID_END
    return b.tobytes()


def replace_audio_packets(src: Path, dst: Path, payload, which) -> Path:
    """Remux `src` with audio packet k (1-based) replaced by `payload(k)` when `which(k)`."""
    with open_input(src) as inp, open_output(dst, format="mp4") as out:
        vi, ai = inp.streams.video[0], inp.streams.audio[0]
        vo, ao = out.add_stream_from_template(vi), out.add_stream_from_template(ai)
        k = 0
        for p in inp.demux(vi, ai):
            if not p.size:
                continue
            if p.stream is ai:
                k += 1
                if which(k):
                    q = av.Packet(payload(k))
                    q.pts, q.dts, q.time_base, q.duration = p.pts, p.dts, p.time_base, p.duration
                    q.stream = ao
                    out.mux(q)
                    continue
                p.stream = ao
            else:
                p.stream = vo
            out.mux(p)
    return dst


def aac_many_channels(d: Path, name: str = "aac63.mp4") -> Path:
    """An MP4 whose AAC decodes to frames claiming 63 channels (it used to crash the process)."""
    base = make_clip(d / f".{name}.base.mp4", channels=2, duration_s=2.0)
    return replace_audio_packets(
        base, d / name, lambda k: aac_pce(15, 15, 1, 1), lambda k: 20 <= k < 40
    )


def format_change_ts(d: Path, name: str = "joined.ts") -> Path:
    """MPEG-TS pieces joined: 48 kHz mono, then 16 kHz stereo, then 44.1 kHz 5.1."""
    parts = [
        make_clip(d / f".{name}.{i}.ts", container_format="mpegts", sample_rate=sr, channels=ch)
        for i, (sr, ch) in enumerate([(48000, 1), (16000, 2), (44100, 6)])
    ]
    (d / name).write_bytes(b"".join(p.read_bytes() for p in parts))
    return d / name


def _png(width: int, height: int, real: int = 4) -> bytes:
    """A PNG whose header claims `width` x `height` but holds a `real` x `real` image."""

    def chunk(t: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + t + body + struct.pack(">I", zlib.crc32(t + body))

    raw = b"".join(b"\0" + b"\x80" * (3 * real) for _ in range(real))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def png_claiming(d: Path, width: int, height: int, *, container_too: bool, name: str) -> Path:
    """A small MOV of PNG frames whose PNG headers claim `width` x `height` (and, with
    `container_too`, whose sample description does as well)."""
    path = d / name
    with open_output(path, format="mov") as out:
        s = out.add_stream("png", rate=10)
        s.width, s.height = (width, height) if container_too else (64, 64)
        s.pix_fmt = "rgb24"
        s.codec_context.time_base = s.time_base = Fraction(1, 10)
        for i in range(10):
            pkt = av.Packet(_png(width, height))
            pkt.pts = pkt.dts = i
            pkt.duration = 1
            pkt.time_base = s.time_base
            pkt.stream = s
            pkt.is_keyframe = True
            out.mux(pkt)
    return path


def fragmented(d: Path, name: str = "frag.mp4", duration_s: float = 6.0) -> Path:
    """A fragmented MP4 (moof/mdat pairs, as cameras and browsers record)."""
    base = make_clip(d / f".{name}.base.mp4", duration_s=duration_s, size=(160, 120))
    with open_input(base) as inp:
        out = open_output(
            d / name,
            format="mp4",
            options={"movflags": "frag_keyframe+empty_moov+default_base_moof"},
        )
        with out:
            vi, ai = inp.streams.video[0], inp.streams.audio[0]
            vo, ao = out.add_stream_from_template(vi), out.add_stream_from_template(ai)
            for p in inp.demux(vi, ai):
                if not p.size:
                    continue
                p.stream = vo if p.stream is vi else ao
                out.mux(p)
    return d / name


def cut(src: Path, dst: Path, fraction: float) -> Path:
    data = src.read_bytes()
    dst.write_bytes(data[: int(len(data) * fraction)])
    return dst


# --- the seeded corpus ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    path: Path
    category: str
    note: str
    # "refused": validate() raises UsageError; "unreadable": MED001 fails; "damaged": MED001 or
    # MED011 fails; "any": any report (no crash, no hang) is right.
    expect: str = "any"


def corpus(d: Path, bases: list[Path], n: int = 300, seed: int = 11) -> list[Case]:
    """About `n` hostile files in `d`, derived from `bases` (real clips, the sample, generated
    clips): every category of issue 11.  Deterministic for a seed."""
    rng = random.Random(seed)
    d.mkdir(parents=True, exist_ok=True)
    cases: list[Case] = []
    blobs = [(b, b.read_bytes()) for b in bases]

    def write(name: str, data: bytes) -> Path:
        p = d / name
        p.write_bytes(data)
        return p

    k = 0
    while len(cases) < n:
        base, data = blobs[k % len(blobs)]
        ext = base.suffix
        k += 1
        kind = rng.choice(
            ["truncate", "truncate", "flip", "flip", "boxsize", "boxtype", "table", "splice"]
        )
        name = f"{len(cases):03d}_{kind}{ext}"
        if kind == "truncate":
            frac = rng.choice([0.0005, 0.01, 0.1, 0.3, 0.5, 0.7, 0.9, 0.99, 0.999])
            cases.append(Case(write(name, data[: max(1, int(len(data) * frac))]), kind, f"{frac}"))
        elif kind == "flip":
            buf = bytearray(data)
            count = rng.choice([1, 4, 32, 256])
            lo = rng.choice([0, len(buf) // 3])
            for _ in range(count):
                i = rng.randrange(lo, len(buf))
                buf[i] ^= 1 << rng.randrange(8)
            cases.append(Case(write(name, bytes(buf)), kind, f"{count} flips from {lo}"))
        elif kind in ("boxsize", "boxtype", "table") and ext in (".mp4", ".mov"):
            bx = list(boxes(data))
            if not bx:
                continue
            b = rng.choice(bx)
            buf = bytearray(data)
            if kind == "boxsize":
                new = rng.choice([0, 1, 7, 8, b.size - 1, b.size + 1, 2**31, 2**32 - 1])
                buf[b.start : b.start + 4] = struct.pack(">I", new)
                note = f"{b.path} size {b.size} -> {new}"
            elif kind == "boxtype":
                other = rng.choice([b"free", b"moov", b"mdat", b"trak", b"\0\0\0\0", b"stco"])
                buf[b.start + 4 : b.start + 8] = other
                note = f"{b.path} -> {other!r}"
            else:
                tables = [x for x in bx if x.type in (b"stts", b"ctts", b"stco", b"stsz", b"stsc")]
                if not tables:
                    continue
                b = rng.choice(tables)
                body = b.body + 8
                if b.end - body < 4:
                    continue
                i = body + 4 * rng.randrange((b.end - body) // 4)
                val = rng.choice([0, 1, 0xFFFFFFFF, 0x80000000, rng.randrange(2**32)])
                buf[i : i + 4] = struct.pack(">I", val)
                note = f"{b.path} word -> {val}"
            cases.append(Case(write(name, bytes(buf)), kind, note))
        else:  # splice: a piece of another base inside this one (stale offsets, mixed data)
            _, other = blobs[rng.randrange(len(blobs))]
            at = rng.randrange(len(data))
            piece = other[rng.randrange(len(other)) :][: rng.choice([16, 4096, 65536])]
            cases.append(Case(write(name, data[:at] + piece + data[at:]), "splice", f"at {at}"))

    # Non-media and special files.
    junk = {
        "empty.mp4": b"",
        "text.mp4": b"hello, this is not a video\n" * 100,
        "random.mp4": np.random.default_rng(seed).integers(0, 256, 200_000, np.uint8).tobytes(),
        "json.mov": b'{"ftyp": "isom", "moov": []}',
        "zip.mp4": b"PK\x03\x04" + bytes(1000),
        "only_ftyp.mp4": struct.pack(">I4s4sI", 16, b"ftyp", b"isom", 0),
        "huge_box.mp4": struct.pack(">I4s", 1, b"mdat") + struct.pack(">Q", 2**62) + bytes(100),
        "playlist.mp4": b"#EXTM3U\n#EXTINF:1,\nhttp://127.0.0.1:9/x.ts\n",
        "ffconcat.mp4": b"ffconcat version 1.0\nfile 'http://127.0.0.1:9/a.mp4'\n",
    }
    for name, data in junk.items():
        cases.append(Case(write(name, data), "non-media", name, "unreadable"))
    return cases


def special_files(d: Path) -> list[Case]:
    d.mkdir(parents=True, exist_ok=True)
    os.mkfifo(d / "fifo.mp4")
    (d / "zero.mp4").symlink_to("/dev/zero")
    (d / "urandom.mov").symlink_to("/dev/urandom")
    return [Case(d / n, "special", n, "refused") for n in ("fifo.mp4", "zero.mp4", "urandom.mov")]


def sample_piece(sample: Path, dst: Path, seconds: float = 1.0) -> Path:
    """The first `seconds` of a real clip, stream-copied (its real encoder's bitstream) into a
    small MP4: mutating a 64 s 1080p file hundreds of times would cost minutes."""
    with open_input(sample) as inp, open_output(dst, format="mp4") as out:
        vi = inp.streams.video[0]
        ai = inp.streams.audio[0] if inp.streams.audio else None
        vo = out.add_stream_from_template(vi)
        ao = out.add_stream_from_template(ai) if ai is not None else None
        for p in inp.demux(*[s for s in (vi, ai) if s is not None]):
            if not p.size or p.pts is None:
                continue
            if float(p.pts * p.time_base) >= seconds:
                if p.stream is vi:
                    break
                continue
            p.stream = vo if p.stream is vi else ao
            out.mux(p)
    return dst


def odd_names(d: Path, clip: Path) -> list[Case]:
    """Copies of a good clip under names FFmpeg would read as URLs, non-UTF-8 and control bytes."""
    d.mkdir(parents=True, exist_ok=True)
    out = []
    for raw in (b"http:127.0.0.1:9.mp4", b"tcp:127.0.0.1:9.mp4", b"file:x.mp4", b"a\xff\xfe.mp4",
                b"new\nline.mp4", b"-rf.mp4", b"pipe:0.mp4"):  # fmt: skip
        p = os.fsencode(d) + b"/" + raw
        with open(p, "wb") as f:
            f.write(clip.read_bytes())
        out.append(Case(Path(os.fsdecode(p)), "name", repr(raw)))
    return out
