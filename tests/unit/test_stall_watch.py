"""A processor behind the log whose checkpoints do not move is reported stalled; one that
folds anything, or has nothing to fold, is not."""

from __future__ import annotations

from services.ops.progress import StallWatch


def test_stall_watch__behind_without_progress_counts_from_the_first_probe() -> None:
    watch = StallWatch()
    assert watch.stalled_for("report-outbox", behind=3, folded_to=10, now=100.0) == 0.0
    assert watch.stalled_for("report-outbox", behind=3, folded_to=10, now=175.0) == 75.0


def test_stall_watch__progress_restarts_the_clock() -> None:
    watch = StallWatch()
    watch.stalled_for("fhir-projector", behind=9, folded_to=10, now=100.0)
    assert watch.stalled_for("fhir-projector", behind=8, folded_to=11, now=170.0) == 0.0
    assert watch.stalled_for("fhir-projector", behind=8, folded_to=11, now=180.0) == 10.0


def test_stall_watch__caught_up_is_never_stalled() -> None:
    watch = StallWatch()
    watch.stalled_for("audit", behind=2, folded_to=5, now=100.0)
    assert watch.stalled_for("audit", behind=0, folded_to=5, now=500.0) == 0.0
    assert watch.stalled_for("audit", behind=1, folded_to=5, now=600.0) == 0.0
