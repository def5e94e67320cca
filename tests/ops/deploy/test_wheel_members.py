"""A wheel whose member names reach outside its own tree is refused, naming the member."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from ops.deploy.errors import UnsafeWheelMember
from ops.deploy.package import unsafe_member_reason, wheel_entries

GOOD = (
    "evil-1.0.dist-info/METADATA",
    "evil/__init__.py",
    "evil.data/purelib/evil_extra.py",
)


def _wheel(folder: Path, *names: str) -> Path:
    """A wheel file (an ordinary zip) holding `names`, each with a line of Python."""
    path = folder / "evil-1.0-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as archive:
        for name in names:
            archive.writestr(zipfile.ZipInfo(name), b"MARKER = 1\n")
    return path


def test_a_well_formed_wheel_unpacks_under_its_own_names(tmp_path: Path) -> None:
    entries = wheel_entries(_wheel(tmp_path, *GOOD))
    assert [entry.name for entry in entries] == [
        "evil-1.0.dist-info/METADATA",
        "evil/__init__.py",
        "evil_extra.py",
    ]


@pytest.mark.parametrize(
    ("member", "reason"),
    [
        ("../../var/task/runtime/handlers/loader.py", "a '..' part"),
        ("evil/../../outside.py", "a '..' part"),
        ("evil.data/purelib/../../../outside.py", "a '..' part"),
        ("/etc/profile.d/evil.sh", "an absolute path"),
        ("C:/Windows/evil.py", "a drive letter"),
        ("C:evil.py", "a drive letter"),
        ("evil\\..\\..\\outside.py", "a backslash"),
    ],
)
def test_a_member_named_outside_the_wheel_is_refused(
    tmp_path: Path, member: str, reason: str
) -> None:
    wheel = _wheel(tmp_path, *GOOD, member)
    with pytest.raises(UnsafeWheelMember) as failure:
        wheel_entries(wheel)
    message = str(failure.value)
    assert repr(member) in message and reason in message
    assert wheel.name in message


def test_dots_that_are_not_a_parent_part_are_fine() -> None:
    for name in ("evil/..hidden.py", "evil/a..b/c.py", "evil/./x.py", "evil-1.0.dist-info/RECORD"):
        assert unsafe_member_reason(name) is None, name
