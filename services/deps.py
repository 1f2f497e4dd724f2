"""Request dependencies, so route signatures read as what they need."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from services.system import System


def _system(request: Request) -> System:
    return request.app.state.system  # type: ignore[no-any-return]


SystemDep = Annotated[System, Depends(_system)]
