"""``python -m graphmem.cli``: the same as the ``graphmem`` script."""

import sys

from . import main

sys.exit(main())
