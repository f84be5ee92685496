"""Secrets in URLs never reach a log line, an error or the JSON summary: every form of userinfo and of
credential-like query parameters, percent-encoded ones included."""
from __future__ import annotations

import logging

import pytest

from vdeblur.errors import InputError
from vdeblur.urls import mask_text, mask_url

SECRET = "s3cr3t"


@pytest.mark.parametrize("url,shown", [
    (f"rtsp://user:{SECRET}@cam/x", "rtsp://***@cam/x"),
    (f"rtsp://:{SECRET}@cam/x", "rtsp://***@cam/x"),                      # empty user name
    (f"rtsp://user:p@{SECRET}@cam/x", "rtsp://***@cam/x"),                # '@' in the password
    (f"rtsp://user:p/{SECRET}@cam/x", "rtsp://***@cam/x"),                # '/' in the password
    (f"rtsp://user:p%40{SECRET}@cam:554/x", "rtsp://***@cam:554/x"),      # percent-encoded
    (f"rtmp://{SECRET}@live.example/app", "rtmp://***@live.example/app"),  # a token as the user name
    (f"srt://h:9000?streamid=a&passphrase={SECRET}", "srt://h:9000?streamid=a&passphrase=***"),
    (f"https://h/v.m3u8?token={SECRET}&x=1", "https://h/v.m3u8?token=***&x=1"),
    (f"http://h/v?password={SECRET}#t", "http://h/v?password=***#t"),
    (f"http://h/v?pass={SECRET};key={SECRET}", "http://h/v?pass=***;key=***"),
    (f"http://h/v?api_key={SECRET}&Access_Token={SECRET}", "http://h/v?api_key=***&Access_Token=***"),
    (f"http://h/v?pa%73sword={SECRET}", "http://h/v?pa%73sword=***"),       # percent-encoded name
    ("udp://@:1234", "udp://@:1234"),                                       # nothing to hide
    ("rtsp://cam/x?channel=1", "rtsp://cam/x?channel=1"),
    ("/videos/a@b.mp4", "/videos/a@b.mp4"),                                 # not a URL
])
def test_mask_url(url, shown):
    assert mask_url(url) == shown
    assert SECRET not in mask_url(url)


def test_errors_and_log_lines_are_masked(caplog):
    e = InputError(f"cannot open 'rtsp://u:{SECRET}@h/x': Connection refused")
    assert SECRET not in str(e) and "rtsp://***@h/x" in str(e)
    assert mask_text(f"a http://h/?token={SECRET} b rtsp://:{SECRET}@h c") == "a http://h/?token=*** b rtsp://***@h c"
    from vdeblur.cli import MaskSecrets

    log = logging.getLogger("vdeblur.test")
    log.addFilter(MaskSecrets())
    with caplog.at_level(logging.INFO):
        log.info("source %s down", f"rtsp://u:{SECRET}@h/x")
    assert SECRET not in caplog.text and "rtsp://***@h/x" in caplog.text
