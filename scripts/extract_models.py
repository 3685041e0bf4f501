"""Re-extract the bundled face models from the mediapipe==0.10.21 wheel and verify them.

    python scripts/extract_models.py [WHEEL] [--out models] [--check]

With no WHEEL, `pip download --no-deps mediapipe==0.10.21` fetches the Linux x86-64 CPython
3.11 wheel from PyPI into a temporary folder (a package-registry fetch for this maintenance
script only; the validator itself never touches the network).  Every model listed in
`models/manifest.json` is read from the wheel at its recorded path, its sha256 compared with the
manifest, and written to `--out` (default: the repository's `models/`).  `--check` only verifies
the files already in `--out`.  Exit status 0 when every checksum matches, 1 otherwise.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WHEEL_SPEC = "mediapipe==0.10.21"
PREFIX = "mediapipe-0.10.21 wheel: "


def download_wheel(dest: Path) -> Path:
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--only-binary=:all:",
        "--python-version",
        "3.11",
        "--platform",
        "manylinux_2_28_x86_64",
        "-d",
        str(dest),
        WHEEL_SPEC,
    ]
    subprocess.run(cmd, check=True)
    wheels = sorted(dest.glob("mediapipe-0.10.21-*.whl"))
    if not wheels:
        raise SystemExit(f"pip download produced no wheel in {dest}")
    return wheels[0]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("wheel", nargs="?", type=Path, help="path to mediapipe-0.10.21-*.whl")
    ap.add_argument("--out", type=Path, default=ROOT / "models")
    ap.add_argument("--check", action="store_true", help="only verify the files in --out")
    args = ap.parse_args(argv)

    manifest = json.loads((ROOT / "models" / "manifest.json").read_text())
    ok = True
    if args.check:
        for m in manifest["models"]:
            path = args.out / m["file"]
            digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "missing"
            good = digest == m["sha256"]
            ok &= good
            print(f"{'ok ' if good else 'BAD'} {m['file']} {digest}")
        return 0 if ok else 1

    with tempfile.TemporaryDirectory() as tmp:
        wheel = args.wheel or download_wheel(Path(tmp))
        args.out.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(wheel) as z:
            for m in manifest["models"]:
                member = m["source"].removeprefix(PREFIX)
                data = z.read(member)
                digest = hashlib.sha256(data).hexdigest()
                good = digest == m["sha256"]
                ok &= good
                print(f"{'ok ' if good else 'BAD'} {member} -> {m['file']} {digest}")
                if good:
                    (args.out / m["file"]).write_bytes(data)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
