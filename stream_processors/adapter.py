"""One shape for every processor as the runner sees it (`runner.Projection`): a name (its
consumer group), its topics, and a table `folds` of event name -> `Step(refs, fold)`.

`refs(event)` names the documents an event touches; the runner loads them (those that exist)
into `state` and calls `fold(state, event)`, which returns the new content of every document
the event changes (only documents `refs` named; an empty dict: no new version). An event not
in the table touches nothing: most events of a topic belong to other processors. `index`
gives a document's lookups; `emit`, when set, derives events from an event (given the same
state as `fold`, before the event).

Two builders cover the usual tables: `by_name` for a fold that dispatches on the event name
itself, `one_document` for events that each change one document found from the event.
A processor module is then its table: `PROCESSOR = Processor(name, topics, folds, index)`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from kernel.jsontypes import Json
from stream_processors.runner import Emitted
from viewstore.base import IndexEntry

Ref = tuple[str, str]
State = Mapping[Ref, Json]
Changes = dict[Ref, Json]
Refs = Callable[[Json], list[Ref]]
Fold = Callable[[State, Json], Changes]
Index = Callable[[Json], list[IndexEntry]]
Emit = Callable[[State, str, Json], list[Emitted]]


@dataclass(frozen=True)
class Step:
    """What one event name does: the documents it touches, and how it changes them."""

    refs: Refs
    fold: Fold


def no_index(resource: Json) -> list[IndexEntry]:
    """No lookups: the document is read by id only."""
    return []


def no_change(state: State, event: Json) -> Changes:
    """Touches documents (so `emit` sees them) without changing any."""
    return {}


@dataclass(frozen=True)
class Processor:
    """A processor as the runner sees it (`runner.Projection`), built from its fold table."""

    name: str
    topics: list[str]
    folds: Mapping[str, Step] = field(default_factory=dict)
    index: Index = no_index
    emit: Emit | None = None
    # > 0: folded live at most this often, in batches (runner.Runner._run_consumer), for a
    # busy topic whose views nobody waits on to answer a request.
    linger_s: float = 0.0

    def refs(self, event_name: str, event: Json) -> list[Ref]:
        """The documents `event` touches; none for an event not in the table."""
        step = self.folds.get(event_name)
        return step.refs(event) if step else []

    def fold(self, state: State, event_name: str, event: Json) -> Changes:
        """New content of every document `event` changes."""
        step = self.folds.get(event_name)
        return step.fold(state, event) if step else {}


def by_name(
    names: Iterable[str], refs: Refs, fold: Callable[[State, str, Json], Changes]
) -> dict[str, Step]:
    """One step per event name, for a fold that takes the event name itself."""
    return {name: Step(refs, _named(fold, name)) for name in names}


def one_document(
    names: Iterable[str],
    ref: Callable[[Json], Ref],
    step: Callable[[Json | None, str, Json], Json | None],
) -> dict[str, Step]:
    """Steps for events that each change the one document `ref(event)`: `step(before,
    event_name, event)` gets its content (None: not yet written) and returns the new
    content, or None for no new version."""

    def fold(state: State, event_name: str, event: Json) -> Changes:
        key = ref(event)
        after = step(state.get(key), event_name, event)
        return {} if after is None else {key: after}

    return by_name(names, lambda event: [ref(event)], fold)


def _named(
    fold: Callable[[State, str, Json], Changes], name: str
) -> Callable[[State, Json], Changes]:
    return lambda state, event: fold(state, name, event)
