"""The region's deployment files are rendered and linted here: they parse, schedule every
worker of the topology (singletons exactly once), name only real settings, endpoints and
commands, and keep the durability settings of DESIGN.md
(Kafka 3 brokers RF 3 min ISR 2; Cassandra 3 nodes RF 3 LOCAL_QUORUM)."""

from __future__ import annotations

import inspect
import re
from collections import Counter
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
import yaml

import services.workers
from deploy.region.render import OUT, render, render_compose
from services.app import create_app
from services.cli import parser
from services.settings import Settings
from services.system import chosen_workers, resolve_task
from stream_processors.topology import workers

ROOT = Path(__file__).resolve().parents[2]
REGION = ROOT / "deploy" / "region"
K8S = sorted((REGION / "k8s").glob("*.yaml"))
WORKERS = {w.name: w for w in workers("c", "r")}


def k8s_docs() -> list[dict[str, Any]]:
    return [d for f in K8S for d in yaml.safe_load_all(f.read_text()) if d]


def compose() -> dict[str, Any]:
    return yaml.safe_load((REGION / "compose.yaml").read_text())  # type: ignore[no-any-return]


def containers(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return doc["spec"]["template"]["spec"]["containers"]  # type: ignore[no-any-return]


def test_region_files_are_rendered_from_the_topology() -> None:
    assert OUT.read_text() == render(), "run: python -m deploy.region.render"
    text = (REGION / "compose.yaml").read_text()
    assert text == render_compose(text), "run: python -m deploy.region.render"


def _scheduled(runs: list[tuple[dict[str, str], int]]) -> Counter[str]:
    """Processes per worker, from (environment, replicas) of each deployed process kind: a
    process runs workers only with GOLDENHOUR_RUN_PROCESSORS true, and then the workers
    GOLDENHOUR_PROCESSORS names (all when empty), as services/settings.py reads them."""
    out: Counter[str] = Counter()
    for env, replicas in runs:
        if env.get("GOLDENHOUR_RUN_PROCESSORS", "true").lower() != "true":
            continue
        named = [n.strip() for n in env.get("GOLDENHOUR_PROCESSORS", "").split(",") if n.strip()]
        for name in named or WORKERS:
            out[name] += replicas
    return out


def _k8s_runs() -> list[tuple[dict[str, str], int]]:
    config = next(d["data"] for d in k8s_docs() if d["kind"] == "ConfigMap")
    runs = []
    for doc in k8s_docs():
        if doc["kind"] not in ("Deployment", "StatefulSet"):
            continue
        for c in containers(doc):
            if c.get("command", [])[:2] != ["goldenhour", "serve"]:
                continue
            uses_config = any(
                ref.get("configMapRef", {}).get("name") == "goldenhour-settings"
                for ref in c.get("envFrom", [])
            )
            env = {
                **(config if uses_config else {}),
                **{e["name"]: e["value"] for e in c.get("env", [])},
            }
            runs.append((env, doc["spec"].get("replicas", 1)))
    return runs


def _compose_runs() -> list[tuple[dict[str, str], int]]:
    return [
        (
            {k: str(v) for k, v in s.get("environment", {}).items()},
            s.get("deploy", {}).get("replicas", 1),
        )
        for s in compose()["services"].values()
        if s.get("command", [])[:2] == ["goldenhour", "serve"]
    ]


@pytest.mark.parametrize("where", ["k8s", "compose"])
def test_every_worker_of_the_topology_is_scheduled_in_the_region(where: str) -> None:
    scheduled = _scheduled(_k8s_runs() if where == "k8s" else _compose_runs())
    assert set(scheduled) == set(WORKERS), f"not scheduled: {set(WORKERS) - set(scheduled)}"
    assert all(n >= 1 for n in scheduled.values())
    for name, worker in WORKERS.items():
        if not worker.scalable:  # the notifier, the sweeper and the senders: one process
            assert scheduled[name] == 1, (name, scheduled[name])


def test_background_tasks_named_by_the_topology_are_the_services_tasks() -> None:
    tasks = {w.name: w.task for w in WORKERS.values() if w.projection is None}
    assert set(tasks) == {
        "queue-sweeper",
        "hl7-report-sender",
        "subscription-sender",
        "escort-sender",
    }
    for path in tasks.values():
        assert callable(resolve_task(path)), path
    public = {
        f"services.workers:{name}"
        for name, fn in vars(services.workers).items()
        if inspect.isfunction(fn)
        and fn.__module__ == "services.workers"
        and list(inspect.signature(fn).parameters) == ["system", "stop"]
    }
    assert public == set(tasks.values())  # no task in services that the topology forgot


def test_a_process_runs_the_workers_it_is_told_to() -> None:
    chosen = chosen_workers(Settings(processors="queue-sweeper, notifier"))
    assert [w.name for w in chosen] == ["notifier", "queue-sweeper"]
    assert [w.name for w in chosen_workers(Settings())] == list(WORKERS)
    with pytest.raises(ValueError, match="queue-sweep"):
        chosen_workers(Settings(processors="queue-sweep"))


def test_every_k8s_object_is_complete() -> None:
    docs = k8s_docs()
    assert docs
    for doc in docs:
        assert doc["apiVersion"] and doc["kind"] and doc["metadata"]["name"]
        if doc["kind"] != "Namespace":
            assert doc["metadata"]["namespace"] == "goldenhour", doc["metadata"]["name"]
        if doc["kind"] in ("Deployment", "StatefulSet"):
            selector = doc["spec"]["selector"]["matchLabels"]
            labels = doc["spec"]["template"]["metadata"]["labels"]
            assert selector.items() <= labels.items()
            for c in containers(doc):
                assert c["image"] and c["resources"]["requests"], c["name"]
                assert "readinessProbe" in c, c["name"]


def test_probes_and_settings_name_what_exists() -> None:
    app = create_app(SimpleNamespace(settings=Settings()))  # type: ignore[arg-type]
    paths = set(app.openapi()["paths"])
    fields = {f"GOLDENHOUR_{name.upper()}" for name in Settings.model_fields}
    env_names: set[str] = set()
    for doc in k8s_docs():
        if doc["kind"] == "ConfigMap":
            env_names |= set(doc["data"])
        if doc["kind"] not in ("Deployment", "StatefulSet"):
            continue
        for c in containers(doc):
            env_names |= {e["name"] for e in c.get("env", [])}
            for probe in ("livenessProbe", "readinessProbe"):
                if "httpGet" in c.get(probe, {}):
                    assert c[probe]["httpGet"]["path"] in paths
    for service in compose()["services"].values():
        env_names |= set(service.get("environment", {}))
    ours = {n for n in env_names if n.startswith("GOLDENHOUR_")}
    assert ours and ours <= fields, ours - fields


def test_region_durability_settings() -> None:
    docs = {(d["kind"], d["metadata"]["name"]): d for d in k8s_docs()}
    kafka, cassandra = docs[("StatefulSet", "kafka")], docs[("StatefulSet", "cassandra")]
    assert kafka["spec"]["replicas"] == 3 and cassandra["spec"]["replicas"] == 3
    kafka_env = {e["name"]: e["value"] for e in containers(kafka)[0]["env"]}
    assert kafka_env["KAFKA_MIN_INSYNC_REPLICAS"] == "2"
    assert kafka_env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"
    assert "broker,controller" in kafka_env["KAFKA_PROCESS_ROLES"]  # KRaft
    config = docs[("ConfigMap", "goldenhour-settings")]["data"]
    for url in (
        config["GOLDENHOUR_LOG_URL"],
        compose()["x-goldenhour"]["environment"]["GOLDENHOUR_LOG_URL"],
    ):
        q = parse_qs(urlparse(url).query)
        assert (q["replication"], q["min_isr"]) == (["3"], ["2"]) and len(
            urlparse(url).netloc.split(",")
        ) == 3
        # Topics and consumer groups carry the region's name on a shared cluster, so
        # Kafka's own tools (kafka-consumer-groups.sh) tell the regions' groups apart.
        assert q["namespace"] == [config["GOLDENHOUR_REGION_ID"] + "."]
    for url in (
        config["GOLDENHOUR_STORE_URL"],
        compose()["x-goldenhour"]["environment"]["GOLDENHOUR_STORE_URL"],
    ):
        q = parse_qs(urlparse(url).query)
        assert (q["replication"], q["consistency"]) == (["3"], ["LOCAL_QUORUM"])


@pytest.mark.parametrize("name", ["RUNBOOK.md"])
def test_runbook_commands_are_real(name: str) -> None:
    text = (ROOT / "deploy" / name).read_text()
    commands = set(parser()._subparsers._group_actions[0].choices)  # type: ignore[union-attr]
    used = set(re.findall(r"`goldenhour (\w+)", text))
    assert used and used <= commands, used - commands
    for path in re.findall(r"`?(deploy/[\w./-]+[\w/])", text):
        assert (ROOT / path.split(" ")[0]).exists(), path
    makefile = (ROOT / "Makefile").read_text()
    for target in re.findall(r"`make (\w[\w-]*)`", text):
        assert re.search(rf"^{target}:", makefile, re.M), target
