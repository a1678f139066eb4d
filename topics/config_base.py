"""The base of every settings section, the error raised for bad settings, and its wording."""

from __future__ import annotations

from typing import Any, Literal, get_args, get_origin

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
            annotation = cls.model_fields[info.field_name].annotation
            accepted = _types(annotation)
            if bool not in accepted and accepted & {int, float}:
                others = [repr(v) for v in _literals(annotation)] + (["null"] if type(None) in accepted else [])
                expected = ", ".join(["a number", *others[:-1]]) + (f" or {others[-1]}" if others else "")
                raise ValueError(
                    f"expected {expected}, not the boolean {str(value).lower()} "
                    "(YAML reads true/false, yes/no and on/off as booleans)"
                )
        return value


def _types(annotation: Any) -> set:
    """Every type named in ``annotation`` (``int | None`` -> {int, NoneType})."""
    if get_origin(annotation) is Literal:
        return {type(value) for value in get_args(annotation)}
    args = get_args(annotation)
    return {annotation} if not args else set().union(*(_types(arg) for arg in args))


def _literals(annotation: Any) -> list:
    """The values of every ``Literal`` in ``annotation`` (``int | Literal["auto"]`` -> ["auto"])."""
    if get_origin(annotation) is Literal:
        return list(get_args(annotation))
    return [value for arg in get_args(annotation) for value in _literals(arg)]


def _message(item: dict, parts: list[str]) -> tuple[list[str], str]:
    """The key and the wording of one pydantic error: pydantic's own, without its "Value
    error, " prefix, and plainer where a settings file or ``--set`` makes it obscure."""
    kind = item["type"]
    if kind == "extra_forbidden":
        return parts, "unknown key"
    if kind == "value_error":
        return parts, str(item.get("ctx", {}).get("error", item["msg"]))
    if kind == "missing" and len(parts) > 1 and parts[-1].isdigit():
        # A tuple given too few items: pydantic names the missing index as a key of its own.
        return parts[:-1], f"too few values (item {int(parts[-1]) + 1} is missing)"
    if kind in ("int_parsing", "float_parsing") and item.get("input") == "":
        return parts, "empty value; give a number, or leave the key out for its default"
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return parts, f"expected a whole number, not {_yaml_kind(item.get('input'))}"
    if kind in ("float_parsing", "float_type"):
        return parts, f"expected a number, not {_yaml_kind(item.get('input'))}"
    if kind == "model_type":
        return parts, f"expected a section of keys, not {_yaml_kind(item.get('input'))}"
    if kind == "too_long" and "max_length" in item.get("ctx", {}):
        return parts, f"too many values (at most {item['ctx']['max_length']})"
    if kind in ("tuple_type", "list_type"):
        return parts, f"expected a list ([a, b]), not {_yaml_kind(item.get('input'))}"
    return parts, item["msg"]


def _yaml_kind(value: Any) -> str:
    """What a YAML value is, in YAML's words (for "expected ..., not a number")."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, (int, float)):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the text {value!r}"
    return "a list" if isinstance(value, list) else "a mapping" if isinstance(value, dict) else type(value).__name__


def format_error(error: ValidationError, key_lines: dict[str, int] | None = None, source: str | None = None) -> str:
    """One line per problem, each naming the dotted key, and the settings file ``source`` and
    its line when ``key_lines`` (from :func:`yaml_key_lines`) has the key or the key's nearest
    parent (an override's key has line 0: no file named)."""
    lines = []
    for item in error.errors():
        parts, message = _message(item, [str(part) for part in item["loc"]])
        key = ".".join(parts) or "<root>"
        line = next((key_lines[p] for n in range(len(parts), 0, -1) if (p := ".".join(parts[:n])) in (key_lines or {})), None)
        where = f" ({source + ', ' if source else ''}line {line})" if line else ""
        lines.append(f"{key}{where}: {message}")
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


class UniqueKeyLoader(yaml.SafeLoader):
    """PyYAML's safe loader, except that a key repeated in one mapping is an error: plain
    YAML keeps the last value, so a second ``cluster:`` section would silently drop the
    first one's settings."""

    def construct_mapping(self, node, deep=False):
        seen: set = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {key!r} appears twice in one mapping (the second would replace the first)",
                    key_node.start_mark,
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def yaml_problem(exc: yaml.YAMLError, where: str) -> str:
    """One line for a YAML error: where (file and line, or the override), and what."""
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    mark = getattr(exc, "problem_mark", None)
    if "constructor for the tag" in problem:
        tag = problem.split("tag", 1)[1].strip(" '").replace("tag:yaml.org,2002:", "!!")
        problem = f"YAML tag {tag} is not allowed (settings are plain values)"
    position = f", line {mark.line + 1}, column {mark.column + 1}" if mark is not None and where != "override" else ""
    return f"{position}: {problem}"
