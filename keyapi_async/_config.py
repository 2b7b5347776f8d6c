"""Checking what KeyAPI(...) is given: the key, the base URL and its variables, the numbers."""

from __future__ import annotations

import ipaddress
import os
from typing import Any

from yarl import URL

from ._errors import InvalidParameterError, KeyAPIError
from ._params import finite_number, shown

DEFAULT_BASE_URL = "https://api.keyapi.ai"
_LOOPBACK_NAMES = ("localhost", "localhost.")


def resolve_key(api_key: str | None) -> str:
    if api_key is None:
        key = os.environ.get("KEYAPI_API_KEY") or os.environ.get("KEYAPI_TOKEN")
        if not key:
            raise KeyAPIError(
                "no API key: pass api_key=... or set KEYAPI_API_KEY (KEYAPI_TOKEN is read too)"
            )
    elif not isinstance(api_key, str) or not api_key:
        raise InvalidParameterError(
            "api_key", "must be a non-empty string; leave it unset to read KEYAPI_API_KEY"
        )
    else:
        key = api_key
    if not (key.isascii() and key.isprintable()) or " " in key:
        # Never shown: even a malformed key is a secret.
        raise InvalidParameterError(
            "api_key", "must be printable ASCII without spaces (keys look like sk_live_...)"
        )
    return key


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host.lower() in _LOOPBACK_NAMES


def env_base_url() -> tuple[str, str]:
    """(where it came from, the URL): ours first, then the provider's tooling's variable (docs
    README), since a value set for this SDK alone is the more specific one."""
    for name in ("KEYAPI_BASE_URL", "KEYAPI_API_BASE_URL"):
        value = os.environ.get(name)
        if value:
            return name, value
    return "base_url", DEFAULT_BASE_URL


def check_base_url(url: Any, *, allow_insecure_http: bool, parameter: str = "base_url") -> str:
    try:
        parsed = URL(url) if isinstance(url, str) else None
        host, port = (parsed.host, parsed.port) if parsed is not None else (None, None)
    except (ValueError, UnicodeError) as exc:
        raise InvalidParameterError(parameter, f"is not a valid URL ({exc})") from None
    if parsed is None or parsed.scheme not in ("http", "https") or not host or port is None:
        raise InvalidParameterError(parameter, f"must be an http(s) URL, got {shown(url)}")
    if parsed.scheme == "http" and not _is_loopback(host) and not allow_insecure_http:
        raise InvalidParameterError(
            parameter,
            f"plain http to {host} would send the API key in clear text; "
            "use https, or pass allow_insecure_http=True",
        )
    return str(url)


def seconds(name: str, value: Any, *, allow_zero: bool) -> float:
    if not finite_number(value) or value < 0 or (value == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise InvalidParameterError(name, f"must be a finite number {bound}, got {shown(value)}")
    return float(value)


class SignatureDefault(float):
    """A number default written once, in the signature, that still tells whether it was passed:
    `qps is QPS_DEFAULT` only when the caller left it unset."""

    __slots__ = ()

    def __repr__(self) -> str:
        return float.__repr__(self)
