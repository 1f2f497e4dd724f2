"""A request's parameters as its query gives them (name, value pairs, repeats kept), and the
two checks every operation and interaction here makes the same way: a parameter it does not
serve is refused (400 `not-supported`, naming what it does serve: an ignored parameter
would silently widen the answer, search.html#errors), and one that may appear once is
refused when repeated (400 `invalid`)."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from services.outcome import FhirError

Params = Sequence[tuple[str, str]]


def refuse_unknown(params: Params, served: Collection[str], what: str) -> None:
    """400 `not-supported` for the parameters `what` (an operation, `_history`) does not serve."""
    unknown = sorted({p for p, _ in params} - set(served))
    if unknown:
        raise FhirError(
            400,
            f"unsupported parameter(s) for {what}: {', '.join(unknown)} "
            f"(supported: {', '.join(sorted(served))})",
            "not-supported",
            unknown,
        )


def once(params: Params, name: str) -> str | None:
    """The value of `name`, or None when absent; 400 `invalid` when it is given twice."""
    values = [v for p, v in params if p == name]
    if len(values) > 1:
        raise FhirError(400, f"{name} may be given once", "invalid", [name])
    return values[0] if values else None
