"""``motcua search`` and ``motcua reindex``, run as an operator would, on the data the scripted
demo leaves behind (``motcua demo`` returns after its papers and result are indexed).

The demo digitises two sample pages for Nguyễn Thị Hương, both of which say "thửa đất số
125", and returns a sealed land certificate to her; so three entries are indexed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.app import motcua_at_once
from tests.fixtures.demo import DemoRun, demo_copy

pytestmark = pytest.mark.e2e

OWNER_ID = "022190001234"
STRANGER_ID = "001190009999"


def _json(data_dir: Path, *args: str, timeout: float = 60) -> Any:
    [answer] = _json_at_once(data_dir, list(args), timeout=timeout)
    return answer


def _json_at_once(data_dir: Path, *commands: list[str], timeout: float = 60) -> list[Any]:
    """Each command's JSON answer; the commands run at the same time (they only read)."""
    done = motcua_at_once(data_dir, *([*command, "--json"] for command in commands),
                          timeout=timeout)
    for outcome in done:
        assert outcome.returncode == 0, (outcome.args, outcome.stdout, outcome.stderr)
    return [json.loads(outcome.stdout) for outcome in done]


def _documents(summary: dict[str, Any]) -> set[str]:
    return {f"document:{d['doc_code']}" for d in summary["documents"]}


def _searches(data_dir: Path, summary: dict[str, Any]) -> dict[str, Any]:
    """The searches the demo's data must answer, checked; returns what each answered."""
    code, papers = summary["dossier_code"], _documents(summary)
    plain, marked, hers, nobody, result = _json_at_once(
        data_dir, ["search", "thua dat so 125"], ["search", "thửa đất số 125"],
        ["search", "nguyen thi huong", "--owner", OWNER_ID],
        ["search", "nguyen thi huong", "--owner", STRANGER_ID],
        ["search", summary["result_code"]])
    answers = {"thua dat so 125": plain, "thửa đất số 125": marked}
    for found in answers.values():
        assert found["total"] == 2, found
        assert {h["doc_id"] for h in found["hits"]} == papers
        for hit in found["hits"]:
            assert (hit["kind"], hit["dossier_code"], hit["owner_id"]) == (
                "document", code, OWNER_ID), hit
            assert "<mark>" in hit["snippet"], hit
    assert ({h["doc_id"] for h in answers["thua dat so 125"]["hits"]}
            == {h["doc_id"] for h in answers["thửa đất số 125"]["hits"]})

    # Her name is on both papers and in the certificate's title.
    assert hers["total"] == 3, hers
    assert {h["doc_id"] for h in hers["hits"]} == papers | {f"result:{summary['result_code']}"}
    assert {(h["dossier_code"], h["owner_id"]) for h in hers["hits"]} == {(code, OWNER_ID)}
    answers["hers"] = hers

    assert nobody == {"total": 0, "hits": []}
    answers["nobody"] = nobody

    assert [(h["doc_id"], h["kind"], h["dossier_code"]) for h in result["hits"]] == [
        (f"result:{summary['result_code']}", "result", code)]
    answers["result"] = result
    return answers


@dataclass(frozen=True)
class Demo:
    data_dir: Path
    summary: dict[str, Any]
    answers: dict[str, Any]  # the searches, as first answered after the demo


@pytest.fixture(scope="module")
def demo(demo_run: DemoRun, tmp_path_factory: pytest.TempPathFactory) -> Demo:
    copy = demo_copy(demo_run, tmp_path_factory.mktemp("search-cli"))
    data_dir, summary = copy.data_dir, copy.summary
    assert (summary["status"], len(summary["documents"])) == ("returned", 2)
    return Demo(data_dir=data_dir, summary=summary, answers=_searches(data_dir, summary))


def test_the_demo_papers_are_found_with_and_without_diacritics(demo: Demo) -> None:
    """Checked as the fixture ran them (``_searches``); here, the demo's side of it."""
    assert demo.summary["dossier_code"] == demo.answers["result"]["hits"][0]["dossier_code"]
    assert {d["doc_code"].rsplit("_", 1)[0] for d in demo.summary["documents"]} == {
        "000.00.15.H40_don_dang_ky_dat_dai", "000.00.15.H40_giay_to_quyen_su_dung_dat"}
    assert demo.answers["thửa đất số 125"]["total"] == demo.answers["thua dat so 125"][
        "total"] == 2


def test_an_empty_query_lists_everything_newest_first(demo: Demo) -> None:
    everyone = _json(demo.data_dir, "search", "")
    assert everyone["total"] == 3  # two papers and the result
    assert everyone["hits"][0]["doc_id"] == f"result:{demo.summary['result_code']}"
    assert {h["doc_id"] for h in everyone["hits"][1:]} == _documents(demo.summary)


def test_reindex_rebuilds_from_the_records_and_the_searches_still_work(demo: Demo) -> None:
    index = demo.data_dir / "index"
    generations = {p.name for p in index.iterdir() if p.name.startswith("gen-")}
    assert _json(demo.data_dir, "reindex") == {"indexed": 3}  # two papers and the result
    assert (index / "current").readlink().name not in generations  # built anew, swapped in
    after = _searches(demo.data_dir, demo.summary)
    assert after.keys() == demo.answers.keys()
    for query, found in demo.answers.items():
        assert after[query]["total"] == found["total"], query
        assert ({h["doc_id"] for h in after[query]["hits"]}
                == {h["doc_id"] for h in found["hits"]}), query
