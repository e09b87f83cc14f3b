"""One fault scenario from start to verdict: the pieces every scenario module shares.

``FaultRun`` points authstream at the services a scenario uses (the shared ones, or a private
cluster it may break), sets up a fresh namespace, seeds the stand-ins, starts every stage as its
own process and the ground-truth publisher; the scenario injects its fault; ``conclude`` waits for
the pipeline to hold the ground truth, asserts it, and adds the scenario's row to the table.
"""

import asyncio
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from consumers.cli.main import main
from consumers.cli.setup import remove_everything
from consumers.core.names import Names
from consumers.core.settings import Settings
from tests.faults.pipeline import StageProcesses, stage_environment
from tests.faults.publisher import GroundTruthPublisher
from tests.faults.verify import Tally, await_complete, other_parking_lots, parked_reasons
from tests.faults.workload import Workload, build, seed_standins, write_segments
from tests.standins import Auth0StandIn, FullContactStandIn, WebhookReceiver, XStandIn
from tests.standins.auth0_mgmt import AUDIENCE, CLIENT_ID, CLIENT_SECRET

FULLCONTACT_KEY = "fc-faults-key"
X_TOKEN = "x-faults-token"


@dataclass
class Row:
    scenario: str
    published: int
    indexed: int
    duplicates: int
    lost: int
    parked: str  # "found/poison"
    recover_s: float | None
    note: str = ""


ROWS: list[Row] = []


@dataclass
class ThirdParties:
    fullcontact: FullContactStandIn
    x: XStandIn
    auth0: Auth0StandIn
    webhooks: WebhookReceiver


@contextmanager
def third_parties() -> Iterator[ThirdParties]:
    with (
        FullContactStandIn(FULLCONTACT_KEY) as fullcontact,
        XStandIn(X_TOKEN, requests_per_window=None) as x,
        Auth0StandIn(bucket_size=1_000, refill_per_second=1_000) as auth0,
        WebhookReceiver() as webhooks,
    ):
        yield ThirdParties(fullcontact, x, auth0, webhooks)


