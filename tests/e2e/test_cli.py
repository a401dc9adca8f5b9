"""The ``motcua`` console script, run as an operator would run it, on a temporary data dir."""

from __future__ import annotations

import json
import re
import subprocess
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from api.demo import DEMO_PASSWORD, DEMO_USERS, PROCEDURES
from records.calendar import VN_TZ
from tests.fixtures.app import MOTCUA, cli_env, is_vietnamese, motcua_at_once
from tests.fixtures.demo import DemoRun

pytestmark = pytest.mark.e2e

LAND = PROCEDURES[0].code


def _motcua(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(MOTCUA), *args], env=cli_env(data_dir), cwd=data_dir,
                          capture_output=True, text=True, timeout=60, check=False)


def _json(data_dir: Path, *args: str, exit_code: int = 0) -> Any:
    done = _motcua(data_dir, *args, "--json")
    assert done.returncode == exit_code, (done.stdout, done.stderr)
    return json.loads(done.stdout)


def _today() -> str:
    return datetime.now(VN_TZ).strftime("%y%m%d")


def test_init_create_move_show_and_refuse(tmp_path: Path) -> None:
    init = _json(tmp_path, "init", "--demo")
    assert init == {
        "database": f"sqlite:///{(tmp_path / 'motcua.db').resolve()}",
        "data_dir": str(tmp_path.resolve()),
        "demo": {"seeded_now": True, "password": DEMO_PASSWORD,
                 "users": [{"username": u.username, "role": u.role.value} for u in DEMO_USERS]},
    }

    days = {_today()}
    created = _json(tmp_path, "dossier", "create", "--procedure", LAND, "--applicant-id",
                    "022190001234", "--applicant-name", "Nguyễn Thị Hương", "--as", "tiepnhan")
    days.add(_today())  # a run across midnight may take either day
    code = created["code"]
    assert re.fullmatch(r"000\.00\.15\.H40-\d{6}-0001", code)
    assert code.split("-")[1] in days
    assert (created["status"], created["status_label"], created["applicant_name"]) == (
        "received", "Đã tiếp nhận", "Nguyễn Thị Hương")
    assert [(h["actor"], h["action"], h["to"]) for h in created["history"]] == [
        ("tiepnhan", "receive_at_desk", "received")]

    moved = _json(tmp_path, "dossier", "transition", code, "complete_digitisation",
                  "--as", "tiepnhan")
    assert (moved["code"], moved["status"], moved["status_label"]) == (
        code, "digitised", "Đã số hóa")

    # Both at once: the show only reads, and the refused transition writes nothing.
    show, refuse = motcua_at_once(
        tmp_path, ["dossier", "show", code, "--json"],
        ["dossier", "transition", code, "return_result", "--as", "tiepnhan", "--json"])
    assert (show.returncode, refuse.returncode) == (0, 2), (show.stderr, refuse.stderr)
    shown, refused = json.loads(show.stdout), json.loads(refuse.stdout)
    assert shown == moved
    assert [h["action"] for h in shown["history"]] == ["receive_at_desk",
                                                       "complete_digitisation"]

    assert refused["error"]["code"] == "transition_not_allowed"
    assert is_vietnamese(refused["error"]["message"])


def test_demo_runs_the_whole_flow(demo_run: DemoRun) -> None:
    # The session's one run of `motcua demo --json` (tests/fixtures/demo.py), which other
    # modules then copy: a second run here would repeat the same command for 15-20 s.
    summary = demo_run.summary
    assert re.fullmatch(r"000\.00\.15\.H40-\d{6}-0001", summary["dossier_code"])
    assert (summary["status"], summary["status_label"]) == ("returned", "Đã trả kết quả")
    assert summary["steps"][0] == "tiepnhan: receive_at_desk"
    assert summary["steps"][-1] == "tiepnhan: return_result"
    assert len(summary["steps"]) == 10
    assert tuple(summary["steps"][6:8]) == ("lanhdao: sign", "vanthu: seal")
    assert summary["audit"]["intact"] is True
    assert re.fullmatch(r"KQ-000\.00\.15\.H40-\d{4}-000001", summary["result_code"])
    assert Path(summary["result_pdf"]).read_bytes().startswith(b"%PDF")
    assert [(s["signer"], s["indication"], s["level"]) for s in summary["signatures"]] == [
        ("Nguyễn Văn Hùng", "TOTAL-PASSED", "B-LT"),
        ("Sở Nông nghiệp và Môi trường tỉnh Quảng Ninh", "TOTAL-PASSED", "B-LT")]
