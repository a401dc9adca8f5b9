"""The audit trail: append-only, hash-chained, keyed.

Each entry commits to the one before it: ``hash = HMAC(key, prev_hash || canonical(entry))``.
Editing an entry breaks its own hash; deleting one breaks its successor's link; moving one
makes its link point at an entry that is not its predecessor; cutting the tail is caught by
the separately stored head. The key (``MOTCUA_AUDIT_KEY``) means that someone who can write
the database but not read the key cannot forge a consistent chain.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

__all__ = [
    "GENESIS",
    "AuditEntry",
    "AuditEvent",
    "ChainProblem",
    "ChainReport",
    "next_entry",
    "verify_chain",
]

GENESIS = "0" * 64

JsonValue = str | int | float | bool | None


@dataclass(frozen=True, kw_only=True, slots=True)
class AuditEvent:
    """Something worth recording: who did what to which object, with details."""

    actor: str
    action: str
    object_type: str
    object_id: str
    detail: Mapping[str, JsonValue] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True, slots=True)
class AuditEntry:
    seq: int
    at: datetime
    actor: str
    action: str
    object_type: str
    object_id: str
    detail: str  # canonical JSON, stored as written so that the hash can be recomputed
    prev_hash: str
    hash: str


class ChainProblem(StrEnum):
    EDITED = "edited"  # an entry's content no longer matches its hash
    DELETED = "deleted"  # the entry before this one is missing
    REORDERED = "reordered"  # this entry links to an entry that is not its predecessor
    RENUMBERED = "renumbered"  # links hold but the sequence numbers were changed
    TRUNCATED = "truncated"  # entries at the end are missing (the head says more exist)


@dataclass(frozen=True, kw_only=True, slots=True)
class ChainReport:
    intact: bool
    checked: int
    problem: ChainProblem | None = None
    seq: int | None = None  # the first entry found wrong (or, for TRUNCATED, the head's seq)
    message: str = ""


def canonical_detail(detail: Mapping[str, JsonValue]) -> str:
    return json.dumps(dict(detail), ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def _digest(key: bytes, prev_hash: str, at: datetime, actor: str, action: str,
            object_type: str, object_id: str, detail: str) -> str:
    # The sequence number is deliberately outside the hash: order is carried by the links,
    # so a moved entry is told apart from an edited one.
    body = json.dumps(
        [prev_hash, at.isoformat(timespec="microseconds"), actor, action, object_type,
         object_id, detail],
        ensure_ascii=False, separators=(",", ":"),
    )
    return hmac.new(key, body.encode("utf-8"), hashlib.sha256).hexdigest()


def next_entry(*, key: bytes, prev: tuple[int, str] | None, at: datetime,
               event: AuditEvent) -> AuditEntry:
    """The entry that follows ``prev`` (its seq and hash; None for the first)."""
    prev_seq, prev_hash = prev if prev is not None else (0, GENESIS)
    detail = canonical_detail(event.detail)
    digest = _digest(key, prev_hash, at, event.actor, event.action, event.object_type,
                     event.object_id, detail)
    return AuditEntry(seq=prev_seq + 1, at=at, actor=event.actor, action=event.action,
                      object_type=event.object_type, object_id=event.object_id,
                      detail=detail, prev_hash=prev_hash, hash=digest)


def _recompute(key: bytes, entry: AuditEntry) -> str:
    return _digest(key, entry.prev_hash, entry.at, entry.actor, entry.action,
                   entry.object_type, entry.object_id, entry.detail)


def verify_chain(entries: Iterable[AuditEntry], *, key: bytes, head: tuple[int, str] | None,
                 hash_exists: Callable[[str], bool]) -> ChainReport:
    """Check ``entries`` (streamed in ascending ``seq``) against each other and the head.

    ``hash_exists`` tells whether any stored entry has the given hash; it is asked only once
    a broken link is found, to tell a moved entry from a deleted one.
    """
    prev_hash, prev_seq = GENESIS, 0
    checked = 0
    for i, entry in enumerate(entries):
        checked = i + 1
        if not hmac.compare_digest(_recompute(key, entry), entry.hash):
            return ChainReport(intact=False, checked=i, problem=ChainProblem.EDITED,
                               seq=entry.seq, message=f"entry {entry.seq} was edited")
        if entry.prev_hash != prev_hash:
            # A link to another entry still present (or to the start) means this entry was
            # moved; a link to nothing present means its predecessor was deleted.
            if entry.prev_hash == GENESIS or hash_exists(entry.prev_hash):
                return ChainReport(intact=False, checked=i, problem=ChainProblem.REORDERED,
                                   seq=entry.seq,
                                   message=f"entry {entry.seq} is out of its place")
            return ChainReport(intact=False, checked=i, problem=ChainProblem.DELETED,
                               seq=entry.seq,
                               message=f"an entry before {entry.seq} was deleted")
        if entry.seq != prev_seq + 1:
            return ChainReport(intact=False, checked=i, problem=ChainProblem.RENUMBERED,
                               seq=entry.seq,
                               message=f"entry {entry.seq} should be number {prev_seq + 1}")
        prev_hash, prev_seq = entry.hash, entry.seq
    head_seq, head_hash = head if head is not None else (0, GENESIS)
    if (prev_seq, prev_hash) != (head_seq, head_hash):
        return ChainReport(intact=False, checked=checked, problem=ChainProblem.TRUNCATED,
                           seq=head_seq,
                           message=f"the chain ends at {prev_seq} but the head is {head_seq}")
    return ChainReport(intact=True, checked=checked, message="audit chain intact")
