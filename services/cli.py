"""`goldenhour`: the command line of the system.

  serve           run ingest + FHIR API + processors (embedded log and store by default)
  demo            serve and play a short clinical scenario through the public HTTP API
  rebuild         drop the views and fold the whole log again, from offset zero
  schemas check   refuse event schema changes that cannot read old data
  schemas freeze  release changed schemas as the next version
  schemas asyncapi  print the AsyncAPI document of the topics (deploy/asyncapi/asyncapi.json)
  kpi             chest-pain and 120 quality indicators from the log, as of any instant
  simulate        drive a simulated county (stations, clinics, reading centre) over HTTP
  dlq list        dead letters (records a processor could not fold) and why
  dlq replay      append a dead letter's record to its topic again, once the cause is fixed
  token           mint a bearer token of the dev issuer (demo and tests; never a region's)
  registry load   load a registry seed file (who is who; re-loading appends nothing new)

Exit codes: 0 success, 1 failure (a check found problems, or the system could not do
it: a busy port, an unreachable Kafka, a data dir in use), 2 usage error (a bad flag or
URL). Every error is one line on stderr, without a traceback unless `--debug`.
"""

from __future__ import annotations

import argparse
import errno
import logging
import sys
import threading
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from pydantic import ValidationError

from services.datadir import DataDirRefused
from services.settings import Settings

if TYPE_CHECKING:
    import socket
    from collections.abc import Callable

    from services.progress import Progress, Step
    from services.system import System
    from stream_processors.quality_kpis.published import KpiReport


class UsageError(Exception):
    """A bad flag, URL or setting: one line, exit 2."""


class Failed(Exception):
    """The command could not do its job: one line, exit 1."""


def _settings(args: argparse.Namespace) -> Settings:
    """The settings from flags and GOLDENHOUR_* variables, with the backend URLs checked
    before anything is opened or created."""
    from services.backends import url_problem

    overrides = {
        k: v
        for k, v in {
            "data_dir": args.data_dir,
            "log_url": args.log,
            "store_url": args.store,
            "http_port": getattr(args, "http_port", None),
            "mllp_port": getattr(args, "mllp_port", None),
            "host": getattr(args, "host", None),
        }.items()
        if v is not None
    }
    try:
        settings = Settings(**overrides)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in first["loc"])
        raise UsageError(f"setting {where}: {first['msg']}") from exc
    for url, kind in ((settings.log_url, "log"), (settings.store_url, "store")):
        if why := url_problem(url, kind):
            raise UsageError(why)
    return settings


def _backend_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data-dir", type=Path, help="embedded data directory (default ./data)")
    p.add_argument("--log", help="event log URL: sqlite: (default) or kafka://host:port")
    p.add_argument(
        "--store", help="view store URL: sqlite: (default) or cassandra://host:port/keyspace"
    )


def bind_port(settings: Settings) -> socket.socket:
    """The HTTP port, bound before anything else (a busy port: nothing changed); the MLLP
    port is tried too, so a second server fails here and not after opening the data dir."""
    import socket

    from services.server import bind_http

    try:
        sock = bind_http(settings)
    except OSError as exc:
        raise Failed(_port_problem("HTTP", settings.host, settings.http_port, exc)) from exc
    if settings.mllp_port > 0:
        try:
            with socket.create_server((settings.host, settings.mllp_port)):
                pass  # free now; the listener binds it once the system is up
        except OSError as exc:
            sock.close()
            raise Failed(_port_problem("MLLP", settings.host, settings.mllp_port, exc)) from exc
    return sock


def _port_problem(what: str, host: str, port: int, exc: OSError) -> str:
    flag = "--http-port" if what == "HTTP" else "--mllp-port"
    if exc.errno == errno.EADDRINUSE:
        return f"{what} port {port} on {host} is in use (another goldenhour?); choose {flag}"
    return f"cannot listen for {what} on {host}:{port}: {exc.strerror or exc}"


def cmd_serve(args: argparse.Namespace) -> int:
    from services.datadir import serving
    from services.server import serve

    settings = _settings(args)
    sock = bind_port(settings)
    with serving(settings.data_dir):  # refused while a rebuild runs
        serve(settings, sock)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from services.demo import run_demo

    settings = _settings(args)
    return run_demo(settings, reset=args.reset, http_socket=bind_port(settings))


