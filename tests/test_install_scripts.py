"""The set-up stays two commands: README's Quick start, the scripts it names, and CI agree.

README's Quick start is exactly two commands, each a script that installs what is missing first
(scripts/install.sh) and then runs the demo patrol or the tests; .ci/run runs the second. Debian
packages come only from scripts/apt-packages.txt and Python requirements only from
pyproject.toml. The install's fast path (everything already installed) is run for real.
"""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from testkit import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "scripts"))
import install_python

SCRIPTS = REPO_ROOT / "scripts"


def _quick_start_commands() -> list[str]:
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block, "README Quick start has no sh block"
    return [ln.strip() for ln in block.group(1).splitlines() if ln.strip()]


def test_readme_quick_start_is_two_self_installing_commands():
    demo, tests = _quick_start_commands()
    assert (demo, tests) == ("scripts/demo.sh", "scripts/test.sh")
    for cmd, runs in ((demo, "patrol --config configs/demo.yaml"), (tests, "-m pytest")):
        path = REPO_ROOT / cmd
        assert path.is_file() and path.stat().st_mode & 0o111, f"{cmd} is not executable"
        text = path.read_text(encoding="utf-8")
        lines = [ln for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
        install = next(i for i, ln in enumerate(lines) if "scripts/install.sh" in ln)
        run = next(i for i, ln in enumerate(lines) if runs in ln)
        assert install < run, f"{cmd} must install before it runs"


def test_ci_runs_the_readme_test_command():
    ci = (REPO_ROOT / ".ci" / "run").read_text(encoding="utf-8")
    code = [ln.strip() for ln in ci.splitlines() if ln.strip() and not ln.startswith("#")]
    assert "scripts/test.sh" in code
    assert not any("pytest" in ln for ln in code), ".ci/run must test through scripts/test.sh"


def test_apt_packages_come_from_one_list():
    listed = [
        ln.split("#", 1)[0].strip()
        for ln in (SCRIPTS / "apt-packages.txt").read_text(encoding="utf-8").splitlines()
    ]
    listed = [p for p in listed if p]
    assert listed and all(re.fullmatch(r"[a-z0-9][a-z0-9.+-]+", p) for p in listed)
    assert len(listed) == len(set(listed))
    install = (SCRIPTS / "install.sh").read_text(encoding="utf-8")
    assert "scripts/apt-packages.txt" in install
    # no package named anywhere else in the scripts (the list is the only one)
    for script in ("install.sh", "demo.sh", "test.sh", "python.sh"):
        code = "\n".join(
            ln
            for ln in (SCRIPTS / script).read_text(encoding="utf-8").splitlines()
            if not ln.lstrip().startswith("#")
        )
        for pkg in listed:
            assert not re.search(rf"(?<![\w/.-]){re.escape(pkg)}(?![\w.-])", code), (
                f"{script} names {pkg}: add Debian packages to scripts/apt-packages.txt only"
            )


def test_pip_requirements_come_only_from_pyproject():
    spec = install_python.install_spec()
    assert any(r.startswith("torch==") for r in spec["first"])
    assert any(r.startswith("pymavlink") for r in spec["project"])
    assert any(r.startswith("pytest") for r in spec["project"])  # the dev extra
    for script in ("install.sh", "demo.sh", "test.sh", "python.sh"):
        text = (SCRIPTS / script).read_text(encoding="utf-8")
        assert "pip install" not in text, f"{script} installs with pip itself"
    assert (REPO_ROOT / "requirements.txt").exists() is False


def test_unmet_reads_installed_versions():
    assert install_python.unmet(["pytest>=1"]) == []
    assert install_python.unmet(["pytest<1"]) == ["pytest<1"]
    assert install_python.unmet(["surely-not-installed-dronepatrol-x==1"]) != []
    assert install_python.unmet(['pytest<1; python_version < "3"']) == []


def test_install_fast_path_changes_nothing_when_all_is_installed():
    check = subprocess.run(
        [sys.executable, str(SCRIPTS / "install_python.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    if check.returncode != 0:
        pytest.skip(f"this environment lacks packages: {check.stdout.strip()}")
    r = subprocess.run(
        [str(SCRIPTS / "install.sh")],
        capture_output=True,
        text=True,
        timeout=300,
        env={"PYTHON": sys.executable, "PATH": "/usr/bin:/bin:/usr/sbin:/sbin"},
    )
    assert r.returncode == 0, r.stderr
    assert "debian packages: up to date" in r.stdout or "no apt-get" in r.stderr
    assert "python packages: up to date" in r.stdout
    assert "+ install" not in r.stdout  # pip was not run
