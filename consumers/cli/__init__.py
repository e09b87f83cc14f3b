"""The ``authstream`` command line (see ``consumers.cli.main``)."""

from consumers.cli.main import main

__all__ = ["main"]
