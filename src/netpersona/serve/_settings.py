"""The service's settings: one model that flags, environment and code all fill."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

from netpersona._core import ConfigError

#: hosts --no-auth may bind to: this machine only
LOOPBACK = ("127.0.0.1", "::1", "localhost")


class ServeSettings(BaseModel):
    """How ``netpersona serve`` runs (every field has a ``--flag`` of the same name)."""

    model_config = ConfigDict(frozen=True)

    workspace: Path
    #: where device reports are appended, one file per UTC day (default ``<workspace>.reports``)
    reports_dir: Path | None = None
    device_tiers: Path | None = None
    customer_tiers: Path | None = None
    #: TOML with a [rejoin] table, as `rejoin identify --settings` takes
    rejoin_settings: Path | None = None
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=0, le=65535)
    #: serve without tokens; allowed only on a loopback host
    no_auth: bool = False
    max_body_bytes: int = Field(1024 * 1024, ge=1024)
    #: events per identify request
    max_events: int = Field(100_000, ge=1)
    #: reports waiting for the writer before requests are refused with 503
    queue_max_reports: int = Field(50_000, ge=1)
    #: most reports written per group commit
    batch_max_reports: int = Field(20_000, ge=1)
    #: IANA zone in which posted events' and reports' local times are read (as --timezone)
    timezone: str = "UTC"
    #: seconds between looks at the workspace for a new version
    reload_check_seconds: float = Field(2.0, gt=0)
    #: seconds between looks at the token file (a revoked token works at most this long)
    token_recheck_seconds: float = Field(1.0, gt=0, le=5.0)

    @model_validator(mode="after")
    def _auth_only_local(self) -> ServeSettings:
        if self.no_auth and self.host not in LOOPBACK:
            raise ValueError(
                f"--no-auth serves without tokens, so it binds to 127.0.0.1 only, not "
                f"{self.host}; create a token (`netpersona tokens create`) to serve {self.host}"
            )
        return self

    @property
    def reports_folder(self) -> Path:
        if self.reports_dir is not None:
            return self.reports_dir
        return self.workspace.with_name(self.workspace.name + ".reports")


def make_settings(**values) -> ServeSettings:
    """:class:`ServeSettings` from keyword values, a :class:`ConfigError` when they do not fit."""
    from pydantic import ValidationError

    try:
        return ServeSettings(**values)
    except ValidationError as exc:
        reasons = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'settings'}: "
            + e["msg"].removeprefix("Value error, ")
            for e in exc.errors()
        )
        raise ConfigError(reasons) from None
