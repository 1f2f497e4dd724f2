"""The background tasks of the topology (stream_processors/topology.py names each by dotted
path, `services.workers:<function>`, so processors never import services).

Each is called as `task(system, stop)` in its own thread by `System.start_workers`, runs
until `stop` is set, and survives failures of one round (the next round retries).
"""

from __future__ import annotations

import logging
import threading

from services.auth.tls import own_url
from services.command.escort_sender import EscortSender
from services.hl7_gateway.report_sender import ReportSender, parse_destinations
from services.reading.queue import sweep
from services.settings import Settings
from services.subscriptions.sender import SenderConfig, SubscriptionSender
from services.system import System

log = logging.getLogger(__name__)

SWEEP_INTERVAL_S = 15.0  # escalation and lease expiry are minute-scale; 15 s is prompt enough
REPORT_INTERVAL_S = 5.0  # how often pending HL7 reports are looked at; backoff decides retries


def queue_sweeper(system: System, stop: threading.Event) -> None:
    """Escalate overdue reads and hand back expired leases, every SWEEP_INTERVAL_S."""
    while not stop.wait(SWEEP_INTERVAL_S):
        try:
            sweep(system)
        except Exception:  # the next sweep retries; escalation ids make it idempotent
            log.exception("queue sweep failed")


def hl7_report_sender(system: System, stop: threading.Event) -> None:
    """Send the signed reads owed to HL7 clinics (settings.hl7_report_destinations)."""
    destinations = system.settings.hl7_report_destinations
    if not destinations:
        log.info("hl7-report-sender: no GOLDENHOUR_HL7_REPORT_DESTINATIONS, nothing to send")
        return
    ReportSender(system, parse_destinations(destinations)).run(stop, REPORT_INTERVAL_S)


def subscription_sender(system: System, stop: threading.Event) -> None:
    """Deliver rest-hook notifications of every live subscription."""
    SubscriptionSender(system, sender_config(system.settings)).run(stop)


def sender_config(s: Settings) -> SenderConfig:
    """The subscription sender's settings; fullUrls start at the region's public URL (or,
    when none is set, this process's own address)."""
    return SenderConfig(
        base_url=f"{s.public_url.rstrip('/') or own_url(s)}/fhir",
        retry_first_s=s.subscription_retry_first_s,
        retry_max_s=s.subscription_retry_max_s,
        poll_s=s.subscription_poll_s,
        timeout_s=s.subscription_timeout_s,
        max_count=s.subscription_max_count,
    )


def escort_sender(system: System, stop: threading.Event) -> None:
    """Post escort requests to the traffic platform (settings.traffic_escort_url) until each
    is acknowledged (services/command/escort_sender.py)."""
    s = system.settings
    if not s.traffic_escort_url:
        log.info("escort-sender: no GOLDENHOUR_TRAFFIC_ESCORT_URL, escorts wait unsent")
        return
    callback = s.public_url.rstrip("/") or own_url(s)
    EscortSender(
        system, s.traffic_escort_url, callback, s.traffic_retry_first_s, s.traffic_retry_max_s
    ).run(stop)
