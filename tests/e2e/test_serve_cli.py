"""``motcua serve`` as docker-compose.yml runs it: several processes on one port."""

from __future__ import annotations

import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.fixtures.app import MOTCUA, cli_env

pytestmark = pytest.mark.e2e


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:  # noqa: S310 - loopback
            return answer.status, answer.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def test_serve_with_workers_answers_from_every_process_and_stops_cleanly(
        tmp_path: Path) -> None:
    env = cli_env(tmp_path)
    subprocess.run([MOTCUA, "init"], env=env, check=True, capture_output=True, timeout=120)
    port = _free_port()
    server = subprocess.Popen(
        [MOTCUA, "serve", "--port", str(port), "--workers", "2", "--no-access-log"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                status, body = _get(f"http://127.0.0.1:{port}/health")
                break
            except OSError:
                assert server.poll() is None, server.communicate()[0]
                assert time.monotonic() < deadline, "the service did not come up"
                time.sleep(0.3)
        assert (status, b'"database":"ok"' in body) == (200, True)
        # Many requests over fresh connections, spread over the processes: each answers
        # in full, through the same error handling (no token: 401 with its message).
        answers = {_get(f"http://127.0.0.1:{port}/api/v1/procedures") for _ in range(40)}
        assert len(answers) == 1, answers
        status, body = answers.pop()
        assert status == 401
        assert "Vui lòng đăng nhập." in body.decode("utf-8")
    finally:
        server.terminate()
        output = server.communicate(timeout=60)[0]
    assert server.returncode == 0, output
    assert output.count("Started server process") == 2, output
    assert "died" not in output, output  # no worker was replaced
