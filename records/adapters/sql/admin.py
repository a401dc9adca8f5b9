"""What administration needs of the records database beyond the reference data: lists,
renames, a procedure rewritten with its papers, accounts and holidays."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Connection, delete, func, insert, or_, select, update

from records.adapters.sql import tables as t
from records.model import Agency, Procedure, Role
from records.repository import Holiday, User, UserCounts

__all__ = ["AdminRows"]

_U = t.users.c


class AdminRows:
    """Session methods for the administrator's pages (mixed into ``SqlRecordsSession``)."""

    _c: Connection

    def list_agencies(self) -> list[Agency]:
        rows = self._c.execute(select(t.agencies).order_by(t.agencies.c.code))
        return [Agency(code=r.code, name=r.name) for r in rows]

    def rename_agency(self, code: str, name: str) -> bool:
        done = self._c.execute(update(t.agencies).where(t.agencies.c.code == code)
                               .values(name=name))
        return done.rowcount == 1

    def rename_branch(self, code: str, name: str) -> bool:
        done = self._c.execute(update(t.branches).where(t.branches.c.code == code)
                               .values(name=name))
        return done.rowcount == 1

    def replace_procedure(self, procedure: Procedure) -> bool:
        """Rewrite a procedure and its required papers; its code (which dossiers carry)
        stays. False if there is no such procedure."""
        done = self._c.execute(update(t.procedures).where(t.procedures.c.code == procedure.code)
                               .values(name=procedure.name, agency_code=procedure.agency_code,
                                       processing_days=procedure.processing_days,
                                       fee_vnd=procedure.fee_vnd,
                                       result_type=procedure.result_type))
        if done.rowcount != 1:
            return False
        components = t.procedure_components
        self._c.execute(delete(components).where(components.c.procedure_code == procedure.code))
        if procedure.components:
            self._c.execute(insert(components), [
                {"procedure_code": procedure.code, "code": c.code, "position": i,
                 "name": c.name, "document_type": c.document_type, "mandatory": c.mandatory}
                for i, c in enumerate(procedure.components)])
        return True

    def list_users(self, *, query: str = "", role: Role | None = None,
                   limit: int = 200) -> list[User]:
        # Imported here: the store module imports this mixin, so a top-level import would
        # be circular; the row mapping must stay the one ``get_user`` uses.
        from records.adapters.sql.store import _user

        stmt = select(t.users).order_by(_U.username).limit(limit)
        text = query.strip().lower()
        if text:
            pattern = f"%{text}%"
            stmt = stmt.where(or_(func.lower(_U.username).like(pattern),
                                  func.lower(_U.display_name).like(pattern),
                                  _U.owner_id.like(pattern)))
        if role is not None:
            # Role values are whole words and none is part of another.
            stmt = stmt.where(_U.roles.like(f"%{role.value}%"))
        return [_user(r) for r in self._c.execute(stmt)]

    def user_counts(self) -> UserCounts:
        row = self._c.execute(select(
            func.count(),
            func.count().filter(_U.active.is_(True)),
            func.count().filter(_U.totp_secret.is_not(None)),
        ).select_from(t.users)).one()
        return UserCounts(total=int(row[0]), active=int(row[1]), two_factor=int(row[2]))

    def revoke_tokens_of(self, username: str) -> int:
        tokens = t.api_tokens.c
        done = self._c.execute(update(t.api_tokens).where(tokens.username == username,
                                                          tokens.revoked.is_(False))
                               .values(revoked=True))
        return int(done.rowcount)

    def list_holidays(self, year: int) -> list[Holiday]:
        h = t.holidays.c
        rows = self._c.execute(select(t.holidays).where(
            h.day >= date(year, 1, 1), h.day <= date(year, 12, 31)).order_by(h.day))
        return [Holiday(day=r.day, name=r.name, working=r.working) for r in rows]

    def delete_holiday(self, day: date) -> bool:
        done = self._c.execute(delete(t.holidays).where(t.holidays.c.day == day))
        return done.rowcount == 1
