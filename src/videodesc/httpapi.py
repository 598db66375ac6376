"""POSTing to the OpenAI-compatible endpoints users configure (chat for writing, speech for voices).

One retry policy for both: 408, 425, 429 and every 5xx are retried with exponential backoff,
honouring Retry-After (capped); timeouts and broken connections are retried too; any other
status is final and turned into a one-line error by the caller, who knows what it means.
"""

from __future__ import annotations

import email.utils
import http.client
import json
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

from videodesc.errors import ModelError

RETRY_STATUS = {408, 425, 429}  # plus every 5xx
MAX_WAIT = 60.0  # never sleep longer than this between attempts, whatever Retry-After says


def post(url: str, data: bytes, headers: dict[str, str], *, timeout: float, retries: int, backoff: float,
         refusal: Callable[[int, str], Exception], what: str,
         permanent: Callable[[int, str], Exception | None] = lambda status, detail: None,
         on_attempt: Callable[[], None] = lambda: None) -> tuple[str, bytes]:
    """The content type and body of a successful POST, after up to `retries` retries.

    Args:
        refusal: the error to raise for a status that is not retried (401, 404, 400...).
        what: names the endpoint in the final error ("the TTS endpoint").
        permanent: an error for a retryable status whose message says retrying cannot help.
        on_attempt: called before every request (the callers count them).
    """
    attempts = retries + 1
    problem = ""
    for attempt in range(attempts):
        wait = min(backoff * (2 ** attempt), MAX_WAIT)
        request = urllib.request.Request(url, data=data, headers=headers, method="POST")
        on_attempt()
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return response.headers.get_content_type(), response.read()
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
            problem = f"no answer within {timeout:g} s"
        except urllib.error.URLError as error:
            if isinstance(error.reason, (TimeoutError, socket.timeout)):
                problem = f"no answer within {timeout:g} s"
            else:
                problem = f"cannot connect ({error.reason})"
        except (http.client.HTTPException, ConnectionError) as error:
            problem = f"the connection broke ({error.__class__.__name__})"
        if attempt + 1 < attempts:
            time.sleep(wait)
    raise ModelError(f"{what} {url} failed {attempts} times; last: {problem}")


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
