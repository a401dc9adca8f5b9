"""The dossier lifecycle, declared as data.

One table of states and one of transitions, as Plone's DCWorkflow declares them, so that a
reader can audit the whole lifecycle on one screen. The engine that applies them is
``records.lifecycle``; who may act is decided by ``records.authz`` from these tables.

[Decree 61/2018 Art. 19-20; Decree 118/2025; Circular 01/2018 forms 01-06]
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from records.model import DossierStatus as S
from records.model import Role as R

__all__ = [
    "OPEN_STATES",
    "STATES",
    "TRANSITIONS",
    "Effect",
    "Guard",
    "LocalRole",
    "Permission",
    "StateSpec",
    "Target",
    "TransitionSpec",
    "transition_named",
]


class Permission(StrEnum):
    """What a role may do to a dossier's content in a state (beyond moving it on)."""

    EDIT_DOCUMENTS = "edit_documents"
    EDIT_RESULT = "edit_result"


class LocalRole(StrEnum):
    """Roles held on one dossier only."""

    HANDLER = "handler"
    SIGNER = "signer"


class Guard(StrEnum):
    """Conditions checked by the engine besides state and role."""

    SUPPLEMENT_WINDOW = "supplement_window"  # within 3 working days of receipt
    EXTENSION_ALLOWED = "extension_allowed"  # once, at least a day before the due date


class Effect(StrEnum):
    """What a transition changes besides the status."""

    START_CLOCK = "start_clock"  # receipt: received_at, clock and due date
    RESTART_CLOCK = "restart_clock"  # supplement supplied: the clock starts again
    ASSIGN_HANDLER = "assign_handler"
    ASSIGN_SIGNER = "assign_signer"
    EXTEND = "extend"  # the one extension: a new due date, with the apology letter
    FINISH = "finish"  # the dossier's processing ends: finished_at


class Target(StrEnum):
    """A symbolic target: back to the state the dossier was in before this one."""

    PREVIOUS = "previous"


@dataclass(frozen=True, kw_only=True, slots=True)
class StateSpec:
    status: S
    national_code: int | None
    staff_label: str
    citizen_label: str
    clock_running: bool = False
    final: bool = False
    permissions: tuple[tuple[Permission, frozenset[R]], ...] = ()

    def roles_for(self, permission: Permission) -> frozenset[R]:
        for perm, roles in self.permissions:
            if perm is permission:
                return roles
        return frozenset()


@dataclass(frozen=True, kw_only=True, slots=True)
class TransitionSpec:
    name: str
    label: str
    sources: frozenset[S | None]  # None: the dossier is being created
    target: S | Target | None  # None: the status stays (an extension)
    roles: frozenset[R]
    local_role: LocalRole | None = None  # the actor must hold it on the dossier, once assigned
    comment_required: bool = False
    guards: tuple[Guard, ...] = ()
    effects: tuple[Effect, ...] = ()
    # Taken only by the signing use cases, which apply the signature in the same step: the
    # generic transition endpoint refuses them.
    by_signing: bool = False


_DOCS = Permission.EDIT_DOCUMENTS
_RESULT = Permission.EDIT_RESULT

