"""The shapes of stage findings, checked before they are folded into a profile.

A finding's mapped keys (``store.layout``: the sentiment block's score, label, mentions, ...)
must hold what their mapping takes: a ``profile.sentiment`` with ``score: "abc"`` would make the
users index refuse the whole profile, and every other event of that user in the batch with it.
The index stage asks ``fold.finding_problem`` first and parks such a finding alone, with the reason.
"""

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

# Elasticsearch's ``integer`` is 32 bits; a float field takes any JSON number but not a boolean.
_Integer = Annotated[int, Field(strict=True, ge=-(2**31), le=2**31 - 1)]
_Number = Annotated[float, Field(strict=True, allow_inf_nan=False)]
_Keyword = Annotated[str, Field(strict=True)]


class SentimentFinding(BaseModel):
    """The mapped part of a ``profile.sentiment`` block; other keys are kept, unmapped."""

    model_config = ConfigDict(extra="allow")
    status: _Keyword | None = None
    updated_at: datetime | None = None
    score: _Number | None = None
    label: _Keyword | None = None
    mentions: _Integer | None = None
    min: _Number | None = None
    mean: _Number | None = None
    handle: _Keyword | None = None
    author_id: _Keyword | list[_Keyword] | None = None
    looked_up_at: datetime | None = None
    last_at: datetime | None = None


def sentiment_block_data(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` with its mapped keys checked (ValidationError if one cannot be indexed) and its
    dates written as Elasticsearch reads them; keys not sent stay absent."""
    finding = SentimentFinding.model_validate(data)
    return data | finding.model_dump(mode="json", include=finding.model_fields_set)
