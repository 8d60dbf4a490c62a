"""Progress of a run, for whoever shows it (the CLI's progress bar). Steps report here; nothing
listens unless a front end subscribes, so flows run the same under a worker or in tests."""

from __future__ import annotations

from collections.abc import Callable

Listener = Callable[[str], None]
_listeners: list[Listener] = []


def subscribe(listener: Listener) -> None:
    _listeners.append(listener)


def unsubscribe(listener: Listener) -> None:
    if listener in _listeners:
        _listeners.remove(listener)


def step(description: str) -> None:
    for listener in list(_listeners):
        listener(description)
