"""URL helpers shared by sources and sinks."""
from __future__ import annotations

import re

_URL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")


def mask_url(url: str) -> str:
    """The URL with any password replaced, for logs: rtsp://user:***@host/..."""
    return re.sub(r"^([a-zA-Z][a-zA-Z0-9+.-]*://[^:/@]+):[^@/]*@", r"\1:***@", url)


def is_url(s: str) -> bool:
    return bool(_URL.match(s))