def cmd_rebuild(args: argparse.Namespace) -> int:
    from services.datadir import locked, require_existing
    from services.progress import Progress
    from services.system import bootstrap
    from stream_processors.runner import replay

    settings = _settings(args)
    require_existing(settings)  # a mistyped --data-dir is an error, not a new empty log
    # To a pipe, one line per processor (its summary below) and no progress lines.
    with locked(settings.data_dir, exclusive=True), Progress(marks=()) as progress:
        system = bootstrap(settings)
        try:
            if args.derive_again:
                for runner in system.runners:
                    runner.derive_again()
            _restart_groups(system)
            progress.say("rebuild: dropping views and checkpoints")
            system.store.truncate()
            # Every processor at once (stream_processors/runner.py `replay`), one bar for all.
            lags = [runner.lag() for runner in system.runners]
            step, finished = _rebuild_step(progress, sum(lags))
            replay(system.runners, progress=step)
            finished()
            for runner, lag in zip(system.runners, lags, strict=True):
                progress.say(
                    f"rebuild: {runner.projection.name}: {runner.stats.folded}/{lag} events "
                    f"folded, dead-lettered {runner.stats.dead_lettered}, "
                    f"versions written {runner.stats.versions_written}"
                )
        finally:
            system.close()
    return 0


def _restart_groups(system: System) -> None:
    """On Kafka, set every processor's group offsets to 0 before the replay, which commits
    them as it goes: `kafka-consumer-groups.sh --describe` then shows what the rebuild has
    left. Kafka refuses while a group has members, so a rebuild under running processors
    stops here, before anything is dropped or any group reset."""
    from eventlog.kafka import KafkaEventLog

    if not isinstance(system.log, KafkaEventLog):
        return  # the embedded log's groups are the data dir's, locked against `serve`
    for runner in system.runners:
        runner.remember_emitted()  # where derivations stopped, read before the reset
    system.log.reset_groups(
        {
            runner.projection.name: {
                tp: 0 for t in runner.projection.topics for tp in system.log.end_offsets(t)
            }
            for runner in system.runners
        }
    )


REBUILD_RATE_EVERY_S = 10.0  # a rate and ETA line this often during a rebuild


def _rebuild_step(progress: Progress, total: int) -> tuple[Step, Callable[[], None]]:
    """The rebuild's progress: the bar, plus a line with the rate and ETA every
    REBUILD_RATE_EVERY_S, so a log of a long rebuild says how long; and what prints the
    last such line once the replay is over (its total may grow while it runs: events
    derived during the replay are folded in further rounds)."""
    import time

    bar = progress.task("rebuild", total)
    start = last = time.monotonic()
    seen = (0, total)

    def say(done: int, total_: int) -> None:
        now = time.monotonic()
        rate = done / max(now - start, 1e-9)
        eta = (total_ - done) / rate if rate else 0.0
        progress.say(
            f"rebuild: {done:,}/{total_:,} records, {rate:,.0f} records/s, "
            f"ETA {int(eta) // 60}:{int(eta) % 60:02d}"
        )

    def step(done: int, total_: int) -> None:
        nonlocal last, seen
        bar(done, total_)
        seen = (done, total_)
        if time.monotonic() - last >= REBUILD_RATE_EVERY_S:
            last = time.monotonic()
            say(done, total_)

    return step, lambda: say(*seen)


def cmd_schemas(args: argparse.Namespace) -> int:
    from avro_schemas import evolution

    if args.action == "asyncapi":
        from services.asyncapi import render

        sys.stdout.write(render())
        return 0
    if args.action == "check":
        problems = evolution.check()
        for p in problems:
            print(f"schema problem: {p}", file=sys.stderr)
        print("schemas: ok" if not problems else f"schemas: {len(problems)} problem(s)")
        return 1 if problems else 0
    try:
        written = evolution.freeze()
    except ValueError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    for path in written:
        print(f"released {path}")
    print(f"schemas: {len(written)} released")
    return 0


