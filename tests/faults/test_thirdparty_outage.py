"""FullContact, X, the Auth0 Management API and the webhook receiver all down for a while in the
middle of the stream (connections refused), then back. Logins keep being indexed meanwhile; the
stages that need a third party hold their work and catch up when it returns."""

import time

from tests import search
from tests.faults.scenario import FaultRun
from tests.helpers import eventually

OUTAGE_S = 20


def test_third_parties_down_then_back_delay_only_their_stages(fault_run: FaultRun) -> None:
    settings = fault_run.prepare()
    apis = fault_run.apis
    fault_run.start_stages()
    publisher = fault_run.publish(rate=200)
    publisher.wait_for(200)
    for api in (apis.fullcontact, apis.x, apis.auth0, apis.webhooks):
        api.refuse()
    went_down = time.monotonic()
    indexed_before = search.count_events(settings) or 0
    # Isolation: the index stage goes on while the third parties are down.
    eventually(
        lambda: (search.count_events(settings) or 0) > indexed_before + 500,
        timeout=OUTAGE_S,
        message="logins indexed during the outage",
    )
    time.sleep(max(0.0, OUTAGE_S - (time.monotonic() - went_down)))
    for api in (apis.fullcontact, apis.x, apis.auth0, apis.webhooks):
        api.restore()
    fault_run.conclude(f"third parties down {OUTAGE_S} s", time.monotonic())
