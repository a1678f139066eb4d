"""The base of every settings section, the error raised for bad settings, and its wording."""

from __future__ import annotations

from typing import Any, get_args

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, ValidationInfo, field_validator


class ConfigError(ValueError):
    """Raised when run settings cannot be read or do not validate."""


class Section(BaseModel):
    # Unknown keys are an error, never silently ignored: a typo must not run a default. NaN
    # and infinity are refused as such, not as "less than or equal to" some bound.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    @field_validator("*", mode="before")
    @classmethod
    def _no_boolean_for_a_number(cls, value: Any, info: ValidationInfo) -> Any:
        # pydantic's lax mode reads true as 1 and false as 0: "processes: true" would run one
        # process, and "false" would be refused as "greater than or equal to 1".
        if isinstance(value, bool) and info.field_name in cls.model_fields:
            accepted = _types(cls.model_fields[info.field_name].annotation)
            if bool not in accepted and accepted & {int, float}:
                raise ValueError(f"expected a number, not the boolean {str(value).lower()}")
        return value


def _types(annotation: Any) -> set:
    """Every type named in ``annotation`` (``int | None`` -> {int, NoneType})."""
    args = get_args(annotation)
    return {annotation} if not args else set().union(*(_types(arg) for arg in args))


def format_error(error: ValidationError, key_lines: dict[str, int] | None = None) -> str:
    """One line per problem, each naming the dotted key, and its line in the settings file
    when ``key_lines`` (from :func:`yaml_key_lines`) has the key or the key's nearest parent."""
    lines = []
    for item in error.errors():
        parts = [str(part) for part in item["loc"]]
        key = ".".join(parts) or "<root>"
        message = "unknown key" if item["type"] == "extra_forbidden" else item["msg"]
        line = next((key_lines[p] for n in range(len(parts), 0, -1) if (p := ".".join(parts[:n])) in (key_lines or {})), None)
        lines.append(f"{key}{f' (line {line})' if line else ''}: {message}")
    return "; ".join(lines)


def yaml_key_lines(text: str) -> dict[str, int]:
    """The 1-based line of every mapping key in a YAML document, by dotted key (e.g.
    ``{"reduce": 33, "reduce.n_neighbors": 35}``); empty if the text does not compose."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return {}
    found: dict[str, int] = {}

    def walk(node, prefix: str) -> None:
        if not isinstance(node, yaml.MappingNode):
            return
        for key_node, value_node in node.value:
            dotted = f"{prefix}{key_node.value}"
            found[dotted] = key_node.start_mark.line + 1
            walk(value_node, f"{dotted}.")

    walk(root, "")
    return found


def yaml_problem(exc: yaml.YAMLError, where: str) -> str:
    """One line for a YAML error: where (file and line, or the override), and what."""
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    mark = getattr(exc, "problem_mark", None)
    if "constructor for the tag" in problem:
        tag = problem.split("tag", 1)[1].strip(" '").replace("tag:yaml.org,2002:", "!!")
        problem = f"YAML tag {tag} is not allowed (settings are plain values)"
    position = f", line {mark.line + 1}, column {mark.column + 1}" if mark is not None and where != "override" else ""
    return f"{position}: {problem}"
