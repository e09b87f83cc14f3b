"""``authstream search QUERY`` and ``authstream users show ID|EMAIL``: finding people."""

import argparse
import asyncio
import sys
from datetime import UTC, datetime
from typing import Any

import orjson

from consumers.cli.output import pipe_closed
from consumers.core.names import Names
from consumers.core.settings import Settings
from consumers.people.explain import explain
from consumers.people.lookup import Person, look_up, require_users_index
from consumers.people.search import Hits, search_people, search_query
from consumers.store import elastic

EXIT_OK, EXIT_NOT_FOUND, EXIT_USAGE = 0, 1, 2
MAX_LIMIT = 1_000
TABLE_COLUMNS = ("user_id", "name", "email", "place", "interests", "last_seen")
CELL_WIDTH = 36


def _hit_row(person: dict[str, Any]) -> dict[str, Any]:
    location = person.get("location") or {}
    place = ", ".join(str(location[k]) for k in ("city", "country_code") if location.get(k))
    return {
        "user_id": person.get("user_id"),
        "name": person.get("name"),
        "email": person.get("email"),
        "place": place,
        "interests": ", ".join(person.get("interests") or []),
        "last_seen": str(person.get("last_seen") or "")[:10],
    }


def format_table(rows: list[dict[str, Any]], columns: tuple[str, ...]) -> str:
    cells = [["" if r.get(c) is None else str(r[c])[:CELL_WIDTH] for c in columns] for r in rows]
    widths = [max([len(c)] + [len(row[i]) for row in cells]) for i, c in enumerate(columns)]
    lines = [columns, *cells]
    return "\n".join(
        "  ".join(v.ljust(w) for v, w in zip(line, widths, strict=True)).rstrip() for line in lines
    )


def format_hits(text: str, hits: Hits) -> str:
    total = f"{hits.total:,}" if hits.exact_total else f"more than {hits.total:,}"
    header = f"{total} match(es) for {text!r}"
    if not hits.people:
        return header
    if len(hits.people) < hits.total or not hits.exact_total:
        header += f", best {len(hits.people):,} shown"
    if not hits.by_recency:
        header += " (too many to show the most recently seen first: add a word)"
    return header + "\n" + format_table([_hit_row(p) for p in hits.people], TABLE_COLUMNS)


async def _search(settings: Settings, text: str, limit: int) -> Hits:
    names = Names(settings.name_prefix)
    async with elastic.connect(settings) as es:
        with elastic.elasticsearch_errors(settings):
            await require_users_index(es, names)
            return await search_people(es, names.users_alias, text, limit)


def cmd_search(args: argparse.Namespace, settings: Settings) -> int:
    if search_query(args.query) is None:
        print(f"authstream: nothing to search for in {args.query!r}", file=sys.stderr)
        return EXIT_USAGE
    hits = asyncio.run(_search(settings, args.query, args.limit))
    try:
        if args.format == "jsonl":
            for person in hits.people:
                sys.stdout.write(orjson.dumps(person).decode() + "\n")
        else:
            print(format_hits(args.query, hits))
        sys.stdout.flush()
    except BrokenPipeError:
        return pipe_closed()
    return EXIT_OK


async def _look_up(settings: Settings, who: str, events: int) -> list[Person]:
    names = Names(settings.name_prefix)
    async with elastic.connect(settings) as es:
        with elastic.elasticsearch_errors(settings):
            await require_users_index(es, names)
            return await look_up(es, names, who, events)


def cmd_users(args: argparse.Namespace, settings: Settings) -> int:
    people = asyncio.run(_look_up(settings, args.who, args.events))
    if not people:
        print(f"authstream: no profile with user id or email {args.who!r}", file=sys.stderr)
        return EXIT_NOT_FOUND
    today = datetime.now(UTC).date()
    try:
        if args.format == "json":
            for person in people:
                record = {"profile": person.profile, "events": person.events}
                sys.stdout.write(orjson.dumps(record).decode() + "\n")
        else:
            texts = [
                explain(p.profile, p.events, p.events_total, settings.consent_policy, today)
                for p in people
            ]
            if len(people) > 1:
                print(f"{len(people)} profiles have the email {args.who!r}\n")
            print("\n\n".join(texts))
        sys.stdout.flush()
    except BrokenPipeError:
        return pipe_closed()
    return EXIT_OK


def number(text: str) -> int:
    value = int(text)
    if not 1 <= value <= MAX_LIMIT:
        raise argparse.ArgumentTypeError(f"between 1 and {MAX_LIMIT:,}")
    return value


def add_parsers(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    search = sub.add_parser(
        "search",
        help="full-text search over profiles (name, nickname, email, location, interests)",
        description="Finds people by partial words (chlo), typos (chleo) and without accents "
        "(chloe finds Chloé); every word must match.",
    )
    search.add_argument("query", metavar="QUERY")
    search.add_argument("--format", choices=["table", "jsonl"], default="table")
    search.add_argument("--limit", type=number, default=20, help="people shown (20; at most 1,000)")
    search.set_defaults(handler=cmd_search)

    users = sub.add_parser("users", help="look one customer up")
    actions = users.add_subparsers(dest="action", required=True, metavar="ACTION")
    show = actions.add_parser(
        "show",
        help="a profile: where each fact came from, consent, segments, latest events",
    )
    show.add_argument("who", metavar="ID|EMAIL")
    show.add_argument("--events", type=number, default=10, help="latest events shown (10)")
    show.add_argument("--format", choices=["text", "json"], default="text")
    show.set_defaults(handler=cmd_users)
