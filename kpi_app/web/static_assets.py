"""Static assets for low-bandwidth users: fingerprinted URLs, year-long caching, gzip on the wire.

`init_app(app)` makes three changes, all confined to the `static` endpoint:

* `url_for("static", filename=...)` gains `?v=<content hash>`, so a changed file gets a new URL
  and an unchanged one can be cached for a year without ever being revalidated;
* a request that names the current hash is answered `Cache-Control: public, max-age=31536000,
  immutable`; an unversioned or stale-versioned request keeps Flask's `no-cache` (revalidate by
  ETag), so an old page never pins an old file;
* text assets (CSS, JavaScript, JSON, SVG) are sent gzip-compressed to clients that accept it.
  The compressed bytes are made once per file version and kept in memory; plotly.min.js shrinks
  from about 4.8 MB to about 1.5 MB, which is what a slow connection actually downloads.

HTML pages are compressed only when they hold no secret: an anonymous visitor's page with no
CSRF token and no posting form (the public dashboards, catalogue and home page). BREACH needs
a secret in the compressed body next to attacker-chosen text; a page for a logged-in user, or
any page with a form, is sent uncompressed, and compressing those is left to a reverse proxy
configured with that risk in mind. The public city profile shrinks from ~150 KB to ~30 KB.
"""

from __future__ import annotations

import gzip
import hashlib
import os
from functools import lru_cache
from pathlib import Path
from typing import Any

from flask import Flask, request
from werkzeug.security import safe_join
from werkzeug.wrappers import Response

FINGERPRINT_ARG = "v"
FINGERPRINT_LENGTH = 16  # 64 bits of SHA-256: collisions between two versions are not a concern
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
# Below this size the gzip header and the extra CPU cost more than the bytes saved.
MIN_COMPRESSIBLE_BYTES = 1024
COMPRESSIBLE_MIMETYPES = frozenset(
    {
        "text/css",
        "text/javascript",
        "application/javascript",
        "application/json",
        "application/geo+json",
        "image/svg+xml",
        "text/plain",
        "text/csv",
    }
)
EXTENSION_KEY = "kpi_static_assets"


def _file_signature(folder: str, filename: str) -> tuple[str, int, int] | None:
    """(absolute path, mtime in ns, size) of a static file, or None if it is not one."""
    path = safe_join(folder, filename)
    if path is None:
        return None
    try:
        stat = os.stat(path)
    except OSError:
        return None
    if not Path(path).is_file():
        return None
    return path, stat.st_mtime_ns, stat.st_size


# The cache keys include mtime and size, so editing a file during development yields a new
# fingerprint and new compressed bytes without a restart.
@lru_cache(maxsize=512)
def _content_digest(path: str, mtime_ns: int, size: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 16), b""):
            digest.update(chunk)
    return digest.hexdigest()[:FINGERPRINT_LENGTH]


@lru_cache(maxsize=64)
def _gzipped_content(path: str, mtime_ns: int, size: int) -> bytes:
    # mtime=0 keeps the output byte-identical across processes (same ETag behind a balancer).
    return gzip.compress(Path(path).read_bytes(), compresslevel=9, mtime=0)


def fingerprint(folder: str, filename: str) -> str | None:
    """Content hash of `filename` under `folder`, or None when no such file exists."""
    signature = _file_signature(folder, filename)
    return _content_digest(*signature) if signature else None


def compressed(folder: str, filename: str) -> bytes | None:
    """gzip bytes of a static file (made once per file version), or None if it is not a file."""
    signature = _file_signature(folder, filename)
    return _gzipped_content(*signature) if signature else None


def _accepts_gzip() -> bool:
    return request.accept_encodings["gzip"] > 0


def _set_cache_policy(response: Response, folder: str, filename: str) -> None:
    requested = request.args.get(FINGERPRINT_ARG)
    current = fingerprint(folder, filename)
    response.headers["Cache-Control"] = (
        IMMUTABLE if requested and requested == current else REVALIDATE
    )


def _compress(response: Response, folder: str, filename: str) -> None:
    """Swap the body for its gzip form when the client, the type and the size all allow it."""
    if response.mimetype not in COMPRESSIBLE_MIMETYPES:
        return
    response.vary.add("Accept-Encoding")
    if (
        response.status_code != 200
        or "Content-Encoding" in response.headers
        or (response.content_length or 0) < MIN_COMPRESSIBLE_BYTES
        or not _accepts_gzip()
    ):
        return
    body = compressed(folder, filename)
    if body is None:
        return
    etag, _weak = response.get_etag()
    original_body = response.response
    response.direct_passthrough = False
    response.set_data(body)
    # The plain file was opened by send_file; nothing will read it now, so close it here.
    close = getattr(original_body, "close", None)
    if callable(close):
        close()
    response.headers["Content-Encoding"] = "gzip"
    # Byte ranges would address the plain file, not these bytes: stop offering them.
    response.headers.pop("Accept-Ranges", None)
    if etag:
        # A weak ETag may be shared by the plain and gzip forms of the same content, so a
        # revalidation (If-None-Match) still ends in a 304 whichever form the cache holds.
        response.set_etag(etag, weak=True)


#: A page with a form that posts carries (or, with CSRF protection on, will carry) a
#: per-session token: never compress it.
SECRET_MARKERS = (b'name="csrf_token"', b'method="post"')


def _compress_public_html(response: Response) -> None:
    """gzip an HTML page that holds no secret (anonymous visitor, no CSRF token)."""
    from flask_login import current_user

    if response.mimetype != "text/html" or response.direct_passthrough or response.is_streamed:
        return
    response.vary.add("Accept-Encoding")
    if (
        response.status_code != 200
        or "Content-Encoding" in response.headers
        or current_user.is_authenticated
        or not _accepts_gzip()
    ):
        return
    body = response.get_data()
    if len(body) < MIN_COMPRESSIBLE_BYTES or any(m in body.lower() for m in SECRET_MARKERS):
        return
    response.set_data(gzip.compress(body, compresslevel=6))
    response.headers["Content-Encoding"] = "gzip"


def _add_fingerprint(endpoint: str, values: dict[str, Any]) -> None:
    from flask import current_app

    if endpoint != "static" or FINGERPRINT_ARG in values or "filename" not in values:
        return
    folder = current_app.static_folder
    digest = fingerprint(folder, str(values["filename"])) if folder else None
    if digest:
        values[FINGERPRINT_ARG] = digest


def init_app(app: Flask) -> None:
    """Fingerprint static URLs and cache/compress static responses (safe to call twice)."""
    if EXTENSION_KEY in app.extensions:
        return
    app.extensions[EXTENSION_KEY] = True
    app.url_defaults(_add_fingerprint)

    @app.after_request
    def optimise_static_response(response: Response) -> Response:
        folder = app.static_folder
        filename = (request.view_args or {}).get("filename")
        if request.endpoint != "static" or not folder or not filename:
            _compress_public_html(response)
            return response
        _set_cache_policy(response, folder, str(filename))
        _compress(response, folder, str(filename))
        return response
