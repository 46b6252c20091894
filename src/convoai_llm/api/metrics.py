"""Prometheus metrics, one registry per app (no module globals), and a pure ASGI middleware that
counts requests by route and status. Route labels come from a fixed set, never from the raw path."""

from __future__ import annotations

import time
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from convoai_llm.api.routespec import ROUTES, RouteSpec

OTHER_ROUTES = ("/models", "/healthz", "/readyz", "/metrics", "/")
_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


def route_labels(routes: tuple[RouteSpec, ...] = ROUTES) -> dict[str, str]:
    """Every known path (with and without `/v1`) → its label; anything else is `other`."""
    labels = {path: spec.path for spec in routes for path in spec.paths}
    labels.update({p: p for p in OTHER_ROUTES})
    labels.update({"/v1" + p: p for p in OTHER_ROUTES if p != "/"})
    return labels


@dataclass(frozen=True, slots=True)
class RouteMetrics:
    """One route's metric children, resolved once: `labels()` takes a lock and builds a key on every call."""

    ttft: Histogram
    duration: Histogram
    inflight: Gauge
    disconnects: Counter


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "convoai_requests",
            "HTTP requests by route and status.",
            ["route", "status"],
            registry=self.registry,
        )
        self.ttft = Histogram(
            "convoai_time_to_first_token_seconds", "Request arrival to first content chunk.", ["route"],
            buckets=_LATENCY_BUCKETS, registry=self.registry,
        )  # fmt: skip
        self.duration = Histogram(
            "convoai_stream_duration_seconds", "Whole stream duration.", ["route"],
            buckets=_LATENCY_BUCKETS, registry=self.registry,
        )  # fmt: skip
        self.inflight = Gauge("convoai_inflight_streams", "Streams in flight.", ["route"], registry=self.registry)
        self.stream_errors = Counter(
            "convoai_stream_errors", "Errors sent inside a stream.", ["route", "type"], registry=self.registry
        )
        self.disconnects = Counter(
            "convoai_client_disconnects", "Streams the client left early.", ["route"], registry=self.registry
        )
        self._routes: dict[str, RouteMetrics] = {}
        self._counts: dict[tuple[str, int], Counter] = {}

    def route(self, label: str) -> RouteMetrics:
        """The children for one route label (labels come from a fixed set, so this stays small)."""
        children = self._routes.get(label)
        if children is None:
            children = RouteMetrics(
                self.ttft.labels(label), self.duration.labels(label), self.inflight.labels(label),
                self.disconnects.labels(label),
            )  # fmt: skip
            self._routes[label] = children
        return children

    def count(self, label: str, status: int) -> None:
        """One response by route label and status (both from fixed sets: the cache stays small)."""
        child = self._counts.get((label, status))
        if child is None:
            child = self._counts[(label, status)] = self.requests.labels(label, str(status))
        child.inc()


class MetricsMiddleware:
    """Counts every HTTP response by route label and status (pure ASGI: no per-chunk overhead)."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics
        self.labels = route_labels()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        scope.setdefault("state", {})["started"] = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            self.metrics.count(self.labels.get(scope["path"], "other"), status)
