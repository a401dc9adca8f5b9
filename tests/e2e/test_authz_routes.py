"""Another user's object answers exactly like a missing one, on every route.

The routes are read from the running app (``app.routes``), so a page or API route added later
is covered without touching this file: every GET route with a path parameter is looked up in
``PARAMS`` below, and the test fails on one it cannot classify. For each route that names a
dossier, document or result, two users who may not see the target ask for it and for a
code of the same shape that does not exist; status, body and redirect must be the same once
the codes themselves are blanked out. Probing codes then tells nothing (records/authz.py).
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from urllib.parse import quote

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import Response
from PIL import Image, ImageDraw

from api.demo import BRANCH_WARD, DEMO_PASSWORD, PROCEDURES
from records.accounts import create_user
from records.model import Role
from tests.fixtures.app import Api, running_api
from tests.fixtures.web import PageClient

pytestmark = pytest.mark.e2e

T0 = datetime(2026, 11, 19, 3, 0, tzinfo=UTC)
OTHER_CITIZEN = "022190005678"
LAND = PROCEDURES[0].code


class Kind(StrEnum):
    DOSSIER = "dossier"
    DOCUMENT = "document"
    RESULT = "result"


@dataclass(frozen=True, slots=True)
class Fixed:
    """A secondary parameter, the same in both requests."""

    value: str


@dataclass(frozen=True, slots=True)
class NotOwned:
    """A parameter that names no one's dossier, document or result; why it is left out."""

    reason: str


Rule = Kind | Fixed | NotOwned

# (path prefix, parameter name) -> how to fill it. The longest matching prefix wins; a prefix
# of "" applies to the parameter anywhere.
PARAMS: dict[tuple[str, str], Rule] = {
    ("/api/v1/dossiers/", "code"): Kind.DOSSIER,
    ("/ho-so/", "code"): Kind.DOSSIER,  # staff pages of a dossier
    ("/cong-dan/ho-so/", "code"): Kind.DOSSIER,  # the citizen's pages of a dossier
    ("/api/v1/results/", "code"): Kind.RESULT,
    ("", "doc_code"): Kind.DOCUMENT,
    ("", "result_code"): Kind.RESULT,
    ("", "dossier_code"): Kind.DOSSIER,
    ("", "position"): Fixed("1"),
    ("/xac-minh/", "code"): NotOwned("the QR verification page answers anyone holding the "
                                     "result's code, by design"),
    ("/quan-tri/", "code"): NotOwned("the administrator's catalogue (procedures, agencies, "
                                     "branches): a role check, not an owner check"),
    ("/quan-tri/", "username"): NotOwned("administrators' user pages: a role check"),
    ("/khoi-phuc/", "park_id"): NotOwned("a parked form: tests/e2e/test_pages_auth.py checks "
                                         "that nobody else can resume it"),
    ("/ky-so/lo/", "batch_id"): NotOwned("an in-process signing batch, keyed by its signer"),
    ("/dong-dau/lo/", "batch_id"): NotOwned("an in-process sealing batch, keyed by its "
                                            "custodian"),
}

_PARAM = re.compile(r"\{(\w+)(?::\w+)?\}")


def _rule(path: str, param: str) -> Rule | None:
    matching = [(prefix, rule) for (prefix, name), rule in PARAMS.items()
                if name == param and path.startswith(prefix)]
    return max(matching, key=lambda m: len(m[0]))[1] if matching else None


def _get_routes(app: FastAPI) -> list[str]:
    """Every GET path of the app, API and pages, including routers included lazily."""
    try:
        from fastapi.routing import iter_route_contexts  # FastAPI >= 0.163
    except ImportError:  # pragma: no cover - older FastAPI flattens included routers
        routes = [(getattr(r, "path", None), getattr(r, "methods", None)) for r in app.routes]
    else:
        routes = [(r.path, r.methods) for r in iter_route_contexts(app.routes)]
    return sorted({path for path, methods in routes if path and methods and "GET" in methods})


def _missing_like(code: str) -> str:
    """A code of the same shape that does not exist: its last number all nines."""
    digits = list(re.finditer(r"\d+", code))
    assert digits, code
    last = digits[-1]
    return code[:last.start()] + "9" * len(last.group()) + code[last.end():]


@dataclass
class World:
    api: Api
    targets: dict[Kind, str]  # the other people's objects
    askers: dict[str, TestClient]  # who may not see them, as browser and bearer client


def _scan() -> bytes:
    page = Image.new("L", (1240, 1754), 255)
    draw = ImageDraw.Draw(page)
    for line in range(20):
        draw.text((120, 150 + 60 * line), f"DON DANG KY DAT DAI - dong {line + 1}", fill=0)
    out = io.BytesIO()
    page.save(out, "PNG", dpi=(150, 150))
    return out.getvalue()


def _ok(response: Response, status: int = 200) -> dict[str, object]:
    assert response.status_code == status, response.text
    body: dict[str, object] = response.json()
    return body


