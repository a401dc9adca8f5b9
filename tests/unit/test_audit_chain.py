"""The keyed hash chain of the audit trail: each kind of tampering is detected and located."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from records.audit import (
    GENESIS,
    AuditEntry,
    AuditEvent,
    ChainProblem,
    ChainReport,
    next_entry,
    verify_chain,
)

pytestmark = pytest.mark.unit

KEY = b"motcua-test-audit-key-0123456789abcdef"
START = datetime(2026, 11, 19, 3, 0, tzinfo=UTC)
EVENTS = (
    AuditEvent(actor="clerk1", action="dossier.receive", object_type="dossier",
               object_id="000.00.15.H40-261119-0001", detail={"branch": "MC01"}),
    AuditEvent(actor="clerk1", action="document.create", object_type="document",
               object_id="000.00.15.H40_GKS_000001_V1", detail={"pages": 2, "dpi": 300}),
    AuditEvent(actor="handler1", action="dossier.transition", object_type="dossier",
               object_id="000.00.15.H40-261119-0001",
               detail={"from": "digitised", "to": "in_review"}),
    AuditEvent(actor="handler1", action="document.view", object_type="document",
               object_id="000.00.15.H40_GKS_000001_V1", detail={}),
    AuditEvent(actor="signer1", action="result.sign", object_type="result",
               object_id="KQ-261126-0001", detail={"certificate": "54:01:AB", "ok": True}),
    AuditEvent(actor="agency:000.00.20.H40", action="reuse.query", object_type="person",
               object_id="001203004567", detail={"purpose": "Cấp hộ chiếu"}),
)


def build_chain(key: bytes = KEY, events: tuple[AuditEvent, ...] = EVENTS
                ) -> list[AuditEntry]:
    entries: list[AuditEntry] = []
    for i, event in enumerate(events):
        prev = (entries[-1].seq, entries[-1].hash) if entries else None
        entries.append(next_entry(key=key, prev=prev, at=START + timedelta(minutes=7 * i),
                                  event=event))
    return entries


def head_of(entries: list[AuditEntry]) -> tuple[int, str]:
    return entries[-1].seq, entries[-1].hash


def verify(entries: list[AuditEntry], head: tuple[int, str] | None, *, key: bytes = KEY
           ) -> ChainReport:
    hashes = {entry.hash for entry in entries}
    return verify_chain(iter(entries), key=key, head=head, hash_exists=lambda h: h in hashes)


def assert_broken(report: ChainReport, problem: ChainProblem, seq: int, checked: int) -> None:
    assert (report.intact, report.problem, report.seq, report.checked) == (
        False, problem, seq, checked)
    assert report.message


def test_entries_link_to_their_predecessor_and_number_from_one() -> None:
    chain = build_chain()
    assert [e.seq for e in chain] == [1, 2, 3, 4, 5, 6]
    assert chain[0].prev_hash == GENESIS
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(chain))
    assert len({e.hash for e in chain}) == 6
    assert all(len(e.hash) == 64 for e in chain)
    assert chain[1].detail == '{"dpi":300,"pages":2}'  # canonical: sorted, compact
    assert chain[5].detail == '{"purpose":"Cấp hộ chiếu"}'  # kept readable, not \\u-escaped


def test_the_same_events_give_the_same_hashes_and_another_key_others() -> None:
    assert [e.hash for e in build_chain()] == [e.hash for e in build_chain()]
    other = build_chain(key=b"another-key")
    assert all(a.hash != b.hash for a, b in zip(build_chain(), other, strict=True))


def test_an_intact_chain() -> None:
    chain = build_chain()
    report = verify(chain, head_of(chain))
    assert (report.intact, report.checked, report.problem, report.seq) == (True, 6, None, None)


def test_an_empty_chain_without_a_head_is_intact() -> None:
    report = verify([], None)
    assert (report.intact, report.checked, report.problem) == (True, 0, None)


def test_an_empty_chain_with_a_head_was_truncated() -> None:
    chain = build_chain()
    assert_broken(verify([], head_of(chain)), ChainProblem.TRUNCATED, seq=6, checked=0)


@pytest.mark.parametrize("change", [
    {"actor": "clerk2"},
    {"detail": '{"dpi":600,"pages":2}'},
    {"action": "document.delete"},
    {"object_id": "000.00.15.H40_GKS_000002_V1"},
    {"at": START + timedelta(days=1)},
])
def test_an_edited_entry_is_located(change: dict[str, object]) -> None:
    chain = build_chain()
    chain[1] = replace(chain[1], **change)  # type: ignore[arg-type]
    assert_broken(verify(chain, head_of(chain)), ChainProblem.EDITED, seq=2, checked=1)


def test_an_edited_first_entry_and_a_rehashed_one_are_located() -> None:
    chain = build_chain()
    chain[0] = replace(chain[0], actor="admin1")
    assert_broken(verify(chain, head_of(chain)), ChainProblem.EDITED, seq=1, checked=0)
    # Recomputing the hash without the key is not possible; with a wrong key it is caught.
    chain = build_chain()
    forged = next_entry(key=b"guessed-key", prev=(3, chain[2].hash), at=chain[3].at,
                        event=replace(EVENTS[3], actor="nobody"))
    chain[3] = forged
    assert_broken(verify(chain, head_of(chain)), ChainProblem.EDITED, seq=4, checked=3)


def test_a_deleted_middle_entry_is_located_at_its_successor() -> None:
    chain = build_chain()
    del chain[2]
    assert_broken(verify(chain, head_of(chain)), ChainProblem.DELETED, seq=4, checked=2)


def test_a_deleted_first_entry_is_located_at_the_second() -> None:
    chain = build_chain()
    head = head_of(chain)
    del chain[0]
    assert_broken(verify(chain, head), ChainProblem.DELETED, seq=2, checked=0)


def test_a_reordered_pair_is_located_at_the_first_moved() -> None:
    chain = build_chain()
    second, third = chain[1], chain[2]
    chain[1], chain[2] = replace(third, seq=2), replace(second, seq=3)
    assert_broken(verify(chain, head_of(chain)), ChainProblem.REORDERED, seq=2, checked=1)


def test_a_first_entry_moved_later_is_reordered() -> None:
    chain = build_chain()
    first, second = chain[0], chain[1]
    chain[0], chain[1] = replace(second, seq=1), replace(first, seq=2)
    assert_broken(verify(chain, head_of(chain)), ChainProblem.REORDERED, seq=1, checked=0)


def test_a_renumbered_entry_is_located() -> None:
    chain = build_chain()
    chain[3] = replace(chain[3], seq=9)
    assert_broken(verify(chain, head_of(chain)), ChainProblem.RENUMBERED, seq=9, checked=3)


def test_a_gap_in_the_numbers_with_intact_links_is_renumbering() -> None:
    chain = build_chain()
    tail = [replace(e, seq=e.seq + 1) for e in chain[3:]]
    chain = chain[:3] + tail
    assert_broken(verify(chain, head_of(chain)), ChainProblem.RENUMBERED, seq=5, checked=3)


def test_a_truncated_tail_is_caught_by_the_head() -> None:
    chain = build_chain()
    head = head_of(chain)
    report = verify(chain[:4], head)
    assert_broken(report, ChainProblem.TRUNCATED, seq=6, checked=4)
    assert "4" in report.message
    assert "6" in report.message


def test_a_head_with_the_right_number_but_another_hash_is_not_accepted() -> None:
    chain = build_chain()
    report = verify(chain, (6, chain[4].hash))
    assert (report.intact, report.problem) == (False, ChainProblem.TRUNCATED)


def test_a_wrong_key_fails_at_the_first_entry() -> None:
    chain = build_chain()
    report = verify(chain, head_of(chain), key=b"not-the-key")
    assert_broken(report, ChainProblem.EDITED, seq=1, checked=0)
