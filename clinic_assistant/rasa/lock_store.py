"""The lock store, configured by one URL: in memory by default, Redis for replicas.

Rasa processes one turn of a conversation at a time by giving each incoming message
a ticket on the conversation's lock. With several Rasa server replicas the lock must
be shared, so that two turns of one conversation landing on two replicas still run
one after the other (Rasa's scale-out design: stateless servers, a shared tracker
store and a Redis lock store).

    lock_store:
      type: clinic_assistant.rasa.lock_store.UrlLockStore
      url: ${LOCK_STORE_URL}      # "" or "memory://" (default) or redis://host:6379/1

Rasa's own ``RedisLockStore`` reads a lock, changes it and writes it back in three
separate commands, so two replicas taking a ticket at the same moment can both get
the same number and run two turns of one conversation at once. Here every change of
a lock is one Redis transaction (WATCH/MULTI, retried when another replica changed
the lock in between), and a lock key expires on its own after its last ticket would
have, so a replica killed in the middle of a turn cannot block a conversation for
longer than the ticket lifetime (``TICKET_LOCK_LIFETIME``, seconds; Rasa's default 60).
"""
from __future__ import annotations

import json
import logging
import math
import time
from typing import Any, Callable, Optional, TypeVar

from rasa.core.lock import TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, InMemoryLockStore, LockError, LockStore

logger = logging.getLogger(__name__)

KEY_PREFIX = "clinic:lock:"
REDIS_TIMEOUT_SECONDS = 2.0
Result = TypeVar("Result")


def _is_memory(url: Optional[str]) -> bool:
    return not url or url.strip() in ("memory://", "memory", "in_memory")


class AtomicRedisLockStore(LockStore):
    """Ticket locks in Redis, each change one transaction."""

    def __init__(self, url: str, socket_timeout: float = REDIS_TIMEOUT_SECONDS) -> None:
        import redis

        self.red = redis.Redis.from_url(
            url, socket_timeout=socket_timeout, socket_connect_timeout=socket_timeout
        )
        self._watch_error = redis.WatchError
        super().__init__()

    def _key(self, conversation_id: str) -> str:
        return KEY_PREFIX + conversation_id

    def get_lock(self, conversation_id: str) -> Optional[TicketLock]:
        raw = self.red.get(self._key(conversation_id))
        return TicketLock.from_dict(json.loads(raw)) if raw else None

    def delete_lock(self, conversation_id: str) -> None:
        self.red.delete(self._key(conversation_id))

    def save_lock(self, lock: TicketLock) -> None:
        self.red.set(self._key(lock.conversation_id), lock.dumps(), ex=self._expiry(lock))

    @staticmethod
    def _expiry(lock: TicketLock) -> int:
        """Seconds until the lock's last ticket expires (at least 1)."""
        latest = max((ticket.expires for ticket in lock.tickets), default=time.time())
        return max(1, math.ceil(latest - time.time()) + 1)

    def _change(
        self, conversation_id: str, change: Callable[[TicketLock], Result], create: bool
    ) -> Optional[Result]:
        """Applies ``change`` to the stored lock in one transaction; a lock left with
        no tickets is deleted. Returns what ``change`` returned (None if no lock)."""
        key = self._key(conversation_id)
        with self.red.pipeline() as pipe:
            while True:
                try:
                    pipe.watch(key)
                    raw = pipe.get(key)
                    if raw:
                        lock = TicketLock.from_dict(json.loads(raw))
                    elif create:
                        lock = TicketLock(conversation_id)
                    else:
                        pipe.unwatch()
                        return None
                    result = change(lock)
                    pipe.multi()
                    if lock.tickets:
                        pipe.set(key, lock.dumps(), ex=self._expiry(lock))
                    else:
                        pipe.delete(key)
                    pipe.execute()
                    return result
                except self._watch_error:
                    continue  # another replica changed this lock: read it again

    def issue_ticket(self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME) -> int:
        try:
            ticket = self._change(conversation_id, lambda lock: lock.issue_ticket(lock_lifetime), create=True)
        except Exception as error:  # Redis down or unreachable: the turn must fail visibly
            raise LockError(f"Could not take a ticket for conversation '{conversation_id}': {error}") from error
        assert ticket is not None
        return ticket

    def update_lock(self, conversation_id: str) -> None:
        self._change(conversation_id, lambda lock: lock.remove_expired_tickets(), create=False)

    def finish_serving(self, conversation_id: str, ticket_number: int) -> None:
        self._change(conversation_id, lambda lock: lock.remove_ticket_for(ticket_number), create=False)

    def cleanup(self, conversation_id: str, ticket_number: int) -> None:
        # finish_serving deletes the lock in the same transaction when nobody waits
        try:
            self.finish_serving(conversation_id, ticket_number)
        except Exception:
            # the ticket expires by itself; the turn itself went through
            logger.warning("Could not release ticket %s of conversation %s; it will expire",
                           ticket_number, conversation_id, exc_info=True)


class UrlLockStore(LockStore):
    """In memory (one Rasa process) or Redis (replicas), chosen by ``url``."""

    def __init__(self, endpoint_config: Any = None, url: Optional[str] = None) -> None:
        if url is None and endpoint_config is not None:
            url = (endpoint_config.kwargs or {}).get("url") or endpoint_config.url
        self.store: LockStore = InMemoryLockStore() if _is_memory(url) else AtomicRedisLockStore(str(url))
        logger.info("Lock store: %s", type(self.store).__name__)
        super().__init__()

    def get_lock(self, conversation_id: str) -> Optional[TicketLock]:
        return self.store.get_lock(conversation_id)

    def delete_lock(self, conversation_id: str) -> None:
        self.store.delete_lock(conversation_id)

    def save_lock(self, lock: TicketLock) -> None:
        self.store.save_lock(lock)

    def issue_ticket(self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME) -> int:
        return self.store.issue_ticket(conversation_id, lock_lifetime)

    def update_lock(self, conversation_id: str) -> None:
        self.store.update_lock(conversation_id)

    def finish_serving(self, conversation_id: str, ticket_number: int) -> None:
        self.store.finish_serving(conversation_id, ticket_number)

    def cleanup(self, conversation_id: str, ticket_number: int) -> None:
        self.store.cleanup(conversation_id, ticket_number)
