"""The distribution plan: a suggested destination for every casualty not yet assigned, by
tag priority, bed category, travel time and remaining capacity. Pure: the command centre
looks at it, then each assignment it accepts is an event (`CasualtyAssigned`).

The rule, written for a duty officer to check by hand:
1. Casualties in tag order (RED, then YELLOW, then GREEN, by tag number); BLACK are not
   transported by the plan.
2. A hospital is a candidate when its ED is not closed and it has a free bed of the
   casualty's category (its own, e.g. burn, else its colour) after what the plan already
   gave it. For RED, hospitals with a free surgical team come first, when there are any.
3. Among candidates, the shortest travel time from the scene wins (ties: hospital id).
4. A casualty with no candidate stays unassigned and is listed as such: the plan never
   exceeds a reported capacity.

Travel time: great-circle distance x ROAD_FACTOR at AMBULANCE_KMH (no road network here; a
region with a routing service can put its times in `Hospital.travel_min`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from kernel.jsontypes import Json
from stream_processors.mci.capacity import ED_CLOSED, category_of

AMBULANCE_KMH = 40.0  # mean speed of an ambulance on county roads, lights on
ROAD_FACTOR = 1.3  # road distance / straight-line distance, typical of rural road networks
EARTH_KM = 6371.0
PRIORITY = ("RED", "YELLOW", "GREEN")


@dataclass
class Hospital:
    """A destination as the plan sees it: free beds by category (after assignments since
    its last report), free surgical teams, ED status, and the travel time from the scene."""

    hospital_id: str
    beds: dict[str, int]
    surgical_teams: int = 0
    ed_status: str = "normal"
    travel_min: float | None = None


@dataclass(frozen=True)
class Assignment:
    casualty_id: str
    hospital_id: str
    travel_min: float | None


@dataclass
class Plan:
    assignments: list[Assignment] = field(default_factory=list)
    unassigned: list[str] = field(default_factory=list)  # no hospital had room

    def to_json(self) -> Json:
        return {
            "assignments": [a.__dict__ for a in self.assignments],
            "unassigned": self.unassigned,
        }


def travel_minutes(scene: Json | None, site: Json | None) -> float | None:
    """Minutes from the scene to a site, None when either has no coordinates."""
    if (
        not scene
        or not site
        or None
        in (
            scene.get("latitude"),
            scene.get("longitude"),
            site.get("latitude"),
            site.get("longitude"),
        )
    ):
        return None
    lat1, lon1, lat2, lon2 = map(
        math.radians, (scene["latitude"], scene["longitude"], site["latitude"], site["longitude"])
    )
    a = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    km = 2 * EARTH_KM * math.asin(math.sqrt(a)) * ROAD_FACTOR
    return round(km / AMBULANCE_KMH * 60, 1)


def _waiting(mci: Json) -> list[tuple[str, Json]]:
    waiting = [
        (cid, c)
        for cid, c in mci["casualties"].items()
        if c.get("tag") in PRIORITY and not c.get("hospital_id")
    ]
    return sorted(waiting, key=lambda item: (PRIORITY.index(item[1]["tag"]), item[0]))


def _choose(casualty: Json, hospitals: list[Hospital]) -> Hospital | None:
    category = category_of(casualty)
    open_ = [h for h in hospitals if h.ed_status != ED_CLOSED and h.beds.get(category, 0) > 0]
    if casualty["tag"] == "RED" and any(h.surgical_teams > 0 for h in open_):
        open_ = [h for h in open_ if h.surgical_teams > 0]
    far = float("inf")
    return min(
        open_,
        key=lambda h: (h.travel_min if h.travel_min is not None else far, h.hospital_id),
        default=None,
    )


def plan(mci: Json, hospitals: list[Hospital]) -> Plan:
    """Destinations for the MCI's unassigned casualties within the hospitals' free beds
    (the hospitals' counts are used up in place: pass copies)."""
    out = Plan()
    for casualty_id, casualty in _waiting(mci):
        chosen = _choose(casualty, hospitals)
        if chosen is None:
            out.unassigned.append(casualty_id)
            continue
        chosen.beds[category_of(casualty)] -= 1
        if casualty["tag"] == "RED" and chosen.surgical_teams > 0:
            chosen.surgical_teams -= 1
        out.assignments.append(Assignment(casualty_id, chosen.hospital_id, chosen.travel_min))
    return out
