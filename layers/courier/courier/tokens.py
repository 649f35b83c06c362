"""Connection tokens: HS256 JWTs whose `sub` is the user and `device` the device."""

from __future__ import annotations

from dataclasses import dataclass

import jwt

from courier.ids import is_name
from courier.settings import Settings

ALGORITHM = "HS256"
DEFAULT_DEVICE = "default"
SECRET_CACHE_SECONDS = 300


class InvalidToken(Exception):
    """Missing, malformed, badly signed, expired, or naming an invalid user or device."""


@dataclass(frozen=True)
class Identity:
    user: str
    device: str


def issue_token(secret: str, user: str, device: str, now: int, ttl_seconds: int) -> tuple[str, int]:
    """A signed token and its expiry (epoch seconds)."""
    expires_at = now + ttl_seconds
    claims = {"sub": user, "device": device, "iat": now, "exp": expires_at}
    return jwt.encode(claims, secret, algorithm=ALGORITHM), expires_at


def verify_token(secret: str, token: object) -> Identity:
    """The identity a token names, or InvalidToken."""
    if not isinstance(token, str) or not token:
        raise InvalidToken("no token")
    try:
        claims = jwt.decode(
            token, secret, algorithms=[ALGORITHM], options={"require": ["sub", "exp"]}
        )
    except (jwt.PyJWTError, UnicodeError) as exc:  # a lone surrogate cannot be UTF-8 encoded
        raise InvalidToken(str(exc)) from None
    user = claims.get("sub")
    device = claims.get("device", DEFAULT_DEVICE)
    if not is_name(user) or not is_name(device):
        raise InvalidToken("sub and device must be valid ids")
    return Identity(user=str(user), device=str(device))


def jwt_secret(settings: Settings) -> str:
    """The signing secret: a literal locally, an SSM SecureString (cached) when deployed."""
    if settings.jwt_secret is not None:
        return settings.jwt_secret
    # Only deployed functions read SSM: keep the import off the local and test paths.
    from aws_lambda_powertools.utilities.parameters import get_parameter  # noqa: PLC0415

    assert settings.jwt_secret_param is not None  # load_settings guarantees one of the two
    return str(get_parameter(settings.jwt_secret_param, decrypt=True, max_age=SECRET_CACHE_SECONDS))
