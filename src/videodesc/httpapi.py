"""POSTing to the OpenAI-compatible endpoints users configure (chat for writing, speech for voices).

One retry policy for both: 408, 425, 429 and every 5xx are retried with exponential backoff,
honouring Retry-After (capped), and so are refused and broken connections (a server restarting);
any other status is final and turned into a one-line error by the caller, who knows what it means.

Time is bounded so that a dead server fails in proportion to the wait the user chose: connecting
takes at most CONNECT_TIMEOUT, and the whole answer to one request (first byte to last) at most
`timeout`. A request that timed out is tried once more only for an endpoint that has answered
before in this run (a stall); one that has never answered is dead or too slow for `timeout`, and
a second try would queue behind the abandoned request on a single-slot local server and wait out
the timeout again.
"""

from __future__ import annotations

import email.utils
import http.client
import json
import math
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

from videodesc.errors import InputError, ModelError

RETRY_STATUS = {408, 425, 429}  # plus every 5xx
MAX_WAIT = 60.0  # never sleep longer than this between attempts, whatever Retry-After says
# A listening server accepts a connection at once, even when busy; waiting longer only delays
# the error for a host that is down or firewalled.
CONNECT_TIMEOUT = 10.0
MAX_TIMEOUT_RETRIES = 1  # a stalled request is tried once more, however many retries 5xx get
READ_SIZE = 1 << 16
# What a user may ask for: an hour covers the slowest model on a CPU, and ten retries with the
# doubling backoff (each wait capped at MAX_WAIT) already wait five minutes.
MAX_TIMEOUT = 3600.0
MAX_RETRIES = 10


def check_settings(timeout: float, retries: int) -> None:
    """One InputError line for a timeout or a number of retries no endpoint can be used with.

    Args:
        timeout: seconds to wait for an answer: more than 0, at most MAX_TIMEOUT.
        retries: further attempts: a whole number from 0 to MAX_RETRIES.
    """
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not (
            math.isfinite(timeout) and 0 < timeout <= MAX_TIMEOUT):
        raise InputError(f"endpoint timeout {timeout!r} must be more than 0 and at most {MAX_TIMEOUT:g} seconds")
    if isinstance(retries, bool) or not isinstance(retries, int) or not 0 <= retries <= MAX_RETRIES:
        raise InputError(f"endpoint retries {retries!r} must be a whole number from 0 to {MAX_RETRIES}")


def post(url: str, data: bytes, headers: dict[str, str], *, timeout: float, retries: int, backoff: float,
         refusal: Callable[[int, str], Exception], what: str,
         permanent: Callable[[int, str], Exception | None] = lambda status, detail: None,
         on_attempt: Callable[[], None] = lambda: None, answered_before: bool = False) -> tuple[str, bytes]:
    """The content type and body of a successful POST, after up to `retries` retries.

    Args:
        timeout: seconds for the whole answer to one attempt (and at most CONNECT_TIMEOUT of
            them to connect).
        retries: further attempts after a retryable status or a refused or broken connection.
        backoff: seconds before the first retry; doubled for each further one.
        refusal: the error to raise for a status that is not retried (401, 404, 400...).
        what: names the endpoint in the final error ("the TTS endpoint").
        permanent: an error for a retryable status whose message says retrying cannot help.
        on_attempt: called before every request (the callers count them).
        answered_before: the endpoint has answered this run before, so a timeout is a stall
            worth one more try (MAX_TIMEOUT_RETRIES) rather than a dead or too slow server.

    Returns:
        The answer's content type ("application/json") and its body.

    Raises:
        ModelError: every attempt failed, or the error `refusal` or `permanent` gave.
    """
    timeouts_allowed = 1 + (min(retries, MAX_TIMEOUT_RETRIES) if answered_before else 0)
    attempts = timeouts = 0
    while True:
        slow = False
        wait = min(backoff * (2 ** attempts), MAX_WAIT)
        request = urllib.request.Request(url, data=data, headers=headers, method="POST")
        on_attempt()
        attempts += 1
        try:
            deadline = time.monotonic() + timeout
            with _OPENER.open(request, timeout=timeout) as response:
                return response.headers.get_content_type(), _read_until(response, deadline)
        except urllib.error.HTTPError as error:
            detail = error_detail(error)
            final = permanent(error.code, detail)
            if final is not None:
                raise final from None
            if error.code in RETRY_STATUS or error.code >= 500:
                problem = f"HTTP {error.code}" + (f": {detail}" if detail else "")
                wait = retry_after(error.headers.get("Retry-After"), wait)
            else:
                raise refusal(error.code, detail) from None
        except (TimeoutError, socket.timeout):
            problem, slow = f"no answer within {timeout:g} s", True
            timeouts += 1
        except urllib.error.URLError as error:
            if isinstance(error.reason, _ConnectTimeout):
                problem = f"cannot connect within {min(timeout, CONNECT_TIMEOUT):g} s"
                timeouts += 1
            elif isinstance(error.reason, (TimeoutError, socket.timeout)):  # the request not taken in time
                problem, slow = f"no answer within {timeout:g} s", True
                timeouts += 1
            else:
                problem = f"cannot connect ({error.reason})"
        except (http.client.HTTPException, ConnectionError) as error:
            problem = f"the connection broke ({error.__class__.__name__})"
        if attempts > retries or timeouts >= timeouts_allowed:
            break
        time.sleep(wait)
    times = "once" if attempts == 1 else f"{attempts} times"
    hint = "; a slow model needs a longer --endpoint-timeout" if slow else ""
    raise ModelError(f"{what} {url} failed {times}; last: {problem}{hint}")


