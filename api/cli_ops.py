"""The ``motcua`` commands that run the service: serve, worker, scheduler, archive extend,
reindex and check. Registered on ``api.cli.app``, which imports this module last."""

from __future__ import annotations

import time
from functools import partial
from pathlib import Path
from typing import Annotated, Any

import typer

from api.bootstrap import Services
from api.cli import (
    JsonFlag,
    _emit,
    _services,
    app,
    archive_app,
)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    forwarded_allow_ips: Annotated[str | None, typer.Option(
        help="Behind a reverse proxy: its addresses (comma-separated); the client address "
             "is then read from X-Forwarded-For (docs/security.md).")] = None,
    workers: Annotated[int, typer.Option(
        min=1, help="Server processes sharing the port: one per core (docs/operations.md). "
                    "With more than one, the embedded job runner runs in each.")] = 1,
    access_log: Annotated[bool, typer.Option(
        help="Log each HTTP request. Off behind a reverse proxy that logs them already "
             "(accesses to papers and results are in the audit trail either way).")] = True,
) -> None:
    """Start the web service."""
    import uvicorn

    from api.app import create_app, settle_for_serving

    services = _services()  # brings the schema up to date once, before any worker starts
    typer.echo(f"Motcua đang chạy tại http://{host}:{port}/  (API: http://{host}:{port}/docs)")
    options: dict[str, Any] = {
        "host": host, "port": port, "log_level": "info", "access_log": access_log,
        "proxy_headers": forwarded_allow_ips is not None,
        "forwarded_allow_ips": forwarded_allow_ips}
    if workers == 1:
        app_ = create_app(services)
        settle_for_serving()
        uvicorn.run(app_, **options)
        return
    services.close()
    # uvicorn replaces a worker that does not answer its supervisor's ping within the
    # timeout (5 s by default). A busy worker's pong thread can wait that long for the
    # interpreter under load, and each needless restart (seconds of start-up on a loaded
    # machine) stalled every request for seconds (bench/api.py): only a worker hung for a
    # minute is replaced.
    uvicorn.run("api.app:create_app_from_environment", factory=True, workers=workers,
                timeout_worker_healthcheck=60, **options)


@app.command()
def worker(
    concurrency: Annotated[int, typer.Option(help="Jobs at once (Celery worker threads; "
                                                  "each OCR runs in its own process).")] = 2,
    queues: Annotated[str, typer.Option(
        help="With Celery: comma-separated queues this worker serves: ocr (jobs; also "
             "sweeps due jobs), sign (archive extension), index (the search indexer). "
             "docs/operations.md")] = "ocr,sign,index",
) -> None:
    """Run jobs: a Celery worker with MOTCUA_JOB_BACKEND=celery, else the embedded runner."""
    from records.adapters.jobs_celery import (
        QUEUES,
        CeleryJobRunner,
        Sweeper,
        register_archive_task,
    )
    from records.adapters.jobs_local import LocalJobRunner

    chosen = [q.strip() for q in queues.split(",") if q.strip()]
    if not chosen or any(q not in QUEUES for q in chosen):
        typer.echo(f"Lỗi: hàng đợi không hợp lệ «{queues}»; chọn trong {', '.join(QUEUES)}.",
                   err=True)
        raise typer.Exit(code=2)
    services = _services()
    runner = services.runner
    if isinstance(runner, CeleryJobRunner):
        if "index" in chosen:
            services.indexer.start()
        consumed = [q for q in chosen if q != "index"]
        if "sign" in consumed:
            register_archive_task(runner.app, partial(_extend_codes, services))
        if not consumed:  # the index worker: the outbox publisher alone
            _wait_forever("Đang chạy bộ lập chỉ mục tìm kiếm (Ctrl+C để dừng).")
            return
        sweeper = Sweeper(services.jobs, runner) if "ocr" in consumed else None
        if sweeper is not None:
            sweeper.start()
        try:
            runner.app.worker_main(["worker", "--loglevel=INFO", "--pool=threads",
                                    f"--concurrency={concurrency}",
                                    "-Q", ",".join(consumed), "--without-gossip",
                                    "--without-mingle"])
        finally:
            if sweeper is not None:
                sweeper.stop()
        return
    services.indexer.start()
    if isinstance(runner, LocalJobRunner):
        runner.start()
        try:
            _wait_forever("Đang chạy bộ xử lý công việc nhúng (Ctrl+C để dừng).")
        finally:
            runner.stop()


def _extend_codes(services: Services, codes: list[str]) -> int:
    """The ``sign`` worker's archive extension: the codes the scheduler chose."""
    from datetime import timedelta

    from records.results import extend_archives

    if not codes:  # empty codes would mean every candidate: the scheduler chose none
        return 0
    done = extend_archives(services.results, within=timedelta(0), codes=tuple(codes))
    return sum(1 for d in done if d.extended)


