"""constraints.txt pins every dependency that pyproject.toml names, and both README commands
install through it, so a dependency added without a pin (or a pin outside the range that
pyproject states) fails CI instead of floating to whatever release is newest that day."""

from __future__ import annotations

import re
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;]+)", re.M)


def _pins() -> dict[str, Version]:
    text = (ROOT / "constraints.txt").read_text(encoding="utf-8")
    return {canonicalize_name(name): Version(version) for name, version in PIN.findall(text)}


def _named_in_pyproject() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    named = list(project["dependencies"])
    for extra in project.get("optional-dependencies", {}).values():
        named.extend(extra)
    return [Requirement(line) for line in named]


def test_every_dependency_in_pyproject_is_pinned_within_its_range() -> None:
    pins = _pins()
    for req in _named_in_pyproject():
        name = canonicalize_name(req.name)
        assert name in pins, (
            f"{req.name} is in pyproject.toml but not pinned in constraints.txt: "
            "run bash scripts/lock.sh"
        )
        assert req.specifier.contains(pins[name], prereleases=True), (
            f"constraints.txt pins {req.name}=={pins[name]}, outside pyproject's {req}"
        )


def test_the_extras_asked_of_dependencies_are_pinned_too() -> None:
    """uvicorn[standard], psycopg[binary]: what those extras pull in on this platform (as
    the installed metadata tells) is pinned as well."""
    pins = _pins()
    for req in _named_in_pyproject():
        if not req.extras:
            continue
        try:
            requires = metadata.requires(req.name) or []
        except metadata.PackageNotFoundError:
            continue  # an extra of pyproject's (bench) that this environment did not install
        for line in requires:
            sub = Requirement(line)
            if sub.marker is None:
                continue
            if any(sub.marker.evaluate({"extra": extra}) for extra in req.extras):
                assert canonicalize_name(sub.name) in pins, (
                    f"{req.name}[{','.join(req.extras)}] needs {sub.name}, not pinned in "
                    "constraints.txt: run bash scripts/lock.sh"
                )


def test_both_readme_commands_install_through_the_lock() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Two commands", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"```sh\n(.*?)```", section, flags=re.S)
    assert len(commands) == 2, commands
    for command in commands:
        assert "pip install -q -c constraints.txt " in command, command
