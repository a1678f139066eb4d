"""The base of every settings section, and the error raised for bad settings."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

class ConfigError(ValueError):
    """Raised when run settings cannot be read or do not validate."""


class Section(BaseModel):
    # Unknown keys are an error, never silently ignored: a typo must not run a default.
    model_config = ConfigDict(extra="forbid", frozen=True)