STATES: dict[S, StateSpec] = {
    spec.status: spec
    for spec in (
        StateSpec(status=S.SUBMITTED, national_code=1, staff_label="Mới nộp trực tuyến",
                  citizen_label="Hồ sơ đã được gửi, đang chờ cán bộ tiếp nhận",
                  permissions=((_DOCS, frozenset({R.CLERK, R.CITIZEN})),)),
        StateSpec(status=S.RECEIVED, national_code=2, staff_label="Đã tiếp nhận",
                  citizen_label="Hồ sơ đã được tiếp nhận", clock_running=True,
                  permissions=((_DOCS, frozenset({R.CLERK, R.ADMIN})),)),
        StateSpec(status=S.REFUSED_AT_INTAKE, national_code=3,
                  staff_label="Từ chối tiếp nhận",
                  citizen_label="Hồ sơ không được tiếp nhận (xem lý do)", final=True),
        StateSpec(status=S.INCOMPLETE_AT_INTAKE, national_code=None,
                  staff_label="Yêu cầu hoàn thiện hồ sơ khi tiếp nhận",
                  citizen_label="Hồ sơ cần bổ sung giấy tờ trước khi được tiếp nhận",
                  permissions=((_DOCS, frozenset({R.CLERK, R.CITIZEN})),)),
        StateSpec(status=S.DIGITISED, national_code=2, staff_label="Đã số hóa",
                  citizen_label="Hồ sơ đã được tiếp nhận và số hóa", clock_running=True,
                  permissions=((_DOCS, frozenset({R.CLERK})),)),
        StateSpec(status=S.IN_REVIEW, national_code=4, staff_label="Đang xử lý",
                  citizen_label="Hồ sơ đang được giải quyết", clock_running=True,
                  permissions=((_RESULT, frozenset({R.HANDLER})),)),
        StateSpec(status=S.SUPPLEMENT_REQUESTED, national_code=5,
                  staff_label="Yêu cầu bổ sung",
                  citizen_label="Cơ quan yêu cầu bổ sung giấy tờ (xem nội dung yêu cầu)",
                  permissions=((_DOCS, frozenset({R.CLERK, R.CITIZEN})),)),
        StateSpec(status=S.FEE_REQUESTED, national_code=6, staff_label="Chờ nộp phí, lệ phí",
                  citizen_label="Vui lòng nộp phí, lệ phí để hồ sơ được tiếp tục giải quyết",
                  clock_running=True),
        StateSpec(status=S.PENDING_APPROVAL, national_code=4, staff_label="Chờ phê duyệt",
                  citizen_label="Hồ sơ đang chờ lãnh đạo phê duyệt", clock_running=True,
                  permissions=((_RESULT, frozenset({R.HANDLER})),)),
        StateSpec(status=S.SIGNED, national_code=4, staff_label="Đã ký số",
                  citizen_label="Kết quả đã được lãnh đạo ký số", clock_running=True),
        StateSpec(status=S.SEALED, national_code=4, staff_label="Đã đóng dấu số",
                  citizen_label="Kết quả đã được đóng dấu số của cơ quan",
                  clock_running=True),
        StateSpec(status=S.RESULT_READY, national_code=9, staff_label="Có kết quả, chờ trả",
                  citizen_label="Đã có kết quả, mời nhận kết quả"),
        StateSpec(status=S.RETURNED, national_code=10, staff_label="Đã trả kết quả",
                  citizen_label="Đã trả kết quả", final=True),
        StateSpec(status=S.WITHDRAWAL_REQUESTED, national_code=7,
                  staff_label="Công dân xin rút hồ sơ",
                  citizen_label="Đã gửi yêu cầu rút hồ sơ, đang chờ xử lý"),
        StateSpec(status=S.STOPPED, national_code=8, staff_label="Dừng xử lý",
                  citizen_label="Hồ sơ đã dừng xử lý theo yêu cầu rút hồ sơ", final=True),
        StateSpec(status=S.REFUSED, national_code=8, staff_label="Từ chối giải quyết",
                  citizen_label="Hồ sơ không được giải quyết (xem lý do)", final=True),
    )
}

# States from which a citizen may still withdraw: before an official has signed.
OPEN_STATES: frozenset[S] = frozenset({
    S.SUBMITTED, S.INCOMPLETE_AT_INTAKE, S.RECEIVED, S.DIGITISED, S.IN_REVIEW,
    S.SUPPLEMENT_REQUESTED, S.FEE_REQUESTED, S.PENDING_APPROVAL,
})

# States in which the processing clock runs and a handler may still extend it once. Not
# while a supplement is awaited: the clock restarts when the papers arrive.
_EXTENDABLE: frozenset[S | None] = frozenset({
    S.IN_REVIEW, S.FEE_REQUESTED, S.PENDING_APPROVAL, S.SIGNED, S.SEALED,
})


def _t(name: str, label: str, sources: set[S | None] | frozenset[S | None],
       target: S | Target | None, roles: set[R], **kw: object) -> TransitionSpec:
    return TransitionSpec(name=name, label=label, sources=frozenset(sources), target=target,
                          roles=frozenset(roles), **kw)  # type: ignore[arg-type]


