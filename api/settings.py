"""Configuration, validated once. Every setting can come from the environment (IMPRESS_*)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from application.cache import CACHE_STREAMS


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="IMPRESS_", extra="ignore")

    database_url: str = Field(
        default=f"sqlite:///{Path('data/ledger.db').absolute()}",
        description="sqlite:///path/to/ledger.db (default, embedded) or postgresql://user:pw@host:port/db",
    )
    create_tables: bool = Field(
        default=True, description="Run the schema DDL at start; set false for extra workers."
    )

    # --- signed tree heads (ADR 0019) ------------------------------------------------------
    head_key_file: Path | None = Field(
        default=None,
        description="The Ed25519 key `impress-ledger audit head` signs with: a PEM file outside "
        "the database (make one with `impress-ledger audit keygen`).",
    )
    log_name: str = Field(
        default="impress-ledger", min_length=1, max_length=100,
        description="The name every signed tree head carries: tells this ledger's heads from "
        "another's (a test installation's, say).",
    )

    # --- the HTTP API ---------------------------------------------------------------------
    data_dir: Path = Field(
        default=Path("data").absolute(),
        description="Local state that is not the ledger: the development signing key.",
    )
    problem_base_uri: str = Field(
        default="https://impress-ledger.example/problems/",
        description="Base of the `type` URI of every problem+json answer (one per refusal).",
    )
    max_body_bytes: int = Field(default=1_000_000, ge=1024, description="Largest request body.")
    max_import_bytes: int = Field(
        default=20_000_000, ge=1024, description="Largest bulk import file (POST /v1/imports)."
    )

    # --- authentication -------------------------------------------------------------------
    auth_mode: Literal["oidc", "dev"] = Field(
        default="oidc",
        description="oidc: trust the configured issuer's JWKS. dev: trust only the local "
        "development key in data_dir (tokens from `impress-ledger token`).",
    )
    oidc_issuer: str | None = Field(default=None, description="Expected `iss`, e.g. HelseID's.")
    oidc_audience: str | None = Field(default=None, description="Expected `aud` of tokens.")
    oidc_jwks_url: str | None = Field(
        default=None,
        description="The issuer's JWKS; default: jwks_uri from the issuer's discovery document.",
    )
    oidc_algorithms: list[str] = Field(default=["RS256", "PS256", "ES256"])
    oidc_leeway_seconds: int = Field(default=30, ge=0, le=300)
    oidc_jwks_refresh_seconds: int = Field(
        default=60, ge=0, le=86400,
        description="A token without `kid` whose signature does not fit the cached key makes "
        "the ledger fetch the issuer's JWKS again (a rotated key), at most once this often.")
    subject_claim: str = Field(default="sub", description="Claim naming the person or client.")
    role_claim: str = Field(default="impress_role", description="Claim carrying the role.")
    role_map: dict[str, str] = Field(
        default_factory=dict,
        description='JSON: claim value -> ledger role, e.g. {"impress:finance": "rhf_finance"}. '
        "Values that are already role names map to themselves.",
    )
    org_claim: str = Field(default="impress_org", description="Claim naming the organisation.")
    org_map: dict[str, str] = Field(
        default_factory=dict,
        description='JSON: claim value -> organisation id, e.g. {"983974899": "helse-vest"}. '
        "Unmapped values are used as they are.",
    )
    read_wait_seconds: float = Field(
        default=2.0, ge=0, le=60,
        description="How long a read with a minimum log position (`min_position`, header "
        "Impress-Min-Position) waits for the read models to reach it before answering 503.",
    )
    follow_log: bool = Field(
        default=True, description="Run the read models' runner in this process (it projects "
        "only while it holds the leader lock: one projector per database).",
    )
    cache_streams: int = Field(
        default=CACHE_STREAMS, ge=0, le=10_000_000,
        description="Patients whose folded states a server process holds at most, in each of "
        "its two caches: the ledger's (commands, and who may see a patient's record) and the "
        "read models' projector's (the rows a fact changes); the least recently used are read "
        "again when needed. About 2.5 and 5 KB a patient (docs/operations.md). Agreements, "
        "cohorts and the other long streams are always held.",
    )
    warm_up: bool = Field(
        default=True, description="At start, fold the long streams (registry, companies, "
        "drugs, agreements, cohorts) into the ledger's cache in the background, so that the "
        "first pages do not (at national scale about 6-10 s of one core, once per process).",
    )
    follow_poll_seconds: float | None = Field(
        default=None, gt=0, le=60, description="How often the runner looks for new facts "
        "(default: 0.1 s on SQLite, 1 s on PostgreSQL, which also wakes it by NOTIFY).",
    )
    dev_issuer: str = Field(default="impress-ledger-dev")
    dev_audience: str = Field(default="impress-ledger")
