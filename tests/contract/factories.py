"""What every backend's contract fixture does: hand the suite a factory that opens one more
instance on each call (a second one is a reopen, as after a restart) and close them all
when the test ends."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Protocol, TypeVar


class Closable(Protocol):
    def close(self) -> None: ...


C = TypeVar("C", bound=Closable)


def closed_after(open_one: Callable[[], C]) -> Iterator[Callable[[], C]]:
    """Yield a factory calling `open_one`; afterwards close every instance it opened."""
    made: list[C] = []

    def make() -> C:
        made.append(open_one())
        return made[-1]

    yield make
    for instance in made:
        instance.close()
