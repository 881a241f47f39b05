"""A headless Chromium from the distribution's packages, for tests that render pages in a real
browser.

`find_or_install` looks for `chromium` (Debian's package) or `chromium-headless-shell`; when
neither is there and it runs as root on a Debian-like system, it installs Debian's `chromium`
package with apt-get (`apt-get install -y --no-install-recommends chromium`). Otherwise it
raises `ChromiumMissing`, saying what to install.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

CANDIDATES = ("chromium", "chromium-headless-shell", "chromium-browser")
INSTALL_TIMEOUT_S = 900
RENDER_TIMEOUT_S = 90


class ChromiumMissing(RuntimeError):
    """No headless Chromium, and none could be installed here."""


def find() -> str | None:
    return next((path for name in CANDIDATES if (path := shutil.which(name))), None)


def find_or_install() -> str:
    """The path of a headless Chromium, installing Debian's package when root may."""
    found = find()
    if found is not None:
        return found
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise ChromiumMissing(
            "no chromium on PATH: install Debian's package (apt-get install chromium) as root"
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    apt = ["apt-get", "install", "-y", "--no-install-recommends", "chromium"]
    installed = subprocess.run(
        apt, env=env, capture_output=True, text=True, timeout=INSTALL_TIMEOUT_S, check=False
    )
    if installed.returncode != 0:
        subprocess.run(
            ["apt-get", "update"], env=env, capture_output=True, timeout=INSTALL_TIMEOUT_S
        )
        installed = subprocess.run(
            apt, env=env, capture_output=True, text=True, timeout=INSTALL_TIMEOUT_S, check=False
        )
    found = find()
    if found is None:
        raise ChromiumMissing(f"apt-get install chromium failed: {installed.stderr[-500:]}")
    return found


def _run(binary: str, *arguments: str) -> subprocess.CompletedProcess[str]:
    with tempfile.TemporaryDirectory(prefix="adminduk-chromium-") as profile:
        return subprocess.run(
            [
                binary,
                "--headless",
                "--disable-gpu",
                "--no-sandbox",
                "--no-first-run",
                f"--user-data-dir={profile}",
                *arguments,
            ],
            capture_output=True,
            text=True,
            timeout=RENDER_TIMEOUT_S,
            check=True,
        )


def dump_dom(binary: str, url: str) -> str:
    """The document as the browser built it, serialised."""
    return _run(binary, "--virtual-time-budget=5000", "--dump-dom", url).stdout


def print_to_pdf(binary: str, url: str, pdf: Path) -> None:
    """Prints the page as the browser's print dialog would, to `pdf`."""
    _run(binary, "--no-pdf-header-footer", f"--print-to-pdf={pdf}", url)


def screenshot(binary: str, url: str, png: Path, *, size: str = "1240,1754") -> None:
    _run(binary, f"--window-size={size}", f"--screenshot={png}", url)
