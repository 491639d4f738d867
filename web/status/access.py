"""
Who may read the status page and the status API.

- The page: any logged-in account; everyone when `TIMMY_STATUS_PUBLIC` is on.
- The API: the same, plus tools that send the read-only token
  `TIMMY_STATUS_TOKEN` as `Authorization: Bearer <token>` (an empty token,
  the default, turns token access off). Tokens are compared in constant time.
"""

import hmac

from django.conf import settings

PUBLIC_SETTING = "TIMMY_STATUS_PUBLIC"
TOKEN_SETTING = "TIMMY_STATUS_TOKEN"


def is_public():
    """True when the status page and API are readable without logging in."""
    return bool(getattr(settings, PUBLIC_SETTING, False))


def configured_token():
    """The read-only API token, or "" when token access is off."""
    return str(getattr(settings, TOKEN_SETTING, "") or "").strip()


def bearer_token(request):
    """The token of an `Authorization: Bearer <token>` header, or None."""
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def token_matches(sent, expected):
    """Constant-time comparison; never true when either side is empty."""
    if not sent or not expected:
        return False
    return hmac.compare_digest(sent.encode("utf-8"), expected.encode("utf-8"))


def is_logged_in(request):
    """True for a request with an authenticated session."""
    user = getattr(request, "user", None)
    return bool(user is not None and user.is_authenticated)


def page_allowed(request):
    """May this request see the status page?"""
    return is_public() or is_logged_in(request)


def api_denial(request):
    """Why this API request is refused, or None when it may read.

    Returns:
        str or None: "invalid token" when a bearer token was sent and is
            wrong (or token access is off), "authentication required" when
            neither a session nor a token was given, None when allowed.
    """
    if is_public() or is_logged_in(request):
        return None
    sent = bearer_token(request)
    if sent is None:
        return "authentication required"
    if token_matches(sent, configured_token()):
        return None
    return "invalid token"
