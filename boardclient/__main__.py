"""``python -m boardclient``."""

from __future__ import annotations

import sys

from boardclient.cli import main

sys.exit(main())
