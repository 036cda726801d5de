"""Install a pinned uv into .tools/bin with nothing but the Python standard library.

A fresh Debian machine may have Python without pip or venv; uv is published on PyPI as a
wheel holding one static binary, so fetch that wheel, check its SHA-256 against PyPI's
published digest, and unpack the binary.
"""

import hashlib
import json
import os
import platform
import stat
import sys
import urllib.request
import zipfile
from io import BytesIO
from pathlib import Path
from urllib.parse import urljoin

UV_VERSION = "0.13.9"
INDEX = os.environ.get("FRONTDESK_PYPI_JSON", "https://pypi.org/pypi")
TARGET = Path(__file__).resolve().parent.parent / ".tools" / "bin" / "uv"

PLATFORM_TAGS = {
    ("Linux", "x86_64"): "manylinux_2_17_x86_64",
    ("Linux", "aarch64"): "manylinux_2_17_aarch64",
    ("Darwin", "x86_64"): "macosx_10_12_x86_64",
    ("Darwin", "arm64"): "macosx_11_0_arm64",
}


def main() -> int:
    tag = PLATFORM_TAGS.get((platform.system(), platform.machine()))
    if tag is None:
        print(
            f"bootstrap_uv: no uv wheel known for {platform.system()} {platform.machine()};"
            " install uv yourself (https://docs.astral.sh/uv/)",
            file=sys.stderr,
        )
        return 1
    # The project-wide JSON lists every release's files; some mirrors serve only this one.
    index_url = f"{INDEX}/uv/json"
    with urllib.request.urlopen(index_url, timeout=60) as response:
        files = json.load(response)["releases"].get(UV_VERSION, [])
    wheel = next((f for f in files if tag in f["filename"]), None)
    if wheel is None:
        print(f"bootstrap_uv: uv {UV_VERSION} has no wheel tagged {tag}", file=sys.stderr)
        return 1
    print(f"bootstrap_uv: downloading {wheel['filename']}")
    # Mirrors may give the file's address relative to the JSON document.
    with urllib.request.urlopen(urljoin(index_url, wheel["url"]), timeout=300) as response:
        payload = response.read()
    digest = hashlib.sha256(payload).hexdigest()
    if digest != wheel["digests"]["sha256"]:
        print("bootstrap_uv: checksum mismatch, refusing to install", file=sys.stderr)
        return 1
    with zipfile.ZipFile(BytesIO(payload)) as archive:
        member = next(n for n in archive.namelist() if n.endswith(".data/scripts/uv"))
        TARGET.parent.mkdir(parents=True, exist_ok=True)
        TARGET.write_bytes(archive.read(member))
    TARGET.chmod(TARGET.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    print(f"bootstrap_uv: installed {TARGET}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
