"""Settings of the deadlines service (environment prefix ``MOTCUA_DEADLINES_``)."""

from __future__ import annotations

from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict

from motcua.services.deadlines.errors import DeadlinesError
from motcua.services.deadlines.flags import (
    parse_thresholds,
)
from motcua.shared.settings import PILOT_CENTER_NAMES, ServiceSettings


class DeadlinesSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="MOTCUA_DEADLINES_")

    port: int = 8003
    queue_url: str = Field(
        default="http://127.0.0.1:8001",
        description="The queue service as browsers reach it: the dashboard draws the day's "
        "waiting times from its public statistics",
    )
    center_names: dict[str, str] = Field(
        default_factory=lambda: dict(PILOT_CENTER_NAMES),
        description="Name of each center on the leaders' dashboard and its apology letters, "
        "until the center registry configures the center (or PUT "
        "/v1/centers/{center_id}/calendar stores one)",
    )
    approaching_thresholds: list[str] = Field(
        default=["1d", "80%"],
        description=(
            "Near-late warnings, as remaining active working time: 'Nd' (regular working days "
            "left), 'Nh' (working hours left) or 'P%' (share of the time limit used); "
            'a JSON list in the environment, e.g. ["1d", "80%"]'
        ),
    )
    apology_grace_working_days: int = Field(
        default=2,
        ge=1,
        le=60,
        description="New appointment of an apology letter: the close of this many working days "
        "after the missed due day",
    )
    scheduler_enabled: bool = Field(
        default=True, description="Run the flag scheduler in this process"
    )
    scheduler_batch: int = Field(
        default=500, ge=1, le=10_000, description="Clocks claimed per scheduler transaction"
    )
    scheduler_poll_seconds: float = Field(
        default=0.5,
        gt=0,
        le=60,
        description="Longest sleep between scheduler passes (bounds the firing lag of clocks "
        "written meanwhile)",
    )
    worklist_max: int = Field(default=1000, ge=1, le=100_000, description="Worklist page cap")
    forecast_enabled: bool = Field(
        default=True, description="Run the breach forecast's sweep (deadline.at_risk) here"
    )
    forecast_threshold_percent: int = Field(
        default=50,
        ge=1,
        le=100,
        description="Forecast chance of finishing late, in percent, from which "
        "deadline.at_risk is published (once per dossier and due instant)",
    )
    forecast_interval_seconds: float = Field(
        default=300.0,
        gt=0,
        le=3600,
        description="Seconds between two forecast sweeps (a pass over 50,000 open clocks "
        "took about 5 s: docs/forecast.md)",
    )
    forecast_min_samples: int = Field(
        default=5,
        ge=1,
        le=1000,
        description="Finished dossiers of a procedure at a center needed before it is forecast",
    )
    forecast_history: int = Field(
        default=200,
        ge=5,
        le=10_000,
        description="Latest finished dossiers per procedure and center the forecast reads",
    )
    forecast_staff_window_days: int = Field(
        default=10,
        ge=1,
        le=60,
        description="Staff on duty, by proxy: distinct assignees of a line's dossiers "
        "assigned in this many working days (no staff directory exists yet)",
    )

    @field_validator("approaching_thresholds")
    @classmethod
    def _valid_thresholds(cls, value: list[str]) -> list[str]:
        try:
            return [t.label for t in parse_thresholds(value)]
        except DeadlinesError as exc:
            raise ValueError(str(exc)) from exc