def _asker(api: Api, username: str) -> TestClient:
    page = PageClient.logged_in(api, username)
    token = page.session_token
    assert token is not None
    page.client.headers["Authorization"] = f"Bearer {token}"
    return page.client


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with running_api(tmp_path_factory.mktemp("authz"), T0) as api:
        accounts = api.services.accounts
        create_user(accounts, username="tiepnhan_halong", password=DEMO_PASSWORD,
                    display_name="Vũ Thị Mai (một cửa phường Hạ Long)",
                    roles=frozenset({Role.CLERK}), branch_code=BRANCH_WARD)
        create_user(accounts, username="congdan2", password=DEMO_PASSWORD,
                    display_name="Trần Văn Nam", roles=frozenset({Role.CITIZEN}),
                    owner_id=OTHER_CITIZEN)
        # The targets: dossiers of the province centre's desk, for the other citizen.
        clerk = api.login("tiepnhan")
        applicant = {"applicant_id": OTHER_CITIZEN, "applicant_name": "Trần Văn Nam",
                     "procedure_code": LAND}
        with_result = str(_ok(api.create(clerk, **applicant), 201)["code"])
        _ok(api.move(clerk, with_result, "complete_digitisation"))
        _ok(api.move(clerk, with_result, "assign_handler", handler="chuyenvien"))
        result = _ok(api.client.post(
            f"/api/v1/dossiers/{with_result}/result", headers=api.login("chuyenvien"),
            json={"subject": "Về việc cấp Giấy chứng nhận quyền sử dụng đất cho ông Trần "
                             "Văn Nam", "body": ["Cấp Giấy chứng nhận thửa đất số 88."],
                  "signer": "lanhdao"}), 201)
        with_paper = str(_ok(api.create(clerk, **applicant), 201)["code"])
        document = _ok(api.client.post(
            f"/api/v1/dossiers/{with_paper}/documents", headers=clerk,
            data={"component_code": "DON"},
            files=[("files", ("don-dang-ky.png", _scan(), "image/png"))]), 202)
        yield World(
            api=api,
            targets={Kind.DOSSIER: with_result, Kind.RESULT: str(result["code"]),
                     Kind.DOCUMENT: str(document["doc_code"])},
            askers={"clerk of another branch": _asker(api, "tiepnhan_halong"),
                    "another citizen": _asker(api, "congdan")})


@dataclass(frozen=True, slots=True)
class Probe:
    path: str
    kinds: frozenset[Kind]


def _probes(app: FastAPI) -> tuple[list[Probe], list[str]]:
    """The routes to probe, and the routes with parameters nobody has classified."""
    probes, unknown = [], []
    for path in _get_routes(app):
        rules = {name: _rule(path, name) for name in _PARAM.findall(path)}
        if not rules:
            continue
        unknown += [f"{path} {{{name}}}" for name, rule in rules.items() if rule is None]
        kinds = frozenset(r for r in rules.values() if isinstance(r, Kind))
        if kinds and not any(isinstance(r, NotOwned) for r in rules.values()):
            probes.append(Probe(path=path, kinds=kinds))
    return probes, unknown


def _url(path: str, fill: dict[str, str]) -> str:
    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        return fill.get(name) or _fixed(path, name)
    return _PARAM.sub(one, path)


def _fixed(path: str, name: str) -> str:
    rule = _rule(path, name)
    assert isinstance(rule, Fixed), (path, name)
    return rule.value


def _codes_for(path: str, targets: dict[Kind, str], *, missing: bool) -> dict[str, str]:
    fill = {}
    for name in _PARAM.findall(path):
        rule = _rule(path, name)
        if isinstance(rule, Kind):
            code = targets[rule]
            fill[name] = _missing_like(code) if missing else code
    return fill


def _seen(response: Response, codes: list[str]) -> tuple[int, str, str]:
    """What the asker learns: status, body and redirect, with the codes blanked out."""
    body = response.text
    location = response.headers.get("location", "")
    for code in codes:
        for form in (code, quote(code, safe=""), quote(code)):
            body = body.replace(form, "{CODE}")
            location = location.replace(form, "{CODE}")
    return response.status_code, body, location


def test_every_route_parameter_is_classified(world: World) -> None:
    app = world.api.client.app
    assert isinstance(app, FastAPI)
    probes, unknown = _probes(app)
    assert not unknown, ("routes with a path parameter this test cannot classify; add them "
                         f"to PARAMS: {unknown}")
    covered = {p.path for p in probes}
    # The API's own routes are there whatever the pages become.
    assert {"/api/v1/dossiers/{code}", "/api/v1/documents/{doc_code}",
            "/api/v1/results/{code}/file", "/api/v1/dossiers/{code}/result"} <= covered


def test_the_targets_exist_for_those_who_may_see_them(world: World) -> None:
    api, targets = world.api, world.targets
    for username in ("tiepnhan", "congdan2"):
        headers = api.login(username)
        assert api.client.get(f"/api/v1/dossiers/{targets[Kind.DOSSIER]}",
                              headers=headers).status_code == 200
        assert api.client.get(f"/api/v1/documents/{targets[Kind.DOCUMENT]}",
                              headers=headers).status_code == 200
    assert api.client.get(f"/api/v1/results/{targets[Kind.RESULT]}/file",
                          headers=api.login("tiepnhan")).status_code == 200


@pytest.mark.parametrize("asker", ["clerk of another branch", "another citizen"])
def test_another_users_object_answers_like_a_missing_one(world: World, asker: str) -> None:
    app = world.api.client.app
    assert isinstance(app, FastAPI)
    client = world.askers[asker]
    probes, _ = _probes(app)
    codes = [c for code in world.targets.values() for c in (code, _missing_like(code))]
    leaks = []
    for probe in probes:
        theirs = _url(probe.path, _codes_for(probe.path, world.targets, missing=False))
        nobodys = _url(probe.path, _codes_for(probe.path, world.targets, missing=True))
        seen_theirs = _seen(client.get(theirs, follow_redirects=False), codes)
        seen_nobodys = _seen(client.get(nobodys, follow_redirects=False), codes)
        if seen_theirs != seen_nobodys:
            leaks.append(f"{probe.path}: {seen_theirs[0]} {seen_theirs[1][:200]!r} "
                         f"{seen_theirs[2]!r} versus missing {seen_nobodys[0]} "
                         f"{seen_nobodys[1][:200]!r} {seen_nobodys[2]!r}")
        assert seen_theirs[0] < 500, (probe.path, seen_theirs)
    assert not leaks, "\n".join(leaks)
