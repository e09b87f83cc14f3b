"""Output files that are whole or absent: written under a temporary name beside the target, then
renamed over it (atomic on POSIX). A failed or interrupted export never truncates or half-writes
an existing file. Problems with the path are said up front, in words, before any work is done.

Files are readable by their owner only (0600) unless the caller says otherwise: exports hold
personal data.
"""

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO, cast

from consumers.core.errors import ConfigurationError


def _refuse(path: Path, why: str) -> ConfigurationError:
    return ConfigurationError(f"cannot write to {path}: {why}")


def check_writable(path: Path) -> None:
    """Raise a ``ConfigurationError`` saying why ``path`` cannot be written, if it cannot."""
    folder = path.parent
    if path.is_dir():
        raise _refuse(path, "it is a folder; give a file name")
    if not folder.exists():
        raise _refuse(path, f"the folder {folder} does not exist")
    if not folder.is_dir():
        raise _refuse(path, f"{folder} is not a folder")
    if path.exists() and not os.access(path, os.W_OK):
        raise _refuse(path, "the file is read-only for this user")


@contextlib.contextmanager
def replaced_atomically(path: str | Path, mode: int = 0o600) -> Iterator[TextIO]:
    """A text stream (UTF-8, newlines untranslated) that becomes ``path`` only on success.
    ``mode``: the file's permissions (0600 unless what it holds is public)."""
    target = Path(path)
    check_writable(target)
    try:
        handle = tempfile.NamedTemporaryFile(  # noqa: SIM115 (closed below, renamed on success)
            "w",
            encoding="utf-8",
            newline="",
            dir=target.parent,
            prefix=f".{target.name}.",
            suffix=".part",
            delete=False,
        )
    except PermissionError:
        raise _refuse(target, f"the folder {target.parent} is not writable") from None
    except OSError as exc:
        raise _refuse(target, exc.strerror or type(exc).__name__) from None
    temporary = Path(handle.name)
    try:
        with handle:
            yield cast(TextIO, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, target)
    except OSError as exc:  # a full disk, a quota, an I/O error: while writing or renaming
        temporary.unlink(missing_ok=True)
        why = exc.strerror or type(exc).__name__
        raise _refuse(target, f"{why}; nothing was changed there") from None
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
