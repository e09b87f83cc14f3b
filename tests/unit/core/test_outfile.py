from pathlib import Path

import pytest

from consumers.core.errors import ConfigurationError
from consumers.core.outfile import replaced_atomically


def test_the_file_appears_whole_only_when_the_writing_succeeds(tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    target.write_text("old\n")
    with replaced_atomically(target) as out:
        out.write("new\r\n")
        assert target.read_text() == "old\n"  # not yet
        [part] = [p for p in tmp_path.iterdir() if p.name.endswith(".part")]
        assert part.name.startswith(".out.csv.")
    assert target.read_bytes() == b"new\r\n"  # newlines untranslated (CSV writes \r\n itself)
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]


def test_a_failure_while_writing_keeps_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    target.write_text("old\n")
    with pytest.raises(RuntimeError), replaced_atomically(target) as out:
        out.write("half")
        raise RuntimeError("the export failed")
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]


def test_a_folder_is_not_a_file_name(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="it is a folder"), replaced_atomically(tmp_path):
        pass