def _wait_forever(message: str) -> None:
    typer.echo(message)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass


@app.command()
def scheduler(
    every: Annotated[float, typer.Option(min=1, help="Seconds between rounds.")] = 300,
    archive_within_days: Annotated[int, typer.Option(
        min=0, help="Extend results whose certificates expire within this many days.")] = 90,
    archive_renew_days: Annotated[int, typer.Option(
        min=1, help="Leave alone results extended fewer than this many days ago.")] = 365,
    once: Annotated[bool, typer.Option("--once", help="One round, then exit.")] = False,
    heartbeat: Annotated[Path | None, typer.Option(
        help="Touch this file after each round (the container's healthcheck reads it).")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Periodic work: overdue dossiers recorded, archives extended (B-LTA), due jobs sent,
    blobs a crash left unrecorded dropped."""
    from datetime import timedelta

    from api.scheduler import SchedulerPolicy, run_once

    services = _services()
    policy = SchedulerPolicy(archive_within=timedelta(days=archive_within_days),
                             archive_renew_after=timedelta(days=archive_renew_days))
    if not once:
        typer.echo(f"Bộ lập lịch đang chạy, mỗi {every:g} giây một lượt (Ctrl+C để dừng).")
    try:
        while True:
            report = run_once(services, services.clock.now(), policy)
            payload = {"at": report.at, "overdue_recorded": list(report.overdue_recorded),
                       "archive_chosen": list(report.archive_chosen),
                       "archive_extended": list(report.archive_extended),
                       "archive_failed": [list(f) for f in report.archive_failed],
                       "archive_enqueued": report.archive_enqueued,
                       "jobs_republished": report.jobs_republished,
                       "blobs_dropped": report.blobs_dropped,
                       "errors": list(report.errors)}
            _emit(payload, as_json, (
                f"{report.at.isoformat(timespec='seconds')}: ghi nhận quá hạn "
                f"{len(report.overdue_recorded)} hồ sơ; gia hạn lưu trữ "
                f"{len(report.archive_chosen)} kết quả"
                f"{' (đã gửi hàng đợi ký)' if report.archive_enqueued else ''}; "
                f"gửi lại {report.jobs_republished} công việc; dọn {report.blobs_dropped} tệp "
                f"thừa; lỗi {len(report.errors)}."))
            if heartbeat is not None:
                heartbeat.touch()
            if once:
                if report.errors or report.archive_failed:
                    raise typer.Exit(code=1)
                return
            time.sleep(every)
    except KeyboardInterrupt:
        pass


@archive_app.command("extend")
def archive_extend(
    within_days: Annotated[int, typer.Option(
        help="Extend results whose signing certificates expire within this many days.")
    ] = 90,
    code: Annotated[list[str] | None, typer.Option(
        "--code", help="Extend these results whatever their certificates' expiry.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Add an archive timestamp (PAdES B-LTA) so that results verify after expiry."""
    from datetime import timedelta

    from records.results import extend_archives

    done = extend_archives(_services().results, within=timedelta(days=within_days),
                           codes=tuple(code or ()))
    extended = [d.code for d in done if d.extended]
    failed = [{"code": d.code, "message": d.message} for d in done if not d.extended]
    _emit({"extended": extended, "failed": failed}, as_json,
          f"Đã gia hạn lưu trữ {len(extended)} kết quả; lỗi {len(failed)}.")
    if failed:
        raise typer.Exit(code=1)


@app.command()
def reindex(as_json: JsonFlag = False) -> None:
    """Rebuild the search index from the records (the old one serves until the swap)."""
    from records.indexing import rebuild_index

    count = rebuild_index(_services().search)
    _emit({"indexed": count}, as_json, f"Đã lập chỉ mục lại {count} tài liệu.")


# Integrity sweep ----------------------------------------------------------------------------
@app.command()
def check(
    skip_results: Annotated[bool, typer.Option(
        "--skip-results", help="Do not re-validate the signatures of results.")] = False,
    skip_index: Annotated[bool, typer.Option(
        "--skip-index", help="Do not compare the search index with the records.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """The integrity sweep to schedule nightly: every blob re-hashed, every signed result
    re-validated, the audit chain verified, the search index compared with the records, jobs
    stuck past their lease. Exit 0 when clean, 1 when something is wrong (docs/operations.md)."""
    from api.integrity import PadesResultVerifier, check_payload, check_text
    from records.integrity import CheckDeps, run_check

    services = _services()
    report = run_check(CheckDeps(
        store=services.records.store, blobs=services.blobs, clock=services.clock,
        audit_key=services.records.audit_key,
        index=None if skip_index else services.search.index,
        verifier=None if skip_results else PadesResultVerifier(services.trust.validation)))
    _emit(check_payload(report), as_json, check_text(report))
    if not report.clean:
        raise typer.Exit(code=1)
