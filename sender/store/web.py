"""The web app's own state, in the store so that every process of `drip serve` sees
the same: counters that limit confirmation emails, and console login sessions.

Both hold only hashes (an HMAC of an address or client, the SHA-256 of a session id),
never the address, the client or a usable session id.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from sender.store import Store
from sender.store.schema import console_sessions, send_limits

# -- limits ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Slot:
    """One use of `key`, allowed `limit` times per `window` (a fixed window that starts
    with the first use)."""

    key: str
    limit: int
    window: timedelta


def take(store: Store, slots: Sequence[Slot], now: datetime) -> tuple[Slot, datetime] | None:
    """Count one use against every slot, all or none. None: counted; else the first slot
    that is used up and when it frees (nothing is counted then)."""
    with store.engine.connect() as conn, conn.begin() as transaction:
        # Expired counters are the same as absent ones: dropping them keeps the table small
        # and leaves only live counters below.
        conn.execute(sa.delete(send_limits).where(send_limits.c.window_ends_at <= now))
        for slot in slots:
            # RETURNING, not rowcount: psycopg reports -1 for an INSERT that did nothing.
            inserted = conn.execute(
                store._insert(send_limits)
                .values(key=slot.key, count=1, window_ends_at=now + slot.window)
                .on_conflict_do_nothing(index_elements=["key"]).returning(send_limits.c.key)).first()
            if inserted:
                continue
            # The condition is checked on the locked row, so two processes can't both take the last use.
            counted = conn.execute(
                sa.update(send_limits)
                .where(send_limits.c.key == slot.key, send_limits.c.count < slot.limit)
                .values(count=send_limits.c.count + 1).returning(send_limits.c.key)).first()
            if not counted:
                free_at = conn.execute(sa.select(send_limits.c.window_ends_at)
                                       .where(send_limits.c.key == slot.key)).scalar_one()
                transaction.rollback()
                return slot, free_at
    return None


def give_back(store: Store, slots: Sequence[Slot]) -> None:
    """Undo `take` (the email it was for could not be sent)."""
    with store.begin() as conn:
        conn.execute(sa.update(send_limits)
                     .where(send_limits.c.key.in_([s.key for s in slots]), send_limits.c.count > 0)
                     .values(count=send_limits.c.count - 1))


# -- console sessions ----------------------------------------------------------------------


def _id_hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def open_session(store: Store, user: str, now: datetime, lifetime: timedelta) -> str:
    """A new session's id, for the cookie."""
    session_id = secrets.token_urlsafe(32)
    with store.begin() as conn:
        conn.execute(sa.delete(console_sessions).where(console_sessions.c.expires_at <= now))
        conn.execute(sa.insert(console_sessions).values(
            id_hash=_id_hash(session_id), user=user, created_at=now, expires_at=now + lifetime))
    return session_id


def session_user(store: Store, session_id: str, now: datetime) -> str | None:
    """Who the session belongs to, while it is open and unexpired."""
    with store.engine.connect() as conn:
        user: str | None = conn.execute(sa.select(console_sessions.c.user).where(
            console_sessions.c.id_hash == _id_hash(session_id), console_sessions.c.expires_at > now)).scalar()
    return user


def close_session(store: Store, session_id: str) -> None:
    with store.begin() as conn:
        conn.execute(sa.delete(console_sessions).where(console_sessions.c.id_hash == _id_hash(session_id)))
