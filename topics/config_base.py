"""The base of every settings section, the error raised for bad settings, and its wording."""

from __future__ import annotations

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError


class ConfigError(ValueError):
    """Raised when run settings cannot be read or do not validate."""


class Section(BaseModel):
    # Unknown keys are an error, never silently ignored: a typo must not run a default. NaN
    # and infinity are refused as such, not as "less than or equal to" some bound.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


def format_error(error: ValidationError) -> str:
    """One line per problem, each naming the dotted key."""
    lines = []
    for item in error.errors():
        key = ".".join(str(part) for part in item["loc"]) or "<root>"
        message = "unknown key" if item["type"] == "extra_forbidden" else item["msg"]
        lines.append(f"{key}: {message}")
    return "; ".join(lines)


def yaml_problem(exc: yaml.YAMLError, where: str) -> str:
    """One line for a YAML error: where (file and line, or the override), and what."""
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    mark = getattr(exc, "problem_mark", None)
    if "constructor for the tag" in problem:
        tag = problem.split("tag", 1)[1].strip(" '").replace("tag:yaml.org,2002:", "!!")
        problem = f"YAML tag {tag} is not allowed (settings are plain values)"
    position = f", line {mark.line + 1}, column {mark.column + 1}" if mark is not None and where != "override" else ""
    return f"{position}: {problem}"
