"""Typed settings, read from the environment with the TONGXIN_ prefix.

Every field here is documented in docs/settings.md; a test fails when one is not.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Settings for one running Tongxin: server, CLI or test."""

    model_config = SettingsConfigDict(env_prefix="TONGXIN_", env_file=None, extra="ignore")

    database_url: str = Field(
        default="sqlite:///var/tongxin.db",
        description="SQLAlchemy URL of the database; SQLite by default, PostgreSQL in production.",
    )
    secret_key: str = Field(
        default="change-me-in-production-this-is-the-demo-key",
        description="Signs session cookies. Set a long random value in production.",
    )
    host: str = Field(default="127.0.0.1", description="Address `tongxin serve` binds to.")
    port: int = Field(default=8000, description="Port `tongxin serve` listens on.")
    workers: int = Field(default=1, description="Uvicorn worker processes for `tongxin serve`.")
    default_locale: str = Field(
        default="zh_CN", description="UI language when the user has not chosen one (zh_CN or en)."
    )
    elderly_age: int = Field(
        default=60, description="Age in whole years from which a resident counts as elderly."
    )
    child_age: int = Field(
        default=14, description="Residents younger than this many whole years count as children."
    )
    page_size: int = Field(default=50, description="Rows per page on resident lists.")
    import_batch_rows: int = Field(
        default=5000, description="Rows per insert statement batch during imports."
    )
    sqlite_busy_timeout_ms: int = Field(
        default=10000, description="How long a SQLite writer waits for the lock before failing."
    )
    sqlite_cache_mb: int = Field(
        default=64, ge=1, description="SQLite page cache per connection, in MB."
    )
    sqlite_writer_cache_mb: int = Field(
        default=1024,
        ge=1,
        description=(
            "SQLite page cache of a connection once it has written the custody ledger, in MB."
        ),
    )
    sqlite_mmap_mb: int = Field(
        default=0,
        ge=0,
        description="How much of the SQLite database file is read through a memory map, in MB.",
    )
    sqlite_sort_threads: int = Field(
        default=1,
        ge=0,
        le=8,
        description=(
            "Helper threads an SQLite connection may sort with (CREATE INDEX, large ORDER BY);"
            " 0 sorts on the calling thread."
        ),
    )
    demo_residents: int = Field(
        default=50000, description="Residents `make demo` generates when the database is absent."
    )
    demo_seed: int = Field(default=20220923, description="Seed of the demo district generator.")
    recall_due_hours: int = Field(
        default=24, description="Hours from a positive or invalid result until its recall is due."
    )
    swab_to_receipt_hours: int = Field(
        default=4, description="Longest time from swab to lab receipt before reconcile flags it."
    )
    receipt_to_result_hours: int = Field(
        default=12, description="Longest time from lab receipt to result before reconcile flags it."
    )
    sign_in_max_failures: int = Field(
        default=5,
        description="Failed sign-ins for one user name within the window that lock it (0: never).",
    )
    sign_in_max_failures_per_ip: int = Field(
        default=30,
        description="Failed sign-ins from one address within the window that lock it (0: never).",
    )
    sign_in_window_minutes: int = Field(
        default=15, description="Minutes within which failed sign-ins count towards a lock."
    )
    sign_in_lockout_minutes: int = Field(
        default=15, description="Minutes a locked user name or address must wait."
    )
    secure_cookies: Literal["auto", "always", "never"] = Field(
        default="auto",
        description=(
            "Mark the session cookie Secure and send HSTS: auto (when the request came over "
            "HTTPS), always, or never."
        ),
    )
    audit_key: str | None = Field(
        default=None,
        description="Key of the audit chain's HMAC; unset means a plain SHA-256 chain.",
    )

    oxygen_gas_m3_per_liquid_t: float = Field(
        default=751.0,
        description="Gas m³ (20 °C, 1 atm) one tonne of donated liquid oxygen is stocked as.",
    )
    oxygen_gas_m3_per_bottle: float = Field(
        default=6.0, description="Gas m³ one donated oxygen bottle (40 L at 15 MPa) is stocked as."
    )
    route_detour_factor: float = Field(
        default=1.3,
        description="Road distance over great-circle distance when no distance matrix is given.",
    )
    route_speed_kmh: float = Field(
        default=25.0, description="Average driving speed routes assume, in km/h."
    )
    route_service_minutes: int = Field(
        default=3, description="Minutes a driver spends at each delivery or pick-up stop."
    )
    route_time_limit_s: float = Field(
        default=5.0,
        description="Seconds the route optimiser searches a 400-stop plan (scaled by size).",
    )
    route_distance_matrix: str | None = Field(
        default=None,
        description=(
            "CSV of road distances: from_lat,from_lon,to_lat,to_lon,metres (unset: great-circle)."
        ),
    )
    hotline_due_hours_critical: float = Field(
        default=2, description="Hours a critical hotline case may stay unresolved before overdue."
    )
    hotline_due_hours_urgent: float = Field(
        default=12, description="Hours an urgent hotline case may stay unresolved before overdue."
    )
    hotline_due_hours_normal: float = Field(
        default=72, description="Hours a normal hotline case may stay unresolved before overdue."
    )
    hotline_webhook_url: str = Field(
        default="",
        description=(
            "Group-robot webhook (WeChat Work style JSON POST) that overdue hotline cases are "
            "sent to; empty: escalations show on the supervisor board only."
        ),
    )
    hotline_webhook_timeout_s: float = Field(
        default=5, description="Seconds to wait for the hotline webhook before giving up."
    )
    plan_station_per_hour: float = Field(
        default=90.0,
        description="People a sampling station serves per hour in a schedule (per-site override).",
    )
    plan_queue_cap: float = Field(
        default=15.0,
        description="Most people a schedule lets queue at a site (Guiyang: 5 households, ~15).",
    )
    plan_walk_minutes: float = Field(
        default=15.0, description="Longest walk from a building to its site in a schedule."
    )
    plan_walk_speed_kmh: float = Field(
        default=4.5, description="Walking speed used to turn distances into minutes."
    )
    plan_walk_detour: float = Field(
        default=1.3, description="Street distance over straight-line distance for walks."
    )
    plan_site_opens: str = Field(default="07:00", description="Sites open (China time, HH:MM).")
    plan_site_closes: str = Field(default="21:00", description="Sites close (China time, HH:MM).")
    plan_slot_minutes: int = Field(default=30, description="Length of one schedule time slot.")
    plan_group_max_people: int = Field(
        default=60,
        description="Largest group called at once; bigger buildings split by unit, then room.",
    )
    plan_home_visits_per_team: int = Field(
        default=30, description="Door-to-door visits one home-sampling team makes in a round."
    )
    plan_home_visit_minutes: float = Field(
        default=12.0, description="Minutes a home-sampling visit takes, walking apart."
    )

    pii_keys: str = Field(
        default="",
        description="Personal-data encryption keys 'kid:base64key,...'; the first is current.",
    )
    pii_key_file: str = Field(
        default="var/pii.keys",
        description="File of 'kid:base64key' lines (first current, 'lookup:' the hash key).",
    )
    pii_lookup_key: str = Field(
        default="", description="Base64 key of the keyed hash used to look up ID numbers."
    )

    def sqlite_path(self) -> Path | None:
        """Return the file behind a sqlite URL, or None for other engines."""
        prefix = "sqlite:///"
        if self.database_url.startswith(prefix):
            raw = self.database_url[len(prefix) :].split("?", 1)[0]
            return Path(raw) if raw and raw != ":memory:" else None
        return None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Build the process-wide settings from the environment, once."""
    return Settings()
