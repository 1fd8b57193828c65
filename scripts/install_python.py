#!/usr/bin/env python3
"""Install dronepatrol's Python packages, or do nothing when they are all there already.

Every requirement comes from pyproject.toml: ``[tool.dronepatrol.install] first`` (torch and
torchvision, installed before the rest so that pip takes the builds this machine kind keeps on
disk), ``[project] dependencies`` plus the extras in ``[tool.dronepatrol.install] extras``, and
``no_deps`` (installed without their dependencies). When every requirement is already met by the
installed distributions and dronepatrol itself is installed, nothing runs (about a second); else
pip installs what is needed. Used by scripts/install.sh; ``--check`` only reports.

Exit status: 0 installed or already up to date; 1 with ``--check`` when something is missing;
pip's status when pip fails.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    from pip._vendor import tomli as tomllib  # type: ignore[no-redef]
try:
    from packaging.requirements import Requirement
except ModuleNotFoundError:  # a bare venv: pip's copy
    from pip._vendor.packaging.requirements import Requirement  # type: ignore[no-redef]


def install_spec(pyproject: Path = ROOT / "pyproject.toml") -> dict[str, list[str]]:
    """``{"first": [...], "project": [...], "no_deps": [...], "extras": [...]}`` from pyproject.toml.

    ``project`` is ``[project] dependencies`` plus the dependencies of the chosen extras.
    """
    data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    tool = data.get("tool", {}).get("dronepatrol", {}).get("install", {})
    project = data["project"]
    extras = list(tool.get("extras", []))
    reqs = list(project.get("dependencies", []))
    for extra in extras:
        reqs += project.get("optional-dependencies", {}).get(extra, [])
    return {
        "first": list(tool.get("first", [])),
        "project": reqs,
        "no_deps": list(tool.get("no_deps", [])),
        "extras": extras,
    }


def unmet(requirements: list[str]) -> list[str]:
    """The requirements that the installed distributions do not satisfy."""
    out = []
    for text in requirements:
        req = Requirement(text)
        if req.marker is not None and not req.marker.evaluate():
            continue
        try:
            version = metadata.version(req.name)
        except metadata.PackageNotFoundError:
            out.append(text)
            continue
        if req.specifier and not req.specifier.contains(version, prereleases=True):
            out.append(text)
    return out


def project_source() -> str | None:
    """Where the installed dronepatrol comes from (its direct_url), or None if not installed."""
    try:
        dist = metadata.distribution("dronepatrol")
    except metadata.PackageNotFoundError:
        return None
    raw = dist.read_text("direct_url.json")
    if not raw:
        return "site-packages"
    return json.loads(raw).get("url", "site-packages")


def _pip(*args: str) -> None:
    cmd = [sys.executable, "-m", "pip", "install", "-q", *args]
    print("+", " ".join(cmd[2:]), flush=True)
    subprocess.run(cmd, check=True)


def main(argv: list[str] | None = None) -> int:
    """Check, then install what is missing (see the module docstring)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="report only; exit 1 if incomplete")
    args = ap.parse_args(argv)
    spec = install_spec()
    missing = unmet(spec["first"]) + unmet(spec["project"]) + unmet(spec["no_deps"])
    source = project_source()
    here = ROOT.as_uri()
    if not missing and source == here:
        print("python packages: up to date")
        return 0
    if not missing and source is not None:
        # another checkout's dronepatrol: the `dronepatrol` command and subprocesses started
        # outside this checkout would run its code; point the editable install here
        print(f"python packages: up to date; dronepatrol was installed from {source}", flush=True)
        if args.check:
            return 1
        try:
            _pip("--no-deps", "-e", str(ROOT))
        except subprocess.CalledProcessError as exc:
            print(f"error: pip failed ({exc.returncode}): {' '.join(exc.cmd[2:])}", file=sys.stderr)
            return exc.returncode or 1
        return 0
    if source is None:
        missing.append("dronepatrol (this checkout, editable)")
    print("python packages missing: " + ", ".join(missing), flush=True)
    if args.check:
        return 1
    try:
        if unmet(spec["first"]):
            _pip(*spec["first"])
        extras = ",".join(spec["extras"])
        _pip("-e", f"{ROOT}[{extras}]" if extras else str(ROOT))
        if spec["no_deps"]:
            _pip("--no-deps", *spec["no_deps"])
    except subprocess.CalledProcessError as exc:
        print(f"error: pip failed ({exc.returncode}): {' '.join(exc.cmd[2:])}", file=sys.stderr)
        return exc.returncode or 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
