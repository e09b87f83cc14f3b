"""Standard output that a reader may close early (``authstream search x | head``).

When the reader goes away, writing raises ``BrokenPipeError``; a command then stops quietly with
the status a shell gives a process killed by SIGPIPE (141), as Unix tools do. Standard output is
pointed at /dev/null first, or Python's final flush would fail again on exit and print a traceback
of its own.
"""

import contextlib
import io
import os
import sys

EXIT_PIPE_CLOSED = 141  # 128 + SIGPIPE


def pipe_closed() -> int:
    """Call in ``except BrokenPipeError``; returns the exit status to give."""
    with contextlib.suppress(OSError, ValueError, io.UnsupportedOperation):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    return EXIT_PIPE_CLOSED
