"""Takhti classroom server: classes, roles, the lesson log, live features, exports."""

from __future__ import annotations

__version__ = "0.1.0"
