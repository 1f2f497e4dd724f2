"""`goldenhour`: the command line of the system.

  serve           run ingest + FHIR API + processors (embedded log and store by default)
  demo            serve and play a short clinical scenario through the public HTTP API
  rebuild         drop the views and fold the whole log again, from offset zero
  schemas check   refuse event schema changes that cannot read old data
  schemas freeze  release changed schemas as the next version

Exit codes: 0 success, 1 failure (a check found problems), 2 usage error.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from services.settings import Settings


def _settings(args: argparse.Namespace) -> Settings:
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
    return Settings(**overrides)


def _backend_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data-dir", type=Path, help="embedded data directory (default ./data)")
    p.add_argument("--log", help="event log URL: sqlite: (default) or kafka://host:port")
    p.add_argument(
        "--store", help="view store URL: sqlite: (default) or cassandra://host:port/keyspace"
    )


def cmd_serve(args: argparse.Namespace) -> int:
    from services.server import serve

    serve(_settings(args))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from services.demo import run_demo

    return run_demo(_settings(args), fresh=not args.keep_data)


def _progress(done: int, total: int) -> None:
    width = 40
    filled = width * done // max(total, 1)
    sys.stderr.write(f"\r  [{'#' * filled}{'.' * (width - filled)}] {done}/{total} events")
    sys.stderr.flush()


def cmd_rebuild(args: argparse.Namespace) -> int:
    from services.system import bootstrap

    system = bootstrap(_settings(args))
    try:
        print("rebuild: dropping views and checkpoints", file=sys.stderr)
        system.store.truncate()
        for runner in system.runners:
            print(f"rebuild: {runner.projection.name} from offset 0", file=sys.stderr)
            runner.catch_up(progress=_progress)
            print(
                f"\n  folded {runner.stats.folded}, dead-lettered {runner.stats.dead_lettered}, "
                f"versions written {runner.stats.versions_written}",
                file=sys.stderr,
            )
    finally:
        system.close()
    return 0


def cmd_schemas(args: argparse.Namespace) -> int:
    from avro_schemas import evolution

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


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="goldenhour", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = root.add_subparsers(dest="command", required=True)
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
    demo.add_argument("--keep-data", action="store_true", help="do not wipe the demo data dir")
    demo.set_defaults(func=cmd_demo)
    rebuild = sub.add_parser("rebuild", help="drop views and replay the log from offset 0")
    _backend_flags(rebuild)
    rebuild.set_defaults(func=cmd_rebuild)
    schemas = sub.add_parser("schemas", help="event schema evolution")
    schemas.add_argument("action", choices=["check", "freeze"])
    schemas.set_defaults(func=cmd_schemas)
    return root


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    args = parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
