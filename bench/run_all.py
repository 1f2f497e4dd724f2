"""`make bench`: every benchmark on every available backend; prints the table and writes it
into the README between the bench markers."""

from __future__ import annotations

import platform
import re
from pathlib import Path

from bench import (
    client_limits,
    ecg_file_ingest,
    fhir_reads,
    fhir_search,
    ingest,
    kafka_index_startup,
    measurement,
    mllp_ingest,
    projector,
    queue_latency,
    rebuild,
    scale_out,
    subscription_delivery,
    tablet_ingest,
)
from bench.common import Figure, as_figures, backends

README = Path(__file__).resolve().parent.parent / "README.md"
START, END = "<!-- bench:start -->", "<!-- bench:end -->"


def table(figures: list[Figure]) -> str:
    head = [
        "| capability | backend | ours | raw limit (same run) | ratio |",
        "|---|---|---|---|---|",
    ]
    return "\n".join(head + [f.row() for f in figures])


def main() -> None:
    figures = []
    for backend in backends():
        for bench in (
            ingest,
            ecg_file_ingest,
            mllp_ingest,
            tablet_ingest,
            projector,
            rebuild,
            scale_out,
            kafka_index_startup,
            queue_latency,
            fhir_reads,
            fhir_search,
            subscription_delivery,
            measurement,
            client_limits,
        ):
            figures.extend(as_figures(bench.run(backend)))
    text = table(figures)
    print(
        f"\nMachine: {platform.machine()}, {platform.python_implementation()} {platform.python_version()}\n"
    )
    print(text)
    readme = README.read_text()
    if START in readme:
        readme = re.sub(f"{START}.*{END}", f"{START}\n{text}\n{END}", readme, flags=re.S)
        README.write_text(readme)
        print(f"\nwritten to {README}")


if __name__ == "__main__":
    main()
