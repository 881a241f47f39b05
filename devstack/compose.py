"""The Docker Compose CLI plugin, so `docker compose config` can check docker-compose.yml here.

Where `docker compose` already works it is used as it is; otherwise the plugin is built from the
Go module proxy once and offered to the docker client through a DOCKER_CONFIG of our own.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

from devstack.paths import CACHE_DIR
from devstack.process import StartupError, run_checked

MODULE = "github.com/docker/compose/v2"
VERSION = "v2.40.3"


def _compose_works(env: dict[str, str]) -> bool:
    result = subprocess.run(
        ["docker", "compose", "version"], capture_output=True, env=env, check=False
    )
    return result.returncode == 0


def compose_env(cache_dir: Path = CACHE_DIR) -> dict[str, str]:
    """An environment in which `docker compose` runs, building the plugin first if need be."""
    if shutil.which("docker") is None:
        raise StartupError("the docker client is not installed")
    env = dict(os.environ)
    if _compose_works(env):
        return env
    config_dir = cache_dir / "docker"
    plugin = config_dir / "cli-plugins" / "docker-compose"
    if not plugin.is_file():
        _build_plugin(plugin)
    (config_dir / "config.json").write_text(
        json.dumps({"cliPluginsExtraDirs": [str(plugin.parent)]})
    )
    env["DOCKER_CONFIG"] = str(config_dir)
    if not _compose_works(env):
        raise StartupError(f"docker compose does not run with the plugin at {plugin}")
    return env


def _build_plugin(plugin: Path) -> None:
    go = shutil.which("go")
    if go is None:
        raise StartupError("Go not found: it builds the Docker Compose plugin")
    download = subprocess.run(
        [go, "mod", "download", "-json", f"{MODULE}@{VERSION}"],
        capture_output=True,
        text=True,
        check=False,
    )
    if download.returncode != 0:
        raise StartupError(f"downloading {MODULE}@{VERSION} failed:\n{download.stderr}")
    source = Path(json.loads(download.stdout)["Dir"])
    plugin.parent.mkdir(parents=True, exist_ok=True)
    run_checked(
        [
            go, "build", "-mod=mod", "-o", str(plugin),
            f"-ldflags=-X {MODULE}/internal.Version={VERSION}", "./cmd",
        ],
        cwd=source,
        what="building the Docker Compose plugin with Go",
    )  # fmt: skip
