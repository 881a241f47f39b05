"""Where the local stack keeps what it downloads, builds and writes (all git-ignored)."""

from __future__ import annotations

import hashlib
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_ROOT = PACKAGE_DIR.parent
CACHE_DIR = REPO_ROOT / ".local"


def fingerprint(*files: Path) -> str:
    """A digest of the given files, to tell when a cached build is stale."""
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()
