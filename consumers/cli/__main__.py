"""``python -m consumers.cli``: the same as the ``authstream`` command."""

import sys

from consumers.cli.main import main

sys.exit(main())
