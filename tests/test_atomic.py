"""ovmer.atomic: files appear whole, with the mode open() would give them, and outputs are checked first."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from ovmer.atomic import check_writable_dir, check_writable_file, write_text_atomic
from ovmer.errors import OutputPathError


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_new_files_respect_the_umask(tmp_path: Path, umask: int) -> None:
    old = os.umask(umask)
    try:
        write_text_atomic(tmp_path / "out.txt", "x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "out.txt").stat().st_mode) == 0o666 & ~umask
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_a_rewritten_file_keeps_its_mode(tmp_path: Path) -> None:
    path = tmp_path / "out.txt"
    path.write_text("old")
    path.chmod(0o640)
    write_text_atomic(path, "new")
    assert stat.S_IMODE(path.stat().st_mode) == 0o640 and path.read_text() == "new"


def test_output_checks_name_the_path_and_create_nothing(tmp_path: Path) -> None:
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    with pytest.raises(OutputPathError, match=rf"{tmp_path}: is a folder"):
        check_writable_file(tmp_path, "--json")
    with pytest.raises(OutputPathError, match="is a file, not a folder"):
        check_writable_file(a_file / "sub.json", "--json")
    with pytest.raises(OutputPathError, match="cannot write in /proc"):
        check_writable_file("/proc/x.json", "--json")
    with pytest.raises(OutputPathError, match=rf"{a_file}: is a file, not a folder \(give --out a folder\)"):
        check_writable_dir(a_file, "--out")
    check_writable_file(tmp_path / "new" / "deeper" / "x.json")
    check_writable_dir(tmp_path / "new_dir")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_file"]
