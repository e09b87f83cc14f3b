"""The Auth0 user profile as Auth0 sends it: Action ``event.user``, Rule ``user``, Management API.

Only ``user_id`` is required. Everything a connection adds (Facebook ``likes``, Twitter
``screen_name``, ...) is kept as an extra field, never rejected. Identity-provider tokens are
dropped on the way in: they are secrets and have no place in an analytics store.
"""

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from schemas.types import DocumentId, LooseString, OptionalInt, OptionalTimestamp

IDP_SECRET_KEYS = frozenset({"access_token", "access_token_secret", "refresh_token", "id_token"})


class Auth0Identity(BaseModel):
    """A linked identity (``identities[]``); ``profileData`` is a secondary account's profile."""

    model_config = ConfigDict(extra="allow", coerce_numbers_to_str=True)

    provider: str | None = None
    user_id: LooseString = None
    connection: str | None = None
    isSocial: bool | None = None
    profileData: dict[str, Any] | None = None

    # After validation, on the extra fields they land in: a validator that runs before makes
    # pydantic build the whole event as Python objects first (a third of decoding an event).
    @model_validator(mode="after")
    def _drop_idp_tokens(self) -> "Auth0Identity":
        extra = self.__pydantic_extra__
        if extra:
            for key in IDP_SECRET_KEYS & extra.keys():
                del extra[key]
        return self


class Auth0User(BaseModel):
    """The normalised Auth0 user profile (all fields optional but ``user_id``)."""

    model_config = ConfigDict(extra="allow", coerce_numbers_to_str=True)

    user_id: DocumentId
    email: str | None = None
    email_verified: bool | None = None
    username: str | None = None
    name: str | None = None
    given_name: str | None = None
    family_name: str | None = None
    nickname: str | None = None
    picture: str | None = None
    locale: str | None = None
    gender: str | None = None
    birthday: str | None = Field(
        default=None, description="As the IdP gives it: Facebook MM/DD/YYYY (or MM/DD), or ISO."
    )
    dateOfBirth: str | None = None
    age: OptionalInt = None
    screen_name: str | None = None
    location: Any = None
    identities: list[Auth0Identity] = Field(default_factory=list)
    created_at: OptionalTimestamp = None
    updated_at: OptionalTimestamp = None
    last_login: OptionalTimestamp = None
    last_ip: str | None = None
    logins_count: OptionalInt = None
    user_metadata: dict[str, Any] = Field(default_factory=dict)
    app_metadata: dict[str, Any] = Field(default_factory=dict)

    @field_validator("user_metadata", "app_metadata", mode="before")
    @classmethod
    def _null_metadata_is_empty(cls, value: Any) -> Any:
        # Rules commonly hand over user_metadata: null for users who never had any.
        return {} if value is None else value

    @field_validator("identities", mode="before")
    @classmethod
    def _null_identities_are_empty(cls, value: Any) -> Any:
        return [] if value is None else value
