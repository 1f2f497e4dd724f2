"""Request dependencies, so route signatures read as what they need."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, TypeVar

from fastapi import Depends, Request

from avro_schemas.codec import Codec
from eventlog.base import EventLog
from services.system import System

T = TypeVar("T")


async def _system(request: Request) -> System:
    # Async: FastAPI would run a plain `def` dependency in its thread pool (a thread hop
    # per request for one attribute read).
    return request.app.state.system  # type: ignore[no-any-return]


SystemDep = Annotated[System, Depends(_system)]


def app_writer(name: str, make: Callable[[EventLog, Codec], T]) -> Callable[[Request], T]:
    """A dependency giving the app's one writer `make(log, codec)`, made at its first use
    and kept in `app.state.<name>` for the app's life: requests share what a writer caches
    of the log (e.g. each incident's version) and the lock guarding it."""

    def writer(request: Request) -> T:
        made: T | None = getattr(request.app.state, name, None)
        if made is None:
            system: System = request.app.state.system
            made = make(system.log, system.codec)
            setattr(request.app.state, name, made)
        return made

    return writer
