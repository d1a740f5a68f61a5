"""Rasa's SQL tracker store, configured by one database URL.

The conversations and the project's own tables (booking requests, handoff tickets)
live in the same database, named once by DATABASE_URL: a SQLite file by default,
PostgreSQL with e.g. ``postgresql://user:password@host:5432/clinic``.
"""
from typing import Any, Optional

import sqlalchemy as sa
from rasa.core.brokers.broker import EventBroker
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain

from clinic_assistant.settings import Settings


class UrlSQLTrackerStore(SQLTrackerStore):
    """``SQLTrackerStore`` taking ``db_url`` (endpoints.yml) instead of its parts."""

    def __init__(
        self,
        domain: Optional[Domain] = None,
        host: Optional[str] = None,
        event_broker: Optional[EventBroker] = None,
        db_url: Optional[str] = None,
        **kwargs: Any,
    ) -> None:
        self._db_url = sa.engine.make_url(db_url or Settings.from_env().database_url)
        super().__init__(
            domain=domain,
            dialect=self._db_url.drivername,
            db=self._db_url.database or "",
            event_broker=event_broker,
            **kwargs,
        )

    def get_db_url(self, *args: Any, **kwargs: Any) -> sa.engine.URL:  # type: ignore[override]
        """The configured URL as it is (Rasa would rebuild it from parts)."""
        return self._db_url
