"""The profiles a worker wrote last, so the next batch need not read them back.

Reading profiles (``mget``) costs a round trip, Elasticsearch's real-time get and parsing every
profile again; for users who come back while still cached it is skipped. The cache is only ever a
guess: profiles are written with ``if_seq_no``/``if_primary_term``, so if anyone else wrote the
profile since (another worker, a replay), the write is refused (409), the entry is dropped and
the profile is read and folded again. A wrong guess costs a retry, never a lost update.
"""

from collections import OrderedDict
from dataclasses import dataclass

from consumers.profile import Profile


@dataclass(frozen=True)
class Stored:
    """A profile as Elasticsearch holds it, with the version a conditional write must name."""

    profile: Profile
    seq_no: int
    primary_term: int


class ProfileCache:
    """Least-recently-used, at most ``size`` profiles (0 turns it off)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._entries: OrderedDict[str, Stored] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, user_id: str) -> Stored | None:
        stored = self._entries.get(user_id)
        if stored is not None:
            self._entries.move_to_end(user_id)
        return stored

    def put(self, user_id: str, stored: Stored) -> None:
        if not self.size:
            return
        self._entries[user_id] = stored
        self._entries.move_to_end(user_id)
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)

    def forget(self, user_id: str) -> None:
        self._entries.pop(user_id, None)