def cmd_kpi(args: argparse.Namespace) -> int:
    import json

    from avro_schemas.codec import Codec
    from services.backends import open_log
    from services.kpi.compute import BadKpiQuery, kpi_report, parse_as_of, parse_by
    from services.kpi.export import to_csv

    settings = _settings(args)
    try:
        at, by = parse_as_of(args.as_of), parse_by(args.by)
    except BadKpiQuery as exc:
        print(f"kpi: {exc}", file=sys.stderr)
        return 2
    if settings.log_url.startswith("sqlite:") and not (settings.data_dir / "log.sqlite").exists():
        print(f"kpi: no event log in {settings.data_dir}", file=sys.stderr)
        return 1
    log = open_log(settings.log_url, settings.data_dir)
    try:
        report = kpi_report(log, Codec(), at, by)
    finally:
        log.close()
    if args.format == "json":
        print(json.dumps(report.to_json(with_cases=args.cases), ensure_ascii=False, indent=2))
    elif args.format == "csv":
        sys.stdout.write(to_csv(report))
    else:
        print(_kpi_table(report))
    return 0


def _kpi_table(report: KpiReport) -> str:
    from stream_processors.quality_kpis.published import KPIS

    def num(v: float | None, pct: bool = False) -> str:
        if v is None:
            return "-"
        return f"{100 * v:.0f}%" if pct else f"{v:.1f}"

    when = report.as_of.isoformat() if report.as_of else "now (whole log)"
    lines = [
        f"quality indicators as of {when}: {report.events_counted} of {report.events_read} "
        "events recorded by then (recorded_at <= as of); intervals from event times",
        f"{'indicator':<24} {'group':<22} {'cases':>5} {'meas':>5} {'miss':>5} "
        f"{'median':>8} {'p90':>8} {'compl':>6}  target",
    ]
    for kpi in KPIS:
        if not kpi.available:
            lines.append(f"{kpi.code:<24} {kpi.unavailable_reason}")
            continue
        target = f"<= {kpi.target_minutes:g} min" if kpi.target_minutes else ""
        if kpi.compliance_target is not None:
            target += f"{', ' if target else ''}>= {100 * kpi.compliance_target:.0f}%"
        for f in (f for f in report.figures if f.kpi == kpi.code):
            lines.append(
                f"{kpi.code:<24} {f.group:<22} {f.cases:>5} {f.measured:>5} {f.missing:>5} "
                f"{num(f.median_min):>8} {num(f.p90_min):>8} {num(f.compliance, True):>6}  {target}"
            )
    lines.append(
        "triage outcome (ambulance STEMI call vs the hospital's final diagnosis), per month "
        "of the call:"
    )
    lines.append(
        f"{'month':<10} {'tp':>4} {'fp':>4} {'fn':>4} {'tn':>4} {'pending':>8} {'ppv':>6} {'sens':>6}"
    )
    for r in report.triage:
        lines.append(
            f"{r.month:<10} {r.tp:>4} {r.fp:>4} {r.fn:>4} {r.tn:>4} {r.pending:>8} "
            f"{num(r.ppv, True):>6} {num(r.sensitivity, True):>6}"
        )
    return "\n".join(lines)


QUARTERS = (0.25, 0.5, 0.75, 1.0)  # a long simulation's lines to a pipe


def cmd_simulate(args: argparse.Namespace) -> int:
    import datetime as dt

    import httpx

    from services.simulate import region

    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request otherwise
    try:
        start = (
            dt.datetime.fromisoformat(args.start.replace("Z", "+00:00"))
            if args.start
            else region.DEFAULT_START
        )
    except ValueError as exc:
        print(f"simulate: --start: {exc}", file=sys.stderr)
        return 2
    if start.tzinfo is None:
        print("simulate: --start needs a UTC offset (e.g. +08:00)", file=sys.stderr)
        return 2
    config = region.RegionConfig(
        stations=args.stations,
        clinics=args.clinics,
        days=args.days,
        seed=args.seed,
        start=start,
        incidents_per_station_day=args.incidents_per_day,
        ecgs_per_clinic_day=args.ecgs_per_day,
        ecg_seconds=args.ecg_seconds,
    )
    scenario = region.plan(config)
    print(
        f"simulate: {config.stations} stations, {config.clinics} clinics, {config.days} day(s) "
        f"from {start.isoformat()}, seed {config.seed}: {len(scenario.steps)} steps",
        file=sys.stderr,
    )
    server = None
    url = args.url
    if url is None:
        from services.server import Server

        settings = _settings(args)
        if settings.data_dir == Path("data"):
            settings = settings.model_copy(update={"data_dir": Path("data") / "simulate"})
        settings = settings.model_copy(update={"mllp_port": -1})
        server = Server(settings, bind_port(settings))  # a busy port: refused before any file
        server.start()
        url = server.base_url
        print(f"simulate: embedded server {url} (data {settings.data_dir})", file=sys.stderr)
    from services.progress import Progress

    try:
        with httpx.Client(base_url=url, timeout=60) as client, Progress(marks=QUARTERS) as bar:
            played = region.play(client, scenario.steps, bar.task("simulate", len(scenario.steps)))
    except (region.SimulationFailed, httpx.HTTPError) as exc:
        print(f"\nsimulate: {exc}", file=sys.stderr)
        return 1
    finally:
        if server is not None:
            server.stop()
    print(
        f"simulate: {played.batches} tablet batches ({played.events} events), "
        f"{played.clinic_ecgs} clinic ECGs, {played.reads} reads signed "
        f"({played.reads_skipped} already signed) in {played.seconds:.1f} s"
    )
    return 0