TRANSITIONS: tuple[TransitionSpec, ...] = (
    _t("submit", "Nộp hồ sơ trực tuyến", {None}, S.SUBMITTED, {R.CITIZEN}),
    # Administrators importing a batch of paper dossiers receive them like a clerk.
    _t("receive_at_desk", "Tiếp nhận hồ sơ tại quầy", {None}, S.RECEIVED, {R.CLERK, R.ADMIN},
       effects=(Effect.START_CLOCK,)),
    _t("receive", "Tiếp nhận hồ sơ", {S.SUBMITTED}, S.RECEIVED, {R.CLERK},
       effects=(Effect.START_CLOCK,)),
    _t("refuse_intake", "Từ chối tiếp nhận (mẫu 03)", {S.SUBMITTED}, S.REFUSED_AT_INTAKE,
       {R.CLERK}, comment_required=True, effects=(Effect.FINISH,)),
    _t("request_completion", "Hướng dẫn hoàn thiện hồ sơ (mẫu 02)", {S.SUBMITTED},
       S.INCOMPLETE_AT_INTAKE, {R.CLERK}, comment_required=True),
    _t("resubmit", "Nộp lại hồ sơ đã hoàn thiện", {S.INCOMPLETE_AT_INTAKE}, S.SUBMITTED,
       {R.CITIZEN, R.CLERK}),
    _t("complete_digitisation", "Hoàn thành số hóa", {S.RECEIVED}, S.DIGITISED, {R.CLERK}),
    _t("assign_handler", "Chuyển xử lý", {S.DIGITISED}, S.IN_REVIEW, {R.CLERK, R.HANDLER},
       effects=(Effect.ASSIGN_HANDLER,)),
    _t("request_supplement", "Yêu cầu bổ sung hồ sơ", {S.IN_REVIEW},
       S.SUPPLEMENT_REQUESTED, {R.HANDLER}, local_role=LocalRole.HANDLER,
       comment_required=True, guards=(Guard.SUPPLEMENT_WINDOW,)),
    _t("supply_supplement", "Đã bổ sung hồ sơ", {S.SUPPLEMENT_REQUESTED}, S.IN_REVIEW,
       {R.CLERK, R.CITIZEN}, effects=(Effect.RESTART_CLOCK,)),
    _t("request_fee", "Yêu cầu nộp phí, lệ phí", {S.IN_REVIEW}, S.FEE_REQUESTED,
       {R.HANDLER}, local_role=LocalRole.HANDLER, comment_required=True),
    _t("confirm_fee", "Xác nhận đã nộp phí", {S.FEE_REQUESTED}, S.IN_REVIEW, {R.CLERK}),
    _t("submit_for_approval", "Trình ký kết quả", {S.IN_REVIEW}, S.PENDING_APPROVAL,
       {R.HANDLER}, local_role=LocalRole.HANDLER, effects=(Effect.ASSIGN_SIGNER,)),
    _t("return_for_revision", "Trả lại để hoàn thiện dự thảo", {S.PENDING_APPROVAL},
       S.IN_REVIEW, {R.SIGNER}, local_role=LocalRole.SIGNER, comment_required=True),
    _t("sign", "Ký số kết quả", {S.PENDING_APPROVAL}, S.SIGNED, {R.SIGNER},
       local_role=LocalRole.SIGNER, by_signing=True),
    _t("seal", "Đóng dấu số (con dấu thứ hai)", {S.SIGNED}, S.SEALED, {R.SEAL_CUSTODIAN},
       by_signing=True),
    _t("publish_result", "Chuyển kết quả về bộ phận một cửa", {S.SEALED}, S.RESULT_READY,
       {R.SEAL_CUSTODIAN, R.CLERK}, effects=(Effect.FINISH,)),
    _t("return_result", "Trả kết quả", {S.RESULT_READY}, S.RETURNED, {R.CLERK}),
    _t("request_withdrawal", "Xin rút hồ sơ", OPEN_STATES, S.WITHDRAWAL_REQUESTED,
       {R.CITIZEN, R.CLERK}, comment_required=True),
    _t("cancel_withdrawal", "Hủy yêu cầu rút hồ sơ", {S.WITHDRAWAL_REQUESTED}, Target.PREVIOUS,
       {R.CITIZEN, R.CLERK}),
    _t("stop", "Dừng xử lý hồ sơ", {S.WITHDRAWAL_REQUESTED}, S.STOPPED, {R.CLERK},
       effects=(Effect.FINISH,)),
    _t("refuse", "Từ chối giải quyết", {S.IN_REVIEW}, S.REFUSED, {R.HANDLER},
       local_role=LocalRole.HANDLER, comment_required=True, effects=(Effect.FINISH,)),
    _t("extend", "Gia hạn (thư xin lỗi, mẫu 04)", _EXTENDABLE, None, {R.HANDLER},
       local_role=LocalRole.HANDLER, comment_required=True,
       guards=(Guard.EXTENSION_ALLOWED,), effects=(Effect.EXTEND,)),
)

_BY_NAME = {spec.name: spec for spec in TRANSITIONS}


def transition_named(name: str) -> TransitionSpec | None:
    return _BY_NAME.get(name)
