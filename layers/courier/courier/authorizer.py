"""The $connect REQUEST authorizer: a token in the query string becomes an IAM policy."""

from __future__ import annotations

from typing import Any

from courier.tokens import InvalidToken, verify_token


def _policy(principal: str, effect: str, resource: str) -> dict[str, Any]:
    return {
        "principalId": principal,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Action": "execute-api:Invoke", "Effect": effect, "Resource": resource}],
        },
    }


def authorize(event: dict[str, Any], secret: str) -> dict[str, Any]:
    """Allow with the user and device as context, or Deny (API Gateway answers 403)."""
    resource = str(event.get("methodArn", "*"))
    token = (event.get("queryStringParameters") or {}).get("token")
    try:
        identity = verify_token(secret, token)
    except InvalidToken:
        return _policy("anonymous", "Deny", resource)
    allowed = _policy(identity.user, "Allow", resource)
    allowed["context"] = {"userId": identity.user, "deviceId": identity.device}
    return allowed
