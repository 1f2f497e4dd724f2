"""The region view's offline base map: a county drawn as SVG from a GeoJSON file shipped
with the project (`basemap_data/county.geojson`: outline, river, roads, township seats).

**The shipped county is illustrative**: a fictitious outline generated for this project
around the demo's scene (34.27 N, 108.95 E), not survey data. A region replaces the file
with its own county boundary (GeoJSON, WGS 84 longitude/latitude, features with `kind`
county | river | road | seat | town and `name_zh`/`name_en`); nothing else changes. No tiles and
no tile server: a dispatch PC without internet draws the same map.

Projection: equirectangular with the cosine of the mid-latitude (true enough over a county),
north up. The view frames the county and every unit near it; units far outside it (a test
in another city) are framed alone and the county is left out of the frame.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from services import i18n

GEOJSON = Path(__file__).parent / "basemap_data" / "county.geojson"
PAD_DEG = 0.01  # around what is framed, so one unit alone is not a degenerate box
NEAR_DEG = 0.5  # units within this of the county are framed with it


@cache
def features() -> tuple[dict[str, Any], ...]:
    doc = json.loads(GEOJSON.read_text(encoding="utf-8"))
    return tuple(doc["features"])


def _coords(geometry: dict[str, Any]) -> list[tuple[float, float]]:
    """(lat, lon) of every vertex of a Point, LineString or Polygon."""
    kind, c = geometry["type"], geometry["coordinates"]
    rings = [[c]] if kind == "Point" else [c] if kind == "LineString" else c
    return [(lat, lon) for ring in rings for lon, lat in ring]


def _box(points: Iterable[tuple[float, float]]) -> tuple[float, float, float, float]:
    pts = list(points)
    lats, lons = [p[0] for p in pts], [p[1] for p in pts]
    return min(lats), max(lats), min(lons), max(lons)


@cache
def county_box() -> tuple[float, float, float, float]:
    return _box(p for f in features() for p in _coords(f["geometry"]))


@dataclass(frozen=True)
class View:
    lat0: float
    lat1: float
    lon0: float
    lon1: float
    width: float
    height: float
    with_county: bool

    @property
    def _scale(self) -> tuple[float, float, float, float]:
        x_scale = math.cos(math.radians((self.lat0 + self.lat1) / 2))
        k = min(
            self.width / ((self.lon1 - self.lon0) * x_scale), self.height / (self.lat1 - self.lat0)
        )
        dx = (self.width - (self.lon1 - self.lon0) * x_scale * k) / 2  # centre the box
        dy = (self.height - (self.lat1 - self.lat0) * k) / 2
        return x_scale, k, dx, dy

    def xy(self, lat: float, lon: float) -> tuple[float, float]:
        x_scale, k, dx, dy = self._scale
        return dx + (lon - self.lon0) * x_scale * k, dy + (self.lat1 - lat) * k


def _near(box: tuple[float, float, float, float], lat: float, lon: float) -> bool:
    return (
        box[0] - NEAR_DEG <= lat <= box[1] + NEAR_DEG
        and box[2] - NEAR_DEG <= lon <= box[3] + NEAR_DEG
    )


def view_for(points: list[tuple[float, float]], width: float, height: float) -> View:
    """Frame the county and the points near it; points far away alone."""
    county = county_box()
    with_county = all(_near(county, lat, lon) for lat, lon in points)
    framed = [*points, (county[0], county[2]), (county[1], county[3])] if with_county else points
    lat0, lat1, lon0, lon1 = _box(framed)
    return View(
        lat0 - PAD_DEG, lat1 + PAD_DEG, lon0 - PAD_DEG, lon1 + PAD_DEG, width, height, with_county
    )


def _path(view: View, pts: list[tuple[float, float]], close: bool) -> str:
    xy = [view.xy(lat, lon) for lat, lon in pts]
    d = " ".join(f"{'M' if i == 0 else 'L'}{x:.1f},{y:.1f}" for i, (x, y) in enumerate(xy))
    return d + (" Z" if close else "")


def _name(props: dict[str, Any]) -> str:
    return str(props.get("name_zh" if i18n.locale() == "zh-CN" else "name_en", ""))


def _feature_svg(view: View, f: dict[str, Any], esc: Callable[[object], str]) -> str:
    props, geometry = f["properties"], f["geometry"]
    kind = props.get("kind", "")
    pts = _coords(geometry)
    title = f"<title>{esc(_name(props))}</title>"
    if geometry["type"] == "Polygon":
        return f'<path class="county" d="{_path(view, pts, True)}">{title}</path>'
    if geometry["type"] == "LineString":
        return f'<path class="{esc(kind)}" d="{_path(view, pts, False)}">{title}</path>'
    x, y = view.xy(*pts[0])
    size = 5 if kind == "seat" else 3.5
    return (
        f'<g class="place {esc(kind)}"><rect x="{x - size:.1f}" y="{y - size:.1f}"'
        f' width="{2 * size:g}" height="{2 * size:g}"/>'
        f'<text x="{x + 8:.1f}" y="{y - 6:.1f}">{esc(_name(props))}</text></g>'
    )


def svg(view: View, esc: Callable[[object], str]) -> str:
    """The base map's SVG elements (county first, places last, so labels stay on top);
    empty when the view does not frame the county."""
    if not view.with_county:
        return ""
    order = {"county": 0, "river": 1, "road": 2}
    shown = sorted(features(), key=lambda f: order.get(f["properties"].get("kind", ""), 3))
    return '<g class="basemap">' + "".join(_feature_svg(view, f, esc) for f in shown) + "</g>"
