"""URL helpers shared by sources and sinks, and the one place secrets are masked.

    mask_url("rtsp://user:p@ss@cam/x?token=abc") == "rtsp://***@cam/x?token=***"
    mask_text(any log line or error) masks every URL in it.
"""
from __future__ import annotations

import re
from urllib.parse import unquote

_URL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")
# A URL inside free text: a scheme, "://", then anything up to whitespace or a quote.
_URL_IN_TEXT = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*://[^\s'\"<>]+")
# Query parameters whose values are credentials (compared after percent-decoding, case-insensitively).
_SECRET_NAMES = re.compile(r"(pass(word|wd|phrase)?|pwd|token|key|secret|auth|sig(nature)?|credential)s?$", re.I)
MASK = "***"


def mask_url(url: str) -> str:
    """The URL with its secrets replaced by ***, for logs, errors and JSON: the whole userinfo (everything
    before the last "@" of the authority; a token given as a user name is a secret too) and the values of
    query parameters named like credentials (password=, pass=, passphrase=, token=, key=, api_key=, ...).
    A path holding "@" (rtsp://cam/a@b) is masked up to it too: hiding too much beats leaking."""
    m = _URL.match(url)
    if not m:
        return url
    head, rest = url[:m.end()], url[m.end():]
    # The authority ends at the first "?" or "#"; a "/" ends it only when no "@" follows (a password may
    # hold a "/", which a careful user would percent-encode but many do not).
    end = min((i for i in (rest.find("?"), rest.find("#")) if i >= 0), default=len(rest))
    at = rest.rfind("@", 0, end)
    if at > 0:       # (udp://@:1234, an empty userinfo, holds nothing to hide)
        rest = MASK + rest[at:]
        end = end - at + len(MASK)
    if end < len(rest) and rest[end] == "?":
        rest = rest[:end] + _mask_query(rest[end:])
    return head + rest


def _mask_query(query: str) -> str:
    """'?a=1&token=x#frag' -> '?a=1&token=***#frag'."""
    body, hash_, frag = query[1:].partition("#")
    parts = []
    for part in re.split(r"([&;])", body):
        name, eq, value = part.partition("=")
        if eq and value and _SECRET_NAMES.search(unquote(name).strip()):
            part = f"{name}={MASK}"
        parts.append(part)
    return "?" + "".join(parts) + hash_ + frag


def mask_text(text: str) -> str:
    """Every URL in a piece of text (an error message, a log line) masked with mask_url."""
    return _URL_IN_TEXT.sub(lambda m: mask_url(m.group(0)), text)


def pipe_target(s: str, fd: int) -> str | None:
    """FFmpeg's name for a pipe given as `-` or `pipe:`/`pipe:N` (fd: the default descriptor, 0 for an input,
    1 for an output); None for anything else."""
    if s == "-" or s == "pipe:":
        return f"pipe:{fd}"
    if s.startswith("pipe:") and s[5:].isdigit():
        return s
    return None


def is_url(s: str) -> bool:
    return bool(_URL.match(s))
