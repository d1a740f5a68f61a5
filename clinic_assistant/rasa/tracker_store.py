"""Rasa's SQL tracker store, configured by one database URL.

The conversations and the project's own tables (booking requests, handoff tickets)
live in the same database, named once by DATABASE_URL: a SQLite file by default,
PostgreSQL with e.g. ``postgresql://user:password@host:5432/clinic``.
"""
import itertools
import json
from typing import Any, Iterator, Optional

import sqlalchemy as sa
import sqlalchemy.orm
from rasa.core.brokers.broker import EventBroker
from rasa.core.tracker_store import SQLTrackerStore, create_engine_kwargs
from rasa.shared.core.domain import Domain
from rasa.shared.core.trackers import DialogueStateTracker

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
        from clinic_assistant.rasa.patches import warn_if_not_applied

        warn_if_not_applied()  # started with `rasa run` instead of clinic_assistant.rasa.server
        self._db_url = sa.engine.make_url(db_url or Settings.from_env().database.url)
        super().__init__(
            domain=domain,
            dialect=self._db_url.drivername,
            db=self._db_url.database or "",
            event_broker=event_broker,
            **kwargs,
        )
        self._replace_engine()

    def _replace_engine(self) -> None:
        """The engine Rasa made, with two changes:

        - SQLite files keep their connections open between turns. SQLAlchemy 1.4 opens
          and closes one per session for SQLite files (NullPool); with the WAL set-up
          run on each connect that was about a tenth of a turn in the profile (py-spy).
        - Other databases (PostgreSQL) check a pooled connection before using it, so
          the first turn after a database restart works instead of failing on a
          connection the server closed.
        """
        if self.engine.dialect.name == "sqlite":
            if self._db_url.database in (None, "", ":memory:"):
                return
            options: dict[str, Any] = dict(poolclass=sa.pool.QueuePool, pool_size=2, max_overflow=8,
                                           connect_args={"check_same_thread": False})
        else:
            options = dict(create_engine_kwargs(self._db_url), pool_pre_ping=True)
        self.engine.dispose()
        self.engine = sa.create_engine(self._db_url, **options)
        self.sessionmaker = sa.orm.session.sessionmaker(bind=self.engine)

    def get_db_url(self, *args: Any, **kwargs: Any) -> sa.engine.URL:  # type: ignore[override]
        """The configured URL as it is (Rasa would rebuild it from parts)."""
        return self._db_url

    async def _retrieve(
        self, sender_id: str, fetch_events_from_all_sessions: bool
    ) -> Optional[DialogueStateTracker]:
        """Rasa's retrieval with the same query, reading only the events' ``data``
        column: Rasa builds a full ORM object per stored event and then uses only
        that column, which was over half of loading a conversation in our profile."""
        with self.session_scope() as session:
            query = self._event_query(session, sender_id, fetch_events_from_all_sessions)
            rows = query.with_entities(self.SQLEvent.data).all()
            events = [json.loads(row.data) for row in rows]
        if self.domain and events:
            return DialogueStateTracker.from_dict(sender_id, events, self.domain.slots)
        return None

    def _additional_events(self, session: Any, tracker: DialogueStateTracker) -> Iterator:
        """Rasa's "which events are new" with a plain COUNT over the same query (Rasa's
        ``Query.count()`` wraps the whole row query in a subquery: 40% of a save)."""
        stored = (
            self._event_query(session, tracker.sender_id, fetch_events_from_all_sessions=False)
            .order_by(None)
            .with_entities(sa.func.count(self.SQLEvent.id))
            .scalar()
        )
        return itertools.islice(tracker.events, stored or 0, len(tracker.events))
