"""What fuzzing found, through the real broker and Elasticsearch: each input used to fail more than
itself (a whole bulk request, or a profile Elasticsearch refused); now it is parked alone with a
reason, or folded into a profile Elasticsearch takes, and its neighbours are indexed."""

from consumers.cli.main import main
from consumers.core.names import Names
from consumers.core.settings import Settings
from tests import broker, search
from tests.helpers import dumps, envelope, eventually
from tests.workers import running


def test_odd_inputs_park_alone_with_a_reason_or_fold_into_a_profile_elasticsearch_takes(
    settings: Settings,
) -> None:
    assert main(["setup"]) == 0
    names = Names(settings.name_prefix)
    good = [envelope(user={"user_id": f"auth0|good{n}"}) for n in range(3)]
    huge_number = dumps(envelope(user={"user_id": "auth0|huge"})).replace(
        b'"type":"auth.login"', b'"type":"auth.login","data":{"n":18446744073709551616}'
    )
    long_id = envelope(event_id="\U0001f45f" * 64, user={"user_id": "auth0|longid"})
    odd_facts = envelope(
        type="user.updated",
        user={
            "user_id": "auth0|odd",
            "user_metadata": {
                "fullcontact": {
                    "details": {"locations": [{"city": {"name": "Lyon"}, "countryCode": 33}]}
                }
            },
            "identities": [{"provider": "x" * 40_000, "profileData": {"likes": ["yoga"]}}],
        },
    )
    with broker.channel(settings) as channel:
        channel.confirm_delivery()
        for body in (dumps(good[0]), huge_number, dumps(good[1]), dumps(long_id)):
            channel.basic_publish(names.exchange, "auth.login", body)
        channel.basic_publish(names.exchange, "user.updated", dumps(odd_facts))
        channel.basic_publish(names.exchange, "auth.login", dumps(good[2]))
    with running(settings):
        eventually(lambda: search.count_events(settings) == 4, message="good ones and odd facts")
        eventually(lambda: broker.message_count(settings, names.parking_lot("index")) == 2)
    parked = broker.drain(settings, names.parking_lot("index"))
    reasons = sorted(p.headers["x-authstream-error"] for _, p, _ in parked)
    assert reasons[0].startswith("invalid event: data.n: integer outside the 64-bit range")
    assert reasons[1].startswith("invalid event: event_id: is 256 bytes in UTF-8; at most 255")
    for n in range(3):
        assert search.profile(settings, f"auth0|good{n}") is not None
    odd = search.profile(settings, "auth0|odd")
    assert odd is not None
    assert "location" not in odd  # no text in the FullContact location: no location
    assert odd["interest_sources"] == {"fitness": ["identity"]}
    assert broker.drained(settings, names.work_queue("index"))