def cmd_dlq(args: argparse.Namespace) -> int:
    from avro_schemas.codec import Codec
    from services.backends import open_log
    from services.datadir import require_log
    from services.ops.dead_letters import dead_letters, replay

    if args.action == "replay" and (args.topic is None or args.offset is None):
        raise UsageError("dlq replay needs --topic and --offset (see `goldenhour dlq list`)")
    settings = _settings(args)
    require_log(settings)  # reading dead letters never creates a data dir
    log = open_log(settings.log_url, settings.data_dir)
    try:
        letters = dead_letters(log, Codec(), args.topic)
        if args.action == "list":
            for letter in letters:
                print(letter.summary())
            print(f"dlq: {len(letters)} dead letter(s)", file=sys.stderr)
            return 0
        chosen = [
            x
            for x in letters
            if (x.topic, x.partition, x.offset)
            == (f"{args.topic}.dlq", args.partition, args.offset)
        ]
        if not chosen:
            print(
                f"dlq: no dead letter at {args.topic}.dlq/{args.partition}@{args.offset}",
                file=sys.stderr,
            )
            return 1
        appended = replay(log, chosen[0])
        print(
            f"dlq: replayed to {appended.topic}/{appended.partition}@{appended.offset}"
            + (" (already replayed)" if appended.duplicate else "")
        )
        return 0
    finally:
        log.close()


def cmd_token(args: argparse.Namespace) -> int:
    """Print a dev issuer token (services/auth/tokens.py); the key is made in the data dir
    on first use. A server trusts it only with auth_dev_issuer on (the default only where
    auth_required is off)."""
    from services.auth.principal import DEFAULT_SCOPES, ROLES
    from services.auth.tokens import mint_dev

    if args.role not in ROLES:
        print(f"--role must be one of {', '.join(ROLES)}", file=sys.stderr)
        return 2
    settings = Settings(**({"data_dir": args.data_dir} if args.data_dir else {}))
    scopes = args.scope or DEFAULT_SCOPES[args.role]
    subject = args.subject or f"{args.role}@{args.site or 'region'}"
    print(mint_dev(settings, subject, args.role, args.site, scopes, args.minutes))
    return 0


def cmd_registry(args: argparse.Namespace) -> int:
    """Load a seed through the admin API's write path: straight to the log given by the
    backend flags, or to a running server's admin API with --url (and --token)."""
    import httpx

    from services.registry import seed

    try:
        doc = seed.read(args.file)
        if args.url:
            headers = {"Authorization": f"Bearer {args.token}"} if args.token else {}
            with httpx.Client(base_url=args.url, headers=headers, timeout=30) as client:
                outcomes = [a["outcome"] for a in seed.post(client, doc)]
        else:
            outcomes = _load_direct(args, doc)
    except (OSError, ValueError, httpx.HTTPError) as exc:
        print(f"registry: {exc}", file=sys.stderr)
        return 1
    counts = {o: outcomes.count(o) for o in sorted(set(outcomes))}
    print(f"registry: {len(outcomes)} entries: " + ", ".join(f"{n} {o}" for o, n in counts.items()))
    return 0


