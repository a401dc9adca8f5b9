"""The FastAPI application factory."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from api.bootstrap import Services, bootstrap
from api.errors import install_error_handlers
from api.files import BodyLimit
from api.pages import STATIC_DIR
from api.pages import router as pages_router
from api.routes import auth, documents, dossiers, results, reuse, system, verify

__all__ = ["create_app", "create_app_from_environment", "settle_for_serving"]


def create_app(services: Services) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # The embedded runner works inside the service: it resumes what a crash left.
        services.start_background()
        yield
        services.close()

    app = FastAPI(
        title="Motcua",
        summary="Hồ sơ điện tử và chữ ký số cho Trung tâm Phục vụ hành chính công",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.services = services
    install_error_handlers(app)
    app.include_router(system.router)
    app.include_router(auth.router)
    app.include_router(dossiers.router)
    app.include_router(documents.router)
    app.include_router(results.router)
    app.include_router(verify.router)
    app.include_router(reuse.router)
    app.include_router(pages_router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    # One request carries at most one upload's worth of files, plus its form fields.
    app.add_middleware(BodyLimit, limit=services.settings.max_upload_bytes + (1 << 20))
    return app


def create_app_from_environment() -> FastAPI:
    """The application each process of ``motcua serve --workers N`` builds for itself, from
    the settings in the environment (the parent has brought the schema up to date)."""
    app = create_app(bootstrap(migrate=False))
    settle_for_serving()
    return app


def settle_for_serving() -> None:
    """Keep the garbage collector out of request latency in a long-running server.

    Nearly everything a request allocates is freed by reference counting; the cyclic
    collector finds almost nothing (bench/api.py: collections under load freed 0-33
    objects), yet with Python's default thresholds it ran every few requests and, scanning
    the hundreds of thousands of objects a loaded application holds, paused a process for
    5-60 ms at a time, the slowest requests of the benchmark. What exists once the
    application is built is moved out of the collector's sight (``gc.freeze``, as pre-fork
    servers do) and the youngest generation is collected after 20,000 allocations instead
    of 700. Called by ``motcua serve`` only, never by the tests' many short-lived apps.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 20, 20)
