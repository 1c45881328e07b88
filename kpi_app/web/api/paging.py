"""Page a list for the API: the {data, meta, links} envelope plus an RFC 8288 Link header."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from flask import request, url_for


def _page_url(page: int, page_size: int) -> str:
    values: dict[str, Any] = {**(request.view_args or {}), **request.args.to_dict()}
    values.update(page=page, page_size=page_size)
    return url_for(str(request.endpoint), **values)


def paginate(
    items: Sequence[Any], page: int, page_size: int, total: int | None = None
) -> tuple[dict[str, Any], int, dict[str, str]]:
    """(body, status, headers) for smorest: one page of `items` with navigation links.

    With ``total``, ``items`` is already that page (read with OFFSET/LIMIT in SQL) and
    ``total`` the number of all items.
    """
    if total is None:
        total = len(items)
        start = (page - 1) * page_size
        items = items[start : start + page_size]
    pages = max(1, math.ceil(total / page_size))
    links: dict[str, str | None] = {
        "self": _page_url(page, page_size),
        "first": _page_url(1, page_size),
        "last": _page_url(pages, page_size),
        "next": _page_url(page + 1, page_size) if page < pages else None,
        "prev": _page_url(min(page - 1, pages), page_size) if page > 1 else None,
    }
    body = {
        "data": list(items),
        "meta": {"page": page, "page_size": page_size, "total": total, "pages": pages},
        "links": {("self_" if key == "self" else key): value for key, value in links.items()},
    }
    link_header = ", ".join(
        f'<{url}>; rel="{rel}"' for rel, url in links.items() if url and rel != "self"
    )
    return body, 200, {"Link": link_header, "X-Total-Count": str(total)}
