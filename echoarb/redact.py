"""Keep secrets out of what EchoArb prints: masked URLs and scrubbed exception text.

A secret is masked where it appears as a *value* (the password of a URL, the value of a
``password=``-style key, or a whole token of its own), never by replacing its characters
wherever they occur: a one-letter password must not turn ``http://`` into ``htt***://``.
"""

from __future__ import annotations

import re
from urllib.parse import quote, unquote, urlsplit, urlunsplit

MASK = "***"
# A bare occurrence is masked only for secrets this long; shorter ones would hit ordinary words.
_MIN_BARE = 4


def mask_url(url: str) -> str:
    """The URL with any password replaced by ``***``, safe to log."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{user}:{MASK}@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def scrub_text(text: str, secret: str | None) -> str:
    """``text`` with every value-position occurrence of ``secret`` replaced by ``***``."""
    if not secret:
        return text
    forms = {secret, unquote(secret), quote(secret, safe="")}
    for form in sorted(forms, key=len, reverse=True):
        value = re.escape(form)
        # user:SECRET@host in any URL.
        text = re.sub(rf"(?<=:){value}(?=@)", MASK, text)
        # password=SECRET, password: SECRET, "password": "SECRET" (any key naming a secret).
        text = re.sub(
            rf"""(?i)((?:pass(?:word|wd)?|secret|token|api[_-]?key)["']?\s*[:=]\s*["']?){value}(?![\w%])""",
            rf"\g<1>{MASK}",
            text,
        )
        if len(form) >= _MIN_BARE:
            text = re.sub(rf"(?<![\w%]){value}(?![\w%])", MASK, text)
    return text


def scrub(exc: BaseException, secret: str | None) -> str:
    """The exception text with the password removed, in case a driver ever echoes it."""
    return scrub_text(str(exc), secret)
