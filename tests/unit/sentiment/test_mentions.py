"""Import lines, the mention message, X queries and ids, the summary published per user."""

from datetime import UTC, datetime, timedelta

import orjson
import pytest
from pydantic import ValidationError

from consumers.core.errors import ConfigurationError, InvalidEvent
from consumers.profile.model import Block, Profile
from consumers.sentiment.importer import parse_mention_line
from consumers.sentiment.mentions import (
    MENTION_TYPE,
    MentionRecord,
    mention_event,
    mentions_digest,
)
from consumers.sentiment.scoring import Mention, score_mention
from consumers.sentiment.twitter import (
    brand_query,
    check_query,
    newest,
    posted_at,
    usable_since_id,
)
from consumers.sentiment.users import subject_of, summary_data, summary_event_id, twitter_ids
from schemas import Event

T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def line(**fields: object) -> bytes:
    base = {
        "id": "1861000000000000001",
        "handle": "@Run_With_Sam",
        "text": "@InnovaShoes my Strides fell apart",
        "created_at": "2026-11-20T12:00:00Z",
    }
    return orjson.dumps({k: v for k, v in (base | fields).items() if v is not None})


# --- import lines ----------------------------------------------------------------------------
def test_an_import_line_is_normalised_and_gets_a_post_url() -> None:
    record = parse_mention_line(line(id=1861000000000000001, author_id=" 42 ", lang="en"))
    assert record.id == "1861000000000000001"  # numbers become strings
    assert record.handle == "run_with_sam"  # no @, lower case, as profiles keep it
    assert record.created_at == T0
    assert record.author_id == "42"
    assert record.url == "https://x.com/run_with_sam/status/1861000000000000001"
    kept = parse_mention_line(line(id="export-7", url="https://example.com/p/7"))
    assert kept.url == "https://example.com/p/7"
    assert parse_mention_line(line(id="export-7")).url is None  # not an X id: no URL made up


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{not json", "not JSON"),
        (b"[1, 2]", "not a JSON object"),
        (line(id=None), "id: Field required"),
        (line(id="has space"), "id: must be 1-128 letters"),
        (line(handle="not a handle!"), "handle: is not an X handle"),
        (line(handle="@waytoolonghandle_16"), "handle: is not an X handle"),
        (line(text="   "), "text: is blank"),
        (line(text=None), "text: Field required"),
        (line(created_at="yesterday"), "created_at:"),
        (line(author_id="alice"), "author_id: must be a numeric X user id"),
        (line(url="javascript:alert(1)"), "url: must be an http(s) URL"),
    ],
)
def test_bad_import_lines_say_why_without_echoing_the_values(body: bytes, reason: str) -> None:
    with pytest.raises(InvalidEvent) as caught:
        parse_mention_line(body)
    assert reason in caught.value.reason
    assert "alert(1)" not in caught.value.reason


def test_the_mention_message_is_a_valid_envelope_with_an_id_from_the_post() -> None:
    record = parse_mention_line(line(author_id="42"))
    message = mention_event(record, "import")
    event = Event.model_validate(message)
    assert event.type == MENTION_TYPE == "sentiment.mention"
    assert event.user.user_id == "twitter|42"  # how Auth0 names that X user
    assert event.event_id == mention_event(record, "import")["event_id"]  # stable
    assert MentionRecord.model_validate(event.data["mention"]) == record
    other = mention_event(parse_mention_line(line(id="1861000000000000002")), "import")
    assert other["event_id"] != message["event_id"]
    assert (
        mention_event(parse_mention_line(line()), "x")["user"]["user_id"] == "x-handle|run_with_sam"
    )


def test_a_digest_depends_on_the_set_of_ids_only() -> None:
    assert mentions_digest(["b", "a", "a"]) == mentions_digest(["a", "b"])
    assert mentions_digest(["a"]) != mentions_digest(["a", "b"])


# --- X queries and ids -----------------------------------------------------------------------
def test_queries_mention_the_brand_and_skip_its_own_posts_and_retweets() -> None:
    assert brand_query("InnovaShoes") == "@InnovaShoes -from:InnovaShoes -is:retweet"
    assert brand_query("InnovaShoes", ["Innova Stride", 'say "hi"', " "], "alice") == (
        'from:alice (@InnovaShoes OR "Innova Stride" OR "say hi") -from:InnovaShoes -is:retweet'
    )
    with pytest.raises(ConfigurationError, match="over X's 512"):
        check_query(brand_query("InnovaShoes", ["word"] * 200))


def test_post_ids_tell_their_time_and_old_ones_are_not_used_as_since_id() -> None:
    snowflake = str(((int(T0.timestamp() * 1000) - 1_288_834_974_657) << 22) + 5)
    assert posted_at(snowflake) == T0
    assert posted_at("export-7") is None
    assert usable_since_id(snowflake, T0 + timedelta(days=6)) == snowflake
    assert usable_since_id(snowflake, T0 + timedelta(days=7)) is None  # X would refuse it
    assert usable_since_id(None, T0) is None
    assert newest("9", "10", None, "export") == "10"  # numerically, not as text
    assert newest(None) is None


# --- who a mention belongs to, and the summary ------------------------------------------------
def profile(**fields: object) -> Profile:
    return Profile.model_validate({"user_id": "google-oauth2|7", **fields})


def test_a_users_x_ids_come_from_the_twitter_identity_the_user_id_and_the_last_summary() -> None:
    linked = profile(
        auth0={
            "identities": [{"provider": "google-oauth2"}, {"provider": "twitter", "user_id": 55}]
        },
        sentiment={"updated_at": T0.isoformat(), "author_id": ["66"]},
    )
    assert twitter_ids(linked) == {"55", "66"}
    assert twitter_ids(profile(user_id="twitter|77")) == {"77"}
    assert twitter_ids(profile()) == set()
    assert subject_of(profile()) is None  # no handle, no id: nothing to attach
    assert subject_of(profile(twitter_handle="amy", deleted_at=T0.isoformat())) is None


def test_the_summary_has_what_the_segment_and_the_marketer_need() -> None:
    subject = subject_of(profile(twitter_handle="amy", user_id="twitter|5"))
    assert subject is not None
    mentions = [
        Mention("1", "@InnovaShoes my sole fell apart 😡", T0, "https://x.com/amy/status/1", "amy"),
        Mention("2", "@InnovaShoes still waiting for my refund", T0 + timedelta(days=1), "", "amy"),
    ]
    data = summary_data(
        mentions, subject, as_of=T0, looked_up_at=T0, scorer=score_mention, model="m"
    )
    assert data["status"] == "ok" and data["label"] == "negative"
    assert data["handle"] == "amy" and data["author_id"] == ["5"]
    assert data["mentions"] == 2 and data["min"] < data["score"] < 0
    assert [e["id"] for e in data["evidence"]] == ["1", "2"]
    assert data["digest"] == mentions_digest(["1", "2"])
    block = Block.model_validate(data)  # what the index stage folds
    assert block.updated_at == T0
    silent = summary_data([], subject, as_of=T0, looked_up_at=None, scorer=score_mention, model="m")
    assert silent["status"] == "no_mentions" and silent["mentions"] == 0
    assert "label" not in silent and "score" not in silent and "looked_up_at" not in silent
    same = summary_event_id(subject, data["digest"])
    assert same == summary_event_id(subject, mentions_digest(["2", "1"]))
    assert same != summary_event_id(subject, silent["digest"])


def test_a_record_refuses_a_missing_date() -> None:
    with pytest.raises(ValidationError):
        MentionRecord.model_validate({"id": "1", "handle": "a", "text": "x"})
