"""The embedded data directory as the command line guards it: who may use it at once, what
the demo may delete, and which commands may create it.

- **A lock file** (`goldenhour.lock`, `flock`): `serve` and `demo` hold it shared (several
  processes may serve one data dir: an API and a processor process), `rebuild` exclusive.
  So a rebuild refuses a data dir a running server uses, and a server refuses one being
  rebuilt. The lock is the kernel's: it goes with the process, however it ends (no stale
  lock after a SIGKILL).
- **The demo's mark** (`.goldenhour-demo`): the demo writes it into a data dir it creates.
  It refuses a non-empty data dir without the mark (someone's real data), and deletes its
  own only when told (`--reset`).
- **Read-only commands** (`rebuild`, `dlq list`, `kpi`) need an existing log: a mistyped
  `--data-dir` is an error, never a new empty directory.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

from services.settings import Settings

LOCK_FILE = "goldenhour.lock"
DEMO_MARK = ".goldenhour-demo"
EMBEDDED_LOG = "log.sqlite"
# Files that do not make a data dir "non-empty" for the demo: its own bookkeeping.
BOOKKEEPING = frozenset({LOCK_FILE, DEMO_MARK})


class DataDirRefused(RuntimeError):
    """The data dir cannot be used for this command; the message says why and what to do."""


def require_log(settings: Settings) -> None:
    """Refuse a read-only command on an embedded log that does not exist (nothing created)."""
    if not settings.log_url.startswith("sqlite:"):
        return
    log = settings.data_dir / EMBEDDED_LOG
    if not log.exists():
        raise DataDirRefused(f"no event log in {settings.data_dir} ({log} does not exist)")


def require_existing(settings: Settings) -> None:
    """Refuse a command whose embedded log or store would be made in a missing data dir."""
    embedded = "sqlite:" in (settings.log_url[:7], settings.store_url[:7])
    if embedded and not settings.data_dir.is_dir():
        raise DataDirRefused(f"data dir {settings.data_dir} does not exist")
    require_log(settings)


@contextlib.contextmanager
def locked(data_dir: Path, exclusive: bool) -> Iterator[None]:
    """Hold the data dir's lock (shared: serving; exclusive: rebuilding) for the block. A
    data dir that does not exist (remote backends only) has nothing to guard."""
    if not data_dir.is_dir():
        yield
        return
    fd = os.open(data_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB)
        except BlockingIOError:
            raise DataDirRefused(_busy(data_dir, exclusive)) from None
        yield
    finally:
        os.close(fd)  # releases the lock


@contextlib.contextmanager
def serving(data_dir: Path) -> Iterator[None]:
    """The data dir of a server, created if missing and locked shared for the block; if the
    block fails (an unreachable Kafka) a data dir this call created is removed again, so a
    failed start leaves nothing behind."""
    created = not data_dir.exists()
    data_dir.mkdir(parents=True, exist_ok=True)
    try:
        with locked(data_dir, exclusive=False):
            yield
    except BaseException:
        if created and not _contents(data_dir):
            shutil.rmtree(data_dir, ignore_errors=True)
        raise


def _busy(data_dir: Path, exclusive: bool) -> str:
    if exclusive:
        return (
            f"data dir {data_dir} is in use by a running goldenhour (serve or demo); "
            "stop it first (nothing was changed)"
        )
    return f"data dir {data_dir} is being rebuilt (goldenhour rebuild); wait for it to finish"


def _contents(data_dir: Path) -> list[str]:
    return sorted(p.name for p in data_dir.iterdir() if p.name not in BOOKKEEPING)


def prepare_demo(data_dir: Path, reset: bool) -> bool:
    """Make `data_dir` ready for a demo run; True if this call created it (the caller
    removes it again if the demo cannot start). A non-empty directory the demo did not
    make is refused, with or without `reset`; the demo's own is refused unless `reset`,
    which deletes it first."""
    if not data_dir.exists():
        data_dir.mkdir(parents=True)
        (data_dir / DEMO_MARK).write_text("made by goldenhour demo; --reset deletes it\n")
        return True
    if not data_dir.is_dir():
        raise DataDirRefused(f"data dir {data_dir} is not a directory")
    if not _contents(data_dir):
        (data_dir / DEMO_MARK).write_text("made by goldenhour demo; --reset deletes it\n")
        return False
    if not (data_dir / DEMO_MARK).exists():
        raise DataDirRefused(
            f"data dir {data_dir} is not empty and was not made by the demo; "
            "choose a new --data-dir (nothing was changed)"
        )
    if not reset:
        raise DataDirRefused(
            f"data dir {data_dir} holds an earlier demo; --reset deletes it and plays again, "
            f"or `goldenhour serve --data-dir {data_dir}` serves it as it is"
        )
    with locked(data_dir, exclusive=True):  # not while a server uses it
        shutil.rmtree(data_dir)
    return prepare_demo(data_dir, reset=False)
