"""Load a YAML file into pydantic models, keeping line numbers for errors.

PyYAML's tracebacks and pydantic's locations both point at Python objects; a
user needs "meta.yml line 3: metrics must be a list". This module loads the
YAML node tree once, remembers where each key and item starts, and translates
both YAML syntax errors and schema errors into one-paragraph SpecErrors.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from camino.errors import SpecError

Model = TypeVar("Model", bound=BaseModel)
Location = tuple[str | int, ...]


def load_yaml(path: Path, name: str) -> tuple[Any, dict[Location, int]]:
    """Parse ``path`` and return (data, line of every key path, 1-based)."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise SpecError(f"{name}: file not found") from None
    except UnicodeDecodeError as error:
        raise SpecError(
            f"{name}: not UTF-8 text (byte {error.start}); save it as UTF-8"
        ) from None

    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as error:
        raise SpecError(_describe_syntax_error(error, name)) from None
    except yaml.YAMLError as error:
        raise SpecError(f"{name}: not valid YAML ({error})") from None

    lines: dict[Location, int] = {}
    if node is not None:
        _record_lines(node, (), lines)
    return data, lines


def _describe_syntax_error(error: yaml.MarkedYAMLError, name: str) -> str:
    mark = error.problem_mark or error.context_mark
    where = f"{name} line {mark.line + 1}, column {mark.column + 1}" if mark else name
    problem = error.problem or "not valid YAML"
    if "'\\t'" in problem:
        return f"{where}: TAB character found; YAML needs spaces, not tabs"
    if "mapping values are not allowed" in problem:
        return (
            f"{where}: a ': ' inside a value is read as a new key; put the "
            "value in quotes"
        )
    return f"{where}: {problem} (not valid YAML)"


def _record_lines(node: yaml.Node, at: Location, lines: dict[Location, int]) -> None:
    lines[at] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            child = (*at, key.value)
            _record_lines(value, child, lines)
            lines[child] = key.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _record_lines(item, (*at, index), lines)


def parse(model: type[Model], path: Path, name: str) -> Model:
    """Load ``path`` and validate it as ``model``; errors name file, key, line."""
    data, lines = load_yaml(path, name)
    if not isinstance(data, dict):
        raise SpecError(f"{name}: expected a mapping of keys (key: value) at the top")

    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise SpecError(_describe_validation(error, name, lines)) from None


def _describe_validation(
    error: ValidationError, name: str, lines: dict[Location, int]
) -> str:
    problems = []
    for detail in error.errors():
        location = tuple(part for part in detail["loc"] if not _is_union_tag(part))
        line = _nearest_line(location, lines)
        key = _format_location(location) or "(top level)"
        where = f"{name} line {line}" if line else name
        problems.append(f"{where}: {key}: {_explain(detail)}")
    return "\n".join(problems)


def _is_union_tag(part: str | int) -> bool:
    # pydantic puts the union member's type in the location ("str", "MetricSpec").
    return isinstance(part, str) and (part in {"str", "int"} or part[:1].isupper())


def _nearest_line(location: Location, lines: dict[Location, int]) -> int | None:
    for end in range(len(location), -1, -1):
        if location[:end] in lines:
            return lines[location[:end]]
    return None


def _format_location(location: Location) -> str:
    text = ""
    for part in location:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text.lstrip(".")


def _explain(detail: dict[str, Any]) -> str:
    given = detail.get("input")
    if detail["type"] == "missing":
        return "is required but missing"
    if detail["type"] == "extra_forbidden":
        return "is not a known key (check the spelling)"
    if detail["type"] == "string_type" and isinstance(given, bool):
        # YAML 1.1 reads yes/no/on/off as booleans.
        return f"expected text, got the boolean {given}; put it in quotes"
    message = detail["msg"].removeprefix("Value error, ")
    return f"{message} (got {given!r})" if _short(given) else message


def _short(value: Any) -> bool:
    return value is not None and len(repr(value)) <= 60