def _load_direct(args: argparse.Namespace, doc: dict[str, object]) -> list[str]:
    from avro_schemas.catalogue import all_topics
    from avro_schemas.codec import Codec
    from services.backends import open_log
    from services.registry import seed
    from services.registry.commands import Registry

    settings = _settings(args)
    log = open_log(settings.log_url, settings.data_dir)
    try:
        log.ensure_topics(all_topics())
        return [a.outcome for a in seed.load(Registry(log, Codec()), doc, user="cli")]
    finally:
        log.close()


class _Parser(argparse.ArgumentParser):
    """argparse, with a usage error as one line (exit 2) instead of the usage text."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


def _version() -> str:
    try:
        return version("goldenhour")
    except PackageNotFoundError:
        return "unknown (not installed)"


def parser() -> argparse.ArgumentParser:
    root = _Parser(
        prog="goldenhour", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    root.add_argument("--version", action="version", version=f"goldenhour {_version()}")
    root.add_argument("--debug", action="store_true", help="tracebacks and debug logging on errors")
    sub = root.add_subparsers(dest="command", required=True, parser_class=_Parser)
    serve = sub.add_parser("serve", help="run the system")
    _backend_flags(serve)
    serve.add_argument("--host", help="HTTP bind address (default 127.0.0.1)")
    serve.add_argument("--http-port", type=int, help="HTTP port (default 8080)")
    serve.add_argument("--mllp-port", type=int, help="HL7 v2 MLLP port (default 2575; -1 disables)")
    serve.set_defaults(func=cmd_serve)
    demo = sub.add_parser("demo", help="serve and play a scenario (DEMO_EXIT=1 exits after it)")
    _backend_flags(demo)
    demo.add_argument("--http-port", type=int, help="HTTP port (default 8080)")
    demo.add_argument("--mllp-port", type=int, help="HL7 v2 MLLP port (default 2575)")
    demo.add_argument(
        "--reset",
        action="store_true",
        help="delete the data dir of an earlier demo run first (never one the demo did not make)",
    )
    demo.set_defaults(func=cmd_demo)
    rebuild = sub.add_parser("rebuild", help="drop views and replay the log from offset 0")
    _backend_flags(rebuild)
    rebuild.add_argument(
        "--derive-again",
        action="store_true",
        help="derive events again from every record (once, after an upgrade that derives "
        "something new from old events; see deploy/RUNBOOK.md)",
    )
    rebuild.set_defaults(func=cmd_rebuild)
    schemas = sub.add_parser("schemas", help="event schema evolution, the topics' AsyncAPI")
    schemas.add_argument("action", choices=["check", "freeze", "asyncapi"])
    schemas.set_defaults(func=cmd_schemas)
    kpi = sub.add_parser(
        "kpi", help="quality indicators from the log, as of an instant (exit 2: bad --as-of)"
    )
    _backend_flags(kpi)
    kpi.add_argument(
        "--as-of",
        help="ISO 8601 instant with offset, e.g. 2026-03-01T00:00+08:00: figures from the "
        "events recorded by then (default: the whole log)",
    )
    kpi.add_argument(
        "--by",
        choices=["all", "station", "clinic", "hospital", "centre", "month"],
        default="all",
        help="group the figures (default all)",
    )
    kpi.add_argument("--format", choices=["table", "json", "csv"], default="table")
    kpi.add_argument("--cases", action="store_true", help="json: list every case too")
    kpi.set_defaults(func=cmd_kpi)
    dlq = sub.add_parser("dlq", help="list or replay dead letters")
    _backend_flags(dlq)
    dlq.add_argument("action", choices=["list", "replay"])
    dlq.add_argument("--topic", help="source topic, e.g. ems.incident (required for replay)")
    dlq.add_argument("--partition", type=int, default=0, help="dead letter's partition (replay)")
    dlq.add_argument("--offset", type=int, help="dead letter's offset (replay)")
    dlq.set_defaults(func=cmd_dlq)
    simulate = sub.add_parser(
        "simulate", help="a simulated county over the public HTTP API (progress on stderr)"
    )
    _backend_flags(simulate)
    simulate.add_argument("--stations", type=int, default=3, help="120 stations (default 3)")
    simulate.add_argument("--clinics", type=int, default=4, help="township clinics (default 4)")
    simulate.add_argument("--days", type=int, default=2, help="simulated days (default 2)")
    simulate.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    simulate.add_argument(
        "--start", help="first simulated midnight with offset (default 2026-01-05T00:00+08:00)"
    )
    simulate.add_argument(
        "--incidents-per-day", type=float, default=3.0, help="per station (default 3)"
    )
    simulate.add_argument("--ecgs-per-day", type=float, default=2.0, help="per clinic (default 2)")
    simulate.add_argument(
        "--ecg-seconds", type=float, default=2.5, help="waveform length, 2.5-60 s (default 2.5)"
    )
    simulate.add_argument(
        "--url", help="a running goldenhour (default: start an embedded one on --http-port)"
    )
    simulate.add_argument("--http-port", type=int, help="embedded server's port (default 8080)")
    simulate.set_defaults(func=cmd_simulate)
    token = sub.add_parser("token", help="mint a dev issuer bearer token (demo, tests)")
    token.add_argument("--data-dir", type=Path, help="where the dev key lives (default ./data)")
    token.add_argument("--role", required=True, help="crew, clinic, reader, hospital, ...")
    token.add_argument("--site", default="", help="station, clinic, centre or hospital id")
    token.add_argument("--subject", help="the token's sub (default <role>@<site>)")
    token.add_argument(
        "--scope", action="append", help="a SMART scope, repeatable (default: the role's)"
    )
    token.add_argument("--minutes", type=float, default=60.0, help="lifetime (default 60)")
    token.set_defaults(func=cmd_token)
    registry = sub.add_parser("registry", help="who is who: load a seed file")
    _backend_flags(registry)
    registry.add_argument("action", choices=["load"])
    registry.add_argument("file", type=Path, help="seed JSON (deploy/registry/seed.example.json)")
    registry.add_argument("--url", help="a running server's base URL (default: the log directly)")
    registry.add_argument("--token", help="with --url: an admin bearer token")
    registry.set_defaults(func=cmd_registry)
    for command in sub.choices.values():  # `goldenhour demo --debug` works too
        command.add_argument("--debug", action="store_true", default=argparse.SUPPRESS)
    return root


class _OneLine(logging.Formatter):
    """Log records as one line each: an exception's type and message, not its traceback
    (the traceback comes with --debug)."""

    def format(self, record: logging.LogRecord) -> str:
        exc = record.exc_info[1] if record.exc_info else None
        plain = logging.makeLogRecord({**record.__dict__, "exc_info": None, "exc_text": None})
        plain.stack_info = None
        line = super().format(plain)
        if exc is None:
            return line
        return f"{line} ({type(exc).__name__}: {_first_line(exc)}; --debug for the traceback)"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]


def _logging(debug: bool) -> None:
    handler = logging.StreamHandler()
    fmt = "%(asctime)s %(levelname)s %(name)s: %(message)s"
    handler.setFormatter(logging.Formatter(fmt) if debug else _OneLine(fmt))
    logging.basicConfig(level=logging.DEBUG if debug else logging.INFO, handlers=[handler])
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request is noise
    if not debug:
        # kafka-python logs every reconnect attempt (dozens a minute while a broker is
        # down); the event log reports unavailability itself (LogUnavailable).
        logging.getLogger("kafka").setLevel(logging.CRITICAL)
        threading.excepthook = _thread_died


def _thread_died(args: threading.ExceptHookArgs) -> None:
    """A worker thread that dies says so in one line (the server goes on or stops)."""
    name = args.thread.name if args.thread else "thread"
    exc = args.exc_value or Exception()
    logging.getLogger(name).error("thread stopped: %s: %s", type(exc).__name__, _first_line(exc))


def _error_line(exc: BaseException) -> tuple[str, int]:
    """The one line and exit code of a command that raised `exc`."""
    from eventlog.base import LogUnavailable

    if isinstance(exc, UsageError):
        return str(exc), 2
    if isinstance(exc, Failed | DataDirRefused):
        return str(exc), 1
    if isinstance(exc, LogUnavailable):
        return f"event log unavailable: {_first_line(exc)}", 1
    if isinstance(exc, OSError) and exc.errno == errno.EADDRINUSE:
        return f"address in use: {_first_line(exc)}", 1
    return f"{type(exc).__name__}: {_first_line(exc)}", 1


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    _logging(args.debug)
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        if args.debug:
            raise
        line, code = _error_line(exc)
        print(f"goldenhour {args.command}: {line}", file=sys.stderr)
        return code


if __name__ == "__main__":
    raise SystemExit(main())
