"""The citizen's satisfaction rating of a settled dossier (đánh giá sự hài lòng).

Only the applicant rates, once, and only when the dossier's processing has ended; the score
goes from 1 (very dissatisfied) to 5 (very satisfied). [Decision 766/QĐ-TTg of 2022 measures
service quality partly by citizens' satisfaction; the 1-5 scale is this product's choice.]
"""

from __future__ import annotations

from dataclasses import dataclass

from records.audit import AuditEvent
from records.authz import Action, Principal, authorize, dossier_not_found
from records.errors import Conflict, Forbidden, InvalidInput, TransitionRefused
from records.model import Dossier, Rating, Role
from records.repository import RecordsSession
from records.services import RecordsDeps
from records.workflow import STATES

__all__ = ["MAX_COMMENT", "RatingRequest", "may_rate", "rate_dossier", "rating_of"]

MAX_COMMENT = 1000
SCORES = range(1, 6)


@dataclass(frozen=True, kw_only=True, slots=True)
class RatingRequest:
    score: int
    comment: str = ""


def may_rate(dossier: Dossier) -> bool:
    """Processing has ended: a result was issued, or the dossier was refused or stopped."""
    return dossier.finished_at is not None or STATES[dossier.status].final


def _own(tx: RecordsSession, who: Principal, code: str) -> Dossier:
    dossier = tx.get_dossier(code)
    if dossier is None:
        raise dossier_not_found()
    authorize(who, Action.VIEW, dossier)  # someone else's dossier is a missing one
    if not who.has(Role.CITIZEN) or who.owner_id != dossier.applicant_id:
        raise Forbidden("not_applicant", "Chỉ người nộp hồ sơ được đánh giá sự hài lòng.")
    return dossier


def rating_of(deps: RecordsDeps, who: Principal, code: str) -> Rating | None:
    """The applicant's rating of their dossier, if they gave one."""
    with deps.store.session(readonly=True) as tx:
        dossier = _own(tx, who, code)
        return tx.get_rating(dossier.id)


def rate_dossier(deps: RecordsDeps, who: Principal, code: str,
                 request: RatingRequest) -> Rating:
    if request.score not in SCORES:
        raise InvalidInput("invalid_score", "Vui lòng chọn mức độ hài lòng từ 1 đến 5.",
                           field="score")
    comment = request.comment.strip()
    if len(comment) > MAX_COMMENT:
        raise InvalidInput("comment_too_long", f"Góp ý dài tối đa {MAX_COMMENT} ký tự.",
                           field="comment")
    now = deps.clock.now()
    with deps.store.session() as tx:
        dossier = _own(tx, who, code)
        if not may_rate(dossier):
            raise TransitionRefused("not_finished", "Hồ sơ chưa giải quyết xong: chỉ đánh giá "
                                    "được sau khi có kết quả.")
        rating = Rating(dossier_id=dossier.id, owner_id=dossier.applicant_id,
                        score=request.score, comment=comment, created_at=now)
        if not tx.add_rating(rating):
            raise Conflict("already_rated", "Bạn đã đánh giá hồ sơ này rồi; mỗi hồ sơ chỉ được "
                           "đánh giá một lần.")
        tx.append_audit(AuditEvent(actor=who.username, action="dossier.rate",
                                   object_type="dossier", object_id=dossier.code,
                                   detail={"score": request.score}),
                        at=now, key=deps.audit_key)
        return rating
