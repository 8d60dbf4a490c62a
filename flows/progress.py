"""Progress of a run, for whoever shows it (the CLI's progress bar). Steps report here; nothing
listens unless a front end subscribes, so flows run the same under a worker or in tests."""

from __future__ import annotations

from collections.abc import Callable

Listener = Callable[[str], None]
_listeners: list[tuple[str, Listener]] = []


def subscribe(listener: Listener, channel: str = "monthly") -> None:
    """Hear the steps of one channel: "monthly" (a monthly run's steps), "backfill" (fiscal years)."""
    _listeners.append((channel, listener))


def unsubscribe(listener: Listener) -> None:
    _listeners[:] = [(c, fn) for c, fn in _listeners if fn is not listener]


def step(description: str, channel: str = "monthly") -> None:
    for listening_to, listener in list(_listeners):
        if listening_to == channel:
            listener(description)
