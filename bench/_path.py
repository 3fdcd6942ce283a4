"""Puts the repo root on ``sys.path``: ``python bench/x.py`` then imports this checkout and the kit.

Each benchmark imports it first (``import _path``); ``bench/`` itself is already on the path when a
script in it runs.
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
