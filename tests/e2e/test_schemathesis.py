"""The published OpenAPI contract, checked from the outside.

Schemathesis (3.x) generates requests from ``/openapi.json`` and sends them to the app in
process (ASGI), on seeded demo data plus one dossier the clerk can see:

- without credentials, every operation that declares a security scheme answers 401;
- as the one-stop clerk, no generated request (valid or deliberately invalid) gets a 5xx,
  and every documented answer matches its documented schema.

The run is small and derandomised (same cases every time) so that it stays well under a
minute and a half on two shared cores; the fuzzing campaign proper is ``st run`` against a
staging server, not this.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from requests.structures import CaseInsensitiveDict
from schemathesis.checks import not_a_server_error
from schemathesis.exceptions import SkipTest
from schemathesis.internal.result import Err
from schemathesis.models import APIOperation, Case
from schemathesis.specs.openapi.checks import response_schema_conformance
from schemathesis.specs.openapi.schemas import BaseOpenAPISchema

from tests.fixtures.app import Api, running_api

pytestmark = pytest.mark.e2e

T0 = datetime(2026, 11, 19, 3, 0, tzinfo=UTC)
MEDIA_EXAMPLE_KEYS = ("example", "examples")


@dataclass
class World:
    api: Api
    schema: BaseOpenAPISchema
    clerk: dict[str, str]
    dossier_code: str


def _generator_works() -> None:
    # hypothesis-jsonschema 0.23 (under schemathesis 3.x) draws objects with
    # ``many(...).more()``, which hypothesis 6.170.10 removed: every object body then fails
    # with "'many' object has no attribute 'more'".
    from hypothesis.internal.conjecture import utils

    if not hasattr(utils.many, "more"):
        pytest.fail("this hypothesis is too new for schemathesis 3.x: pin "
                    "hypothesis<6.170.10 in the dev extras")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    _generator_works()
    with running_api(tmp_path_factory.mktemp("schemathesis"), T0) as api:
        clerk = api.login("tiepnhan")
        created = api.create(clerk)
        assert created.status_code == 201, created.text
        # FastAPI publishes OpenAPI 3.1, still behind a flag in schemathesis 3.x.
        schemathesis.experimental.OPEN_API_3_1.enable()
        schema = schemathesis.from_asgi(
            "/openapi.json", api.client.app,
            data_generation_methods=[schemathesis.DataGenerationMethod.positive,
                                     schemathesis.DataGenerationMethod.negative])
        try:
            yield World(api=api, schema=schema, clerk=clerk,
                        dossier_code=created.json()["code"])
        finally:
            schemathesis.experimental.OPEN_API_3_1.disable()


def _operations(schema: BaseOpenAPISchema) -> list[APIOperation[Any, Any]]:
    found = []
    for result in schema.get_all_operations():
        if isinstance(result, Err):
            raise result.err()  # the published schema has an operation nobody can call
        found.append(result.ok())
    return found


def _needs_credentials(operation: APIOperation[Any, Any]) -> bool:
    return bool(operation.definition.raw.get("security"))


def _settings(max_examples: int) -> settings:
    return settings(max_examples=max_examples, derandomize=True, database=None, deadline=None,
                    phases=[Phase.explicit, Phase.generate],
                    suppress_health_check=list(HealthCheck))


def _run(operation: APIOperation[Any, Any], max_examples: int,
         method: schemathesis.DataGenerationMethod,
         check: Callable[[Case], None], sometimes: dict[str, str] | None = None) -> str | None:
    """Run ``check`` on generated cases of ``operation``; the first failure, described."""
    known = {p.name: sometimes[p.name] for p in operation.path_parameters
             if sometimes and p.name in sometimes}
    if method.is_negative and known and len(known) == len(operation.path_parameters):
        # An invalid path parameter is one that cannot be put in a URL: hypothesis rejected
        # every draw (hundreds, seconds per operation) and not one request was sent. The
        # invalid input goes in the body and the query instead, aimed at an existing object.
        return _examine(operation, operation.as_strategy(data_generation_method=method,
                                                         path_parameters=known),
                        max_examples, method, check)
    strategy = operation.as_strategy(data_generation_method=method)
    if sometimes:
        # Half the time, aim the path parameters at an object that exists.
        def aim(case: Case) -> st.SearchStrategy[Case]:
            params = case.path_parameters or {}
            hits = {k: v for k, v in sometimes.items() if k in params}
            if not hits:
                return st.just(case)
            return st.sampled_from([case, _with_path(case, hits)])
        strategy = strategy.flatmap(aim)
    return _examine(operation, strategy, max_examples, method, check)


def _examine(operation: APIOperation[Any, Any], strategy: st.SearchStrategy[Case],
             max_examples: int, method: schemathesis.DataGenerationMethod,
             check: Callable[[Case], None]) -> str | None:
    @given(case=strategy)
    @_settings(max_examples)
    def examine(case: Case) -> None:
        check(case)

    try:
        examine()
    except (SkipTest, Unsatisfiable):  # nothing (invalid) to generate here
        return None
    except Exception as failure:
        return f"{operation.verbose_name} [{method.value}]: {failure}"[:3000]
    return None


def _with_path(case: Case, values: dict[str, str]) -> Case:
    aimed = copy.copy(case)
    aimed.path_parameters = {**(case.path_parameters or {}), **values}
    return aimed


def _without_auth(case: Case) -> CaseInsensitiveDict[Any]:
    return CaseInsensitiveDict({k: v for k, v in (case.headers or {}).items()
                                if k.lower() != "authorization"})


# -- (a) without credentials --------------------------------------------------------------------
def test_every_operation_that_needs_credentials_answers_401_without(world: World) -> None:
    def refuses(case: Case) -> None:
        case.headers = _without_auth(case)
        response = case.call()
        assert response.status_code == 401, (
            f"{case.method} {case.formatted_path} answered {response.status_code} without "
            f"credentials: {response.text[:300]}")
        body: dict[str, Any] = json.loads(response.content)
        assert body["error"]["code"] == "not_authenticated"
        assert response.headers.get("www-authenticate") == "Bearer"

    protected = [op for op in _operations(world.schema) if _needs_credentials(op)]
    assert len(protected) >= 25  # the dossier, document, result, search and agency APIs
    failures = [f for op in protected
                if (f := _run(op, 5, schemathesis.DataGenerationMethod.positive, refuses,
                              {"code": world.dossier_code}))]
    assert not failures, "\n\n".join(failures)


# -- (b) as the clerk ---------------------------------------------------------------------------
CLERK_EXAMPLES = 8
INVALID_EXAMPLES = 4


def test_no_generated_request_gets_a_server_error_as_the_clerk(world: World) -> None:
    def survives(case: Case) -> None:
        if _needs_credentials(case.operation):
            # Logging out would revoke the token every later case uses: it gets its own.
            own = world.api.login("tiepnhan") if case.path.endswith("/logout") else world.clerk
            case.headers = CaseInsensitiveDict({**_without_auth(case), **own})
        response = case.call()
        case.validate_response(response, checks=(not_a_server_error,
                                                  response_schema_conformance))

    operations = _operations(world.schema)
    runs = [(op, schemathesis.DataGenerationMethod.positive, CLERK_EXAMPLES)
            for op in operations]
    # Invalid input where there is room for it: a body or query parameters (``_run`` keeps
    # a known path valid: an invalid one mostly cannot be put in a URL).
    runs += [(op, schemathesis.DataGenerationMethod.negative, INVALID_EXAMPLES)
             for op in operations if op.body or op.query]
    failures = [f for op, method, n in runs
                if (f := _run(op, n, method, survives, {"code": world.dossier_code}))]
    assert not failures, "\n\n".join(failures)


# -- the published contract itself --------------------------------------------------------------
def _resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if ref is None:
        return schema
    resolved: dict[str, Any] = spec["components"]["schemas"][ref.rsplit("/", 1)[-1]]
    return resolved


def _has_example(spec: dict[str, Any], media: dict[str, Any]) -> bool:
    if any(key in media for key in MEDIA_EXAMPLE_KEYS):
        return True
    schema = _resolve(spec, media.get("schema", {}))
    if any(key in schema for key in MEDIA_EXAMPLE_KEYS):
        return True
    props = schema.get("properties", {})
    return bool(props) and all(any(k in p for k in MEDIA_EXAMPLE_KEYS) for p in props.values())


@pytest.fixture(scope="module")
def spec(world: World) -> dict[str, Any]:
    published: dict[str, Any] = world.api.client.get("/openapi.json").json()
    return published


def _each_operation(spec: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for path, methods in spec["paths"].items():
        for method, operation in methods.items():
            yield f"{method.upper()} {path}", operation


def test_every_request_body_has_an_example(spec: dict[str, Any]) -> None:
    missing = {name for name, operation in _each_operation(spec)
               if "requestBody" in operation
               and not all(_has_example(spec, media)
                           for media in operation["requestBody"]["content"].values())}
    assert not missing, sorted(missing)


def test_the_request_schemas_examples_are_vietnamese_and_valid(world: World,
                                                             spec: dict[str, Any]) -> None:
    from api.schemas import DossierCreate, TransitionCreate

    for model in (DossierCreate, TransitionCreate):
        examples = model.model_json_schema()["examples"]
        assert examples
        for example in examples:
            model.model_validate(example)  # an example that the API would refuse misleads
    token = spec["paths"]["/api/v1/auth/token"]["post"]["requestBody"]["content"]
    for named in token["application/x-www-form-urlencoded"]["examples"].values():
        assert any(ch in "ăâđêôơưạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹ"
                   for ch in named["summary"].lower())
        # Every example logs in on the demo data (nobody there is enrolled in TOTP, and a
        # code sent by a user who is not is ignored).
        answer = world.api.client.post("/api/v1/auth/token", data=named["value"])
        assert answer.status_code == 200, answer.text


def test_every_operation_has_a_summary_and_a_description(spec: dict[str, Any]) -> None:
    assert all(operation.get("summary") for _, operation in _each_operation(spec))
    missing = {name for name, operation in _each_operation(spec)
               if not operation.get("description")}
    assert not missing, sorted(missing)


def test_every_operation_documents_its_errors_in_the_published_format(
        spec: dict[str, Any]) -> None:
    wrong = set()
    for name, operation in _each_operation(spec):
        documented = operation["responses"]
        if operation.get("security") and "401" not in documented:
            wrong.add(f"{name} 401")
        if (operation.get("parameters") or "requestBody" in operation) \
                and "422" not in documented:
            wrong.add(f"{name} 422")
        for status, response in documented.items():
            if status.startswith("4"):
                refs = [media.get("schema", {}).get("$ref", "")
                        for media in response.get("content", {}).values()]
                if refs != ["#/components/schemas/ErrorPublic"]:
                    wrong.add(f"{name} {status}")
    assert not wrong, sorted(wrong)
