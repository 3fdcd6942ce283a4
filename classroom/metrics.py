"""Prometheus metrics of one server process (own registry: several apps can share a process)."""

from __future__ import annotations

import time
from collections import deque

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from classroom.log import ROLES


class Metrics:
    """Connected clients by role, events appended (and per second), store latency."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.connected = Gauge(
            "takhti_connected_clients",
            "Connected Socket.IO clients",
            ["role"],
            registry=self.registry,
        )
        for role in ROLES:
            self.connected.labels(role=role)
        self.events = Counter(
            "takhti_events_appended", "Events appended to lesson logs", registry=self.registry
        )
        self.events_per_s = Gauge(
            "takhti_events_per_second",
            "Events appended per second over the last 10 s",
            registry=self.registry,
        )
        self.events_per_s.set_function(self._rate)
        self.rejected = Counter(
            "takhti_events_rejected",
            "Client events answered with an error",
            ["code"],
            registry=self.registry,
        )
        self.store_latency = Histogram(
            "takhti_store_append_seconds",
            "Time to append durably to the store",
            buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1.0),
            registry=self.registry,
        )
        self.store_ping = Gauge(
            "takhti_store_ping_seconds", "Latency of the last store ping", registry=self.registry
        )
        self.classes_loaded = Gauge(
            "takhti_classes_loaded", "Classes live in this process", registry=self.registry
        )
        self._recent: deque[tuple[float, int]] = deque()

    def appended(self, count: int) -> None:
        self.events.inc(count)
        now = time.monotonic()
        self._recent.append((now, count))
        self._trim(now)

    def _trim(self, now: float) -> None:
        while self._recent and now - self._recent[0][0] > 10.0:
            self._recent.popleft()

    def _rate(self) -> float:
        self._trim(time.monotonic())
        return sum(count for _, count in self._recent) / 10.0
