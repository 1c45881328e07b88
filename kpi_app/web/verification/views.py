"""Verification views: to-do inbox, review workspace, workflow steps, queries, value history.

Every route authorises through services.permissions (via the services it calls): a user who
may not see an assessment gets 404 (its existence is not revealed), one who may see it but
not act gets 403. Workflow errors come back as a flashed message; nothing commits here.

One blueprint, ``verification`` (:mod:`.common`), its routes in three modules by page family:

* :mod:`.review_pages`: inbox, review table, bulk verify, one value, history and revert;
* :mod:`.thread_pages`: query threads (the city's list, open, reply with a file, resolve);
* :mod:`.decision_pages`: submit, carry over, start review, return, verify, publish, reopen.

Importing them here registers their routes on ``bp`` (found by ``web.register_blueprints``).
"""

from __future__ import annotations

from kpi_app.web.verification import decision_pages, review_pages, thread_pages
from kpi_app.web.verification.common import bp

__all__ = ["bp", "decision_pages", "review_pages", "thread_pages"]
