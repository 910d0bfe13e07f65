"""``python -m devrl.cli``: the ``devrl`` command without the installed console script."""

import sys

from devrl.cli import main

sys.exit(main())