class FaultRun:
    def __init__(
        self,
        monkeypatch: pytest.MonkeyPatch,
        tmp_path: Path,
        apis: ThirdParties,
    ) -> None:
        self.monkeypatch, self.tmp_path, self.apis = monkeypatch, tmp_path, apis
        self.settings: Settings | None = None
        self.processes: StageProcesses | None = None
        self.publisher: GroundTruthPublisher | None = None
        self.workload: Workload | None = None

    def prepare(
        self,
        *,
        users: int = 90,
        events_per_user: int = 25,
        amqp_url: str | None = None,
        elasticsearch_url: str | None = None,
        **env: str,
    ) -> Settings:
        """Point authstream at the services (and stand-ins), set up, seed the workload."""
        segments = self.tmp_path / "segments"
        write_segments(segments, self.apis.webhooks)
        values = {
            "AUTHSTREAM_FULLCONTACT_API_KEY": FULLCONTACT_KEY,
            "AUTHSTREAM_FULLCONTACT_BASE_URL": self.apis.fullcontact.base_url,
            "AUTHSTREAM_FULLCONTACT_RPS": "200",
            "AUTHSTREAM_FULLCONTACT_TIMEOUT_S": "2",
            "AUTHSTREAM_BRAND_HANDLE": "InnovaShoes",
            "AUTHSTREAM_X_BEARER_TOKEN": X_TOKEN,
            "AUTHSTREAM_X_API_BASE_URL": self.apis.x.base_url,
            "AUTHSTREAM_X_RPS": "200",
            "AUTHSTREAM_X_TIMEOUT_S": "2",
            "AUTHSTREAM_SENTIMENT_SWEEP_MINUTES": "0",
            "AUTHSTREAM_SENTIMENT_MODEL": "lexicon",
            "AUTHSTREAM_AUTH0_DOMAIN": self.apis.auth0.base_url,
            "AUTHSTREAM_AUTH0_CLIENT_ID": CLIENT_ID,
            "AUTHSTREAM_AUTH0_CLIENT_SECRET": CLIENT_SECRET,
            "AUTHSTREAM_AUTH0_AUDIENCE": AUDIENCE,
            "AUTHSTREAM_AUTH0_TENANT": "innovashoes",
            "AUTHSTREAM_AUTH0_RPS": "200",
            "AUTHSTREAM_AUTH0_TIMEOUT_S": "2",
            "AUTHSTREAM_AUTH0_LOGS_EVERY_S": "0",
            "AUTHSTREAM_SEGMENTS_DIR": str(segments),
            "AUTHSTREAM_FAULTS_HOOK_SECRET": "faults-hook-secret",
            "AUTHSTREAM_DESTINATIONS_TIMEOUT_S": "2",
            "AUTHSTREAM_BATCH_SIZE": "100",
            "AUTHSTREAM_PREFETCH": "400",
            **env,
        }
        if amqp_url:
            values["AUTHSTREAM_AMQP_URL"] = amqp_url
        if elasticsearch_url:
            values["AUTHSTREAM_ELASTICSEARCH_URL"] = elasticsearch_url
        for key, value in values.items():
            self.monkeypatch.setenv(key, value)
        self.settings = Settings()
        assert main(["setup"]) == 0
        self.workload = build(users, events_per_user)
        seed_standins(self.workload, self.apis.fullcontact, self.apis.x, self.apis.auth0)
        return self.settings

    def start_stages(
        self, overrides: Mapping[str, Mapping[str, str]] | None = None
    ) -> StageProcesses:
        self.processes = StageProcesses(
            stage_environment({}), self.tmp_path / "logs", overrides=overrides
        )
        self.processes.start_all()
        return self.processes

    def publish(self, rate: float) -> GroundTruthPublisher:
        assert self.settings is not None and self.workload is not None
        self.publisher = GroundTruthPublisher(
            self.settings.amqp_urls(),
            Names(self.settings.name_prefix).exchange,
            self.workload.messages,
            rate,
        )
        self.publisher.start()
        return self.publisher

    def conclude(
        self,
        scenario: str,
        fault_cleared_at: float,
        *,
        timeout: float = 240,
        note: str = "",
        on_poll: Callable[[], None] | None = None,
    ) -> Tally:
        """Wait for the ground truth, record the row, then assert every point of it."""
        assert self.settings and self.workload and self.publisher and self.processes
        self.publisher.finish()
        confirmed = set(self.publisher.confirmed)
        checks = on_poll or self.processes.check_alive
        outcome, done_at = await_complete(
            self.settings, self.workload, confirmed, self.apis.webhooks, timeout, checks
        )
        recovered = round(done_at - fault_cleared_at, 1) if outcome.complete else None
        if self.publisher.republished:
            note = f"{note}; " if note else ""
            note += f"publisher re-sent {self.publisher.republished}"
        if outcome.webhook_repeats:
            note = f"{note}; " if note else ""
            note += f"{outcome.webhook_repeats} webhook repeat(s)"
        ROWS.append(
            Row(
                scenario,
                outcome.published,
                outcome.indexed,
                outcome.duplicates,
                outcome.lost,
                f"{outcome.parked}/{outcome.poison}",
                recovered,
                note,
            )
        )
        context = f"{scenario}: {outcome}\n{self.processes.log_tails()}"
        assert outcome.complete, f"not recovered within {timeout}s — {context}"
        assert outcome.duplicates == 0, context
        reasons = parked_reasons(self.settings)
        assert set(reasons) == self.workload.poison & confirmed, context
        assert all(reason.startswith("invalid event:") for reason in reasons.values()), reasons
        assert other_parking_lots(self.settings) == {}, context
        return outcome

    def close(self) -> None:
        if self.publisher is not None and self.publisher.is_alive():
            self.publisher.stop()
        if self.processes is not None:
            self.processes.stop_all()
        if self.settings is not None:
            try:
                asyncio.run(remove_everything(self.settings))
            except Exception as exc:  # a private cluster may be gone already: say so, go on
                print(f"cleanup of {self.settings.name_prefix} failed: {exc!r}")


def wait_until(check: Callable[[], object], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached within {timeout}s")
        time.sleep(0.2)
