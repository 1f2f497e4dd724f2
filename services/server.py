"""Runs the long-lived system in one process: processors in threads, HTTP in uvicorn."""

from __future__ import annotations

import logging
import threading

import uvicorn

from services.app import create_app
from services.auth.tls import tls_files
from services.hl7_gateway.listener import MllpListener
from services.settings import Settings, runs
from services.system import System, bootstrap

SWEEP_INTERVAL_S = 15.0  # escalation and lease expiry are minute-scale; 15 s is prompt enough
REPORT_INTERVAL_S = 5.0  # how often pending HL7 reports are looked at; backoff decides retries


class Server:
    """The system plus its HTTP server, startable in a background thread (demo, tests)."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.system: System = bootstrap(settings)
        tls = tls_files(settings)  # HTTPS when both files are set (services/auth/tls.py)
        config = uvicorn.Config(
            create_app(self.system),
            host=settings.host,
            port=settings.http_port,
            log_level="warning",
            ssl_certfile=tls[0] if tls else None,
            ssl_keyfile=tls[1] if tls else None,
        )
        self._http = uvicorn.Server(config)
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self.mllp = (
            MllpListener(self.system, settings.host, settings.mllp_port)
            if settings.mllp_port >= 0
            else None
        )

    @property
    def base_url(self) -> str:
        scheme = "https" if tls_files(self.settings) else "http"
        return f"{scheme}://{self.settings.host}:{self.settings.http_port}"

    def start(self) -> None:
        if self.settings.run_processors:
            self.system.start_processors()
            if runs(self.settings, "queue-sweeper"):
                threading.Thread(target=self._sweep, name="queue-sweeper", daemon=True).start()
            if runs(self.settings, "hl7-report-sender"):
                self._start_report_sender()
            if runs(self.settings, "subscription-sender"):
                self._start_subscription_sender()
        if self.mllp:
            self.mllp.start()
        self._thread = threading.Thread(target=self._http.run, name="http", daemon=True)
        self._thread.start()
        while not self._http.started:
            if not self._thread.is_alive():
                raise RuntimeError(f"HTTP server did not start on {self.base_url}")
            threading.Event().wait(0.05)

    def _start_report_sender(self) -> None:
        if not self.settings.hl7_report_destinations:
            return
        from services.hl7_gateway.report_sender import ReportSender, parse_destinations

        sender = ReportSender(
            self.system, parse_destinations(self.settings.hl7_report_destinations)
        )
        threading.Thread(
            target=sender.run,
            args=(self._stopping, REPORT_INTERVAL_S),
            name="hl7-report-sender",
            daemon=True,
        ).start()

    def _start_subscription_sender(self) -> None:
        from services.subscriptions.sender import SenderConfig, SubscriptionSender

        s = self.settings
        config = SenderConfig(
            base_url=f"{self.base_url}/fhir",
            retry_first_s=s.subscription_retry_first_s,
            retry_max_s=s.subscription_retry_max_s,
            poll_s=s.subscription_poll_s,
            timeout_s=s.subscription_timeout_s,
            max_count=s.subscription_max_count,
        )
        sender = SubscriptionSender(self.system, config)
        threading.Thread(
            target=sender.run, args=(self._stopping,), name="subscription-sender", daemon=True
        ).start()

    def _sweep(self) -> None:
        from services.reading.queue import sweep

        while not self._stopping.wait(SWEEP_INTERVAL_S):
            try:
                sweep(self.system)
            except Exception:  # the next sweep retries; escalation ids make it idempotent
                logging.getLogger(__name__).exception("queue sweep failed")

    def stop(self) -> None:
        self._stopping.set()
        if self.mllp:
            self.mllp.stop()
        self._http.should_exit = True
        if self._thread:
            self._thread.join(timeout=10)
        self.system.close()


def serve(settings: Settings) -> None:
    server = Server(settings)
    server.start()
    mllp = f", HL7 v2 MLLP on {settings.host}:{server.mllp.port}" if server.mllp else ""
    print(
        f"goldenhour: serving {server.base_url}/fhir/metadata{mllp} "
        f"(log {settings.log_url}, store {settings.store_url}); Ctrl-C stops",
        flush=True,
    )
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
