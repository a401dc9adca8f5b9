"""Server-rendered pages for every user, in Vietnamese: one module per kind of work."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter

from api.pages import admin, citizen, clerk, handling, home, public, statistics

__all__ = ["STATIC_DIR", "router"]

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"

router = APIRouter(include_in_schema=False)
for _module in (home, public, clerk, handling, citizen, statistics, admin):
    router.include_router(_module.router)
