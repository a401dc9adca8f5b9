"""Configuration, read once from ``MOTCUA_*`` environment variables (and ``.env``)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["DEV_SECRET", "Settings"]

# Development defaults; production refuses to start with them.
DEV_SECRET = "dev-only-secret-change-me"  # noqa: S105 - a sentinel, rejected in production


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MOTCUA_", env_file=".env", extra="ignore")

    env: Literal["development", "production"] = "development"
    data_dir: Path = Path("var")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; SQLite under data_dir when unset")

    blob_backend: Literal["fs", "s3"] = "fs"
    s3_endpoint: str = "127.0.0.1:9000"
    s3_access_key: str = ""
    s3_secret_key: str = ""
    s3_bucket: str = "motcua"
    s3_region: str = "us-east-1"
    s3_secure: bool = False
    s3_object_lock: bool = True

    job_backend: Literal["local", "celery"] = "local"
    redis_url: str = "redis://127.0.0.1:6379/0"
    job_workers: int = Field(default=1, ge=1, le=32)
    job_lease_seconds: int = Field(default=300, ge=2)
    job_poll_seconds: float = Field(default=2.0, gt=0)
    job_max_attempts: int = Field(default=5, ge=1, le=50)
    job_backoff_seconds: float = Field(default=10.0, ge=0)
    celery_visibility_timeout: int = Field(default=3600, ge=5)

    max_upload_bytes: int = Field(default=100 * 1024 * 1024, ge=1024)
    max_pages: int = Field(default=500, ge=1)
    max_pixels: int = Field(default=250_000_000, ge=1_000_000)
    ocr_jobs: int = Field(default=2, ge=1, le=32)
    ocr_review_threshold: float = Field(default=80.0, ge=0, le=100)
    ocr_timeout_seconds: int = Field(default=1800, ge=10)
    ocr_memory_mib: int = Field(default=4096, ge=256)

    province: str = Field(default="Quảng Ninh", max_length=100,
                          description="printed on results: place and parent authority")
    public_base_url: str = Field(default="http://127.0.0.1:8000", max_length=300,
                                 description="printed in results' QR codes")
    pki: Literal["demo", "configured"] = "demo"
    trust_anchors: list[Path] = Field(default_factory=list)
    trust_intermediates: list[Path] = Field(default_factory=list)
    tsa_url: str = ""
    revocation_soft_fail: bool = False
    result_retention_years: int = Field(default=10, ge=1, le=100)

    search_backend: Literal["tantivy", "elastic"] = "tantivy"
    elastic_url: str = "http://127.0.0.1:9200"
    elastic_alias: str = "motcua-documents"

    demo_history_dossiers: int = Field(
        default=300, ge=0, le=100_000,
        description="past dossiers `motcua init --demo` seeds for the statistics pages")

    secret_key: str = DEV_SECRET
    audit_key: str = DEV_SECRET
    token_ttl_minutes: int = Field(default=480, ge=5, le=24 * 60)
    identity_provider: Literal["local"] = Field(
        default="local", description="who checks logins; see docs/security.md for OIDC")
    login_rate_per_minute: int = Field(
        default=10, ge=1, le=10_000,
        description="failed logins per minute per client address and per name; then 429")
    dossier_code_format: str = "{agency}-{yymmdd}-{seq:04d}"
    supplement_window_days: int = Field(default=3, ge=0, le=30)
    password_time_cost: int = Field(default=3, ge=1)
    password_memory_kib: int = Field(default=65536, ge=8192)

    @model_validator(mode="after")
    def _refuse_default_secrets(self) -> Settings:
        if self.env == "production":
            weak = [name for name in ("secret_key", "audit_key")
                    if getattr(self, name) == DEV_SECRET or len(getattr(self, name)) < 32]
            if weak:
                raise ValueError(
                    "production mode refuses default or short secrets: set "
                    + ", ".join(f"MOTCUA_{n.upper()}" for n in weak)
                    + " to random strings of at least 32 characters")
            if self.pki == "demo":
                raise ValueError("production mode refuses the demo PKI: set MOTCUA_PKI="
                                 "configured with MOTCUA_TRUST_ANCHORS and MOTCUA_TSA_URL")
            if self.blob_backend == "s3" and not self.s3_secret_key:
                raise ValueError("production mode with S3 needs MOTCUA_S3_SECRET_KEY")
        return self

    @model_validator(mode="after")
    def _configured_pki_is_complete(self) -> Settings:
        if self.pki == "configured" and (not self.trust_anchors or not self.tsa_url):
            raise ValueError("MOTCUA_PKI=configured needs MOTCUA_TRUST_ANCHORS and "
                             "MOTCUA_TSA_URL")
        return self

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'motcua.db').resolve()}"
