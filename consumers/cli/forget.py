"""``authstream forget USER_ID``: erase one user everywhere authstream keeps them (GDPR).

The same erasure a ``user.deleted`` event causes, run now, with a report: the profile becomes a
tombstone (late events cannot bring it back; a new signup after the erasure starts afresh), and
the user's events, cached enrichment answers, queued copies in retry queues and parking lots go;
an audit record says when, what and how many.
"""

import argparse
import asyncio
from datetime import UTC, datetime

from consumers.core.names import Names
from consumers.core.settings import Settings
from consumers.stages.catalog import CATALOG
from consumers.stages.erase import copy_queues, erase_everywhere, tombstone_profile
from consumers.store import elastic


async def forget(settings: Settings, user_id: str) -> str:
    names = Names(settings.name_prefix)
    now = datetime.now(UTC)
    async with elastic.connect(settings) as es:
        with elastic.elasticsearch_errors(settings):
            before = await tombstone_profile(es, names, user_id, now)
            emails = [before.email] if before and before.email else []
            queues = copy_queues(names, list(CATALOG), settings.retry_delays_ms)
            erased = await erase_everywhere(
                es, settings, user_id, emails, queues, "authstream forget", now, before is not None
            )
    return erased.summary()


def run(args: argparse.Namespace, settings: Settings) -> int:
    print(asyncio.run(forget(settings, args.user_id)))
    return 0


def add_parser(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    parser = sub.add_parser(
        "forget", help="erase one user: profile, events, cached enrichment, queued copies"
    )
    parser.add_argument("user_id", metavar="USER_ID", help="the Auth0 user id, e.g. auth0|5f1d…")
    parser.set_defaults(handler=run)
