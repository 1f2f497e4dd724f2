"""An installed wheel serves every page: each file a package reads at run time (templates,
static files, schemas, migrations, message catalogues) is named by the package data in
pyproject.toml. A page added without it works from a checkout and 404s once installed."""

from __future__ import annotations

import fnmatch
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CODE = {".py", ".pyc"}


def test_packaging__every_data_file_of_a_package_is_in_the_wheel() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    missing = []
    for package, globs in config["package-data"].items():
        for path in sorted((ROOT / package).rglob("*")):
            if not path.is_file() or path.suffix in CODE or "__pycache__" in path.parts:
                continue
            inside = path.relative_to(ROOT / package).as_posix()
            if not any(fnmatch.fnmatch(inside, glob) for glob in globs):
                missing.append(f"{package}/{inside}")
    assert not missing, f"not in [tool.setuptools.package-data]: {missing}"