def _read_until(response: http.client.HTTPResponse, deadline: float) -> bytes:
    """The body of `response`, read as it comes, or TimeoutError once `deadline` passes (a server
    trickling bytes would otherwise reset the socket's timeout with every one)."""
    chunks = []
    while chunk := response.read1(READ_SIZE):
        chunks.append(chunk)
        if time.monotonic() > deadline:
            raise TimeoutError("the answer took too long")
    return b"".join(chunks)


class _ConnectTimeout(TimeoutError):
    """The server was not reached within CONNECT_TIMEOUT (told apart from a slow answer)."""


class _QuickConnect:
    """An http.client connection that connects within CONNECT_TIMEOUT and then waits up to its
    own timeout for the answer (urllib has one timeout for both)."""

    timeout: float
    sock: socket.socket

    def connect(self) -> None:
        answer_timeout = self.timeout
        self.timeout = min(answer_timeout, CONNECT_TIMEOUT)
        try:
            super().connect()  # type: ignore[misc]
        except (TimeoutError, socket.timeout) as error:
            raise _ConnectTimeout(str(error) or "timed out") from None
        finally:
            self.timeout = answer_timeout
        self.sock.settimeout(answer_timeout)


class _HTTPConnection(_QuickConnect, http.client.HTTPConnection):
    pass


class _HTTPSConnection(_QuickConnect, http.client.HTTPSConnection):
    pass


class _QuickConnectHandler:
    """Mixin for urllib's handlers: open with the _QuickConnect form of the connection they use."""

    def do_open(self, http_class, request, **connection_args):
        quick = {http.client.HTTPConnection: _HTTPConnection, http.client.HTTPSConnection: _HTTPSConnection}
        return super().do_open(quick.get(http_class, http_class), request, **connection_args)  # type: ignore[misc]


class _HTTPHandler(_QuickConnectHandler, urllib.request.HTTPHandler):
    pass


class _HTTPSHandler(_QuickConnectHandler, urllib.request.HTTPSHandler):
    pass


# urllib's own opener (proxies from the environment included) with the two handlers replaced.
_OPENER = urllib.request.build_opener(_HTTPHandler, _HTTPSHandler)


def retry_after(value: str | None, default: float) -> float:
    """Seconds to wait from a Retry-After header (seconds or an HTTP date), within MAX_WAIT."""
    if not value:
        return default
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return default
        seconds = when.timestamp() - time.time()
    return min(max(seconds, 0.0), MAX_WAIT)


def error_detail(error: urllib.error.HTTPError) -> str:
    """The server's own words about an error, from the usual JSON shapes, on one short line."""
    try:
        raw = error.read().decode("utf-8", "replace")
    except (OSError, http.client.HTTPException):
        return ""
    try:
        data = json.loads(raw)
    except ValueError:
        return one_line(raw)
    if isinstance(data, dict):
        inner = data.get("error", data)
        if isinstance(inner, dict):
            for key in ("message", "detail", "msg"):
                if inner.get(key):
                    return one_line(inner[key])
            status = inner.get("status")
            if isinstance(status, dict) and status.get("message"):  # CLOVA Studio's native shape
                return one_line(status["message"])
        elif isinstance(inner, str):
            return one_line(inner)
    return one_line(raw)


def one_line(value: Any, limit: int = 200) -> str:
    text = " ".join(str(value).split())
    return text if len(text) <= limit else text[:limit] + "…"


def answer_summary(kind: str, raw: bytes) -> str:
    """An unexpected answer on one short line, for an error: its content type, size and first bytes
    (as text when they read as text, else in hex), e.g. `text/html, 1532 bytes: "<!DOCTYPE html>..."`."""
    if not raw:
        return f"{kind}, 0 bytes"
    head = raw[:120].decode("utf-8", "replace").rstrip("\ufffd")  # a character cut at the end is no sign
    if "\ufffd" not in head and all(ch.isprintable() or ch.isspace() for ch in head):
        start = f'"{one_line(head, 80)}"'
    else:
        start = raw[:16].hex(" ") + (" ..." if len(raw) > 16 else "")
    return f"{kind}, {len(raw)} bytes: {start}"

