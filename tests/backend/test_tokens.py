"""Access tokens across a key rotation (docs/operations.md, "Rotating secrets")."""

from __future__ import annotations

import jwt
import pytest
from pydantic import SecretStr

from sst_backend.auth.tokens import InvalidToken, issue_token, read_token
from sst_backend.settings import BackendSettings

OLD, NEW, OTHER = "o" * 40, "n" * 40, "x" * 40


def _settings(secret: str, previous: list[str] | None = None) -> BackendSettings:
    return BackendSettings(
        jwt_secret=SecretStr(secret),
        jwt_previous_secrets=[SecretStr(p) for p in previous or []],
    )


def _token(settings: BackendSettings) -> str:
    return issue_token(settings, user_id=7, role="staff", facility_id=3, session_id="s1")


def test_tokens_of_the_key_being_rotated_out_stay_valid_until_it_is_dropped() -> None:
    old_token = _token(_settings(OLD))
    rotating = _settings(NEW, previous=[OLD])
    assert read_token(rotating, old_token).user_id == 7
    new_token = _token(rotating)
    # New tokens are signed with the new key only.
    assert jwt.get_unverified_header(new_token)["alg"] == "HS256"
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(new_token, OLD, algorithms=["HS256"], issuer="sst")
    assert read_token(rotating, new_token).user_id == 7
    # Once the old key is no longer listed, its tokens are refused.
    with pytest.raises(InvalidToken):
        read_token(_settings(NEW), old_token)


def test_a_token_signed_with_an_unknown_key_is_refused() -> None:
    forged = _token(_settings(OTHER))
    with pytest.raises(InvalidToken):
        read_token(_settings(NEW, previous=[OLD]), forged)
