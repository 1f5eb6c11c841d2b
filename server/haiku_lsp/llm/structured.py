"""Model output as a programmatic artifact: JSON asked for with a schema, parsed, validated, and
repaired once.

`ask_json` sends the request with `output_config.format = json_schema` (structured outputs), then
still parses defensively (a fence or prose around the object is tolerated) and validates against the
schema plus the caller's own check. An answer that fails gets exactly one repair round carrying the
error; a second failure raises `ActionError` -- nothing is applied and nothing is cached.

Exceptions: `ActionError` (user-facing message) for answers that are not what was asked;
`ProviderError` from the provider passes through unchanged.
"""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from haiku_lsp.errors import ActionError
from haiku_lsp.llm.accounting import Usage
from haiku_lsp.llm.provider import ModelRequest, Provider

_FENCE = re.compile(r"^```[a-zA-Z0-9_-]*\s*\n(.*?)\n```\s*$", re.S)


def schema_errors(value: Any, schema: dict, path: str = "$") -> list[str]:
    """The subset of JSON Schema our schemas use: type (also lists), properties, required,
    additionalProperties false, items, enum, anyOf."""
    if "anyOf" in schema:
        options = [schema_errors(value, s, path) for s in schema["anyOf"]]
        return [] if any(not o for o in options) else min(options, key=len)
    errors: list[str] = []
    types = schema.get("type")
    if types is not None:
        allowed = types if isinstance(types, list) else [types]
        checks = {"object": lambda v: isinstance(v, dict), "array": lambda v: isinstance(v, list),
                  "string": lambda v: isinstance(v, str), "boolean": lambda v: isinstance(v, bool),
                  "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
                  "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
                  "null": lambda v: v is None}
        if not any(checks[t](value) for t in allowed):
            return [f"{path} should be {' or '.join(allowed)}, got {type(value).__name__}"]
    if "enum" in schema and value not in schema["enum"]:
        errors.append(f"{path} should be one of {schema['enum']}, got {value!r}")
    if isinstance(value, dict):
        props = schema.get("properties", {})
        for key in schema.get("required", []):
            if key not in value:
                errors.append(f"{path} is missing '{key}'")
        for key, item in value.items():
            if key in props:
                errors += schema_errors(item, props[key], f"{path}.{key}")
            elif schema.get("additionalProperties") is False:
                errors.append(f"{path} has an unexpected key '{key}'")
    if isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            errors += schema_errors(item, schema["items"], f"{path}[{i}]")
    return errors


def parse_json_answer(text: str) -> Any:
    """The JSON object in a model answer; raises ValueError with a useful message."""
    text = text.strip()
    if m := _FENCE.match(text):
        text = m.group(1).strip()
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        start, end = text.find("{"), text.rfind("}")
        if 0 <= start < end:
            try:
                return json.loads(text[start : end + 1])
            except json.JSONDecodeError:
                pass
        raise ValueError(f"not valid JSON ({err.msg} at line {err.lineno} column {err.colno})") from None


@dataclass
class JsonAnswer:
    value: dict
    usages: list[Usage] = field(default_factory=list)
    repaired: bool = False


async def ask_json(provider: Provider, *, model: str, system: str, user: str, schema: dict,
                   max_tokens: int, timeout: float, feature: str,
                   check: Callable[[dict], Any] = lambda v: None, what: str = "answer") -> JsonAnswer:
    """Ask for JSON matching `schema`; `check` (sync or async) returns an error text for answers that
    parse but are wrong (it may run real tools). One repair round; then ActionError."""
    messages: list[dict] = [{"role": "user", "content": user}]
    usages: list[Usage] = []
    error, refused = "", False
    for attempt in range(2):
        request = ModelRequest(
            model=model, system=({"type": "text", "text": system},), messages=tuple(messages),
            max_tokens=max_tokens,
            extra={"output_config": {"format": {"type": "json_schema", "schema": schema}}})
        completion = await provider.complete(request, timeout=timeout, feature=feature)
        usages.append(completion.usage)
        refused = False
        try:
            value = parse_json_answer(completion.text)
            problems = schema_errors(value, schema)
            if not problems:
                verdict = check(value)
                if inspect.isawaitable(verdict):
                    verdict = await verdict
                problems = [verdict] if verdict else []
                refused = bool(verdict)
        except ValueError as err:
            value, problems = None, [str(err)]
        if completion.stop_reason == "max_tokens" and problems:
            problems.insert(0, f"the answer was cut off at max_tokens ({max_tokens})")
        if not problems:
            return JsonAnswer(value, usages, repaired=attempt > 0)
        error = "; ".join(problems[:5])
        messages += [
            {"role": "assistant", "content": completion.text.strip() or "(empty)"},
            {"role": "user", "content": f"That {what} is not usable: {error}. Reply again with only the "
                                        "corrected JSON object, matching the schema."},
        ]
    if refused:  # well-formed, but the check (real tools) said no: say what it said
        raise ActionError(f"the model's {what} did not pass the check, even after one repair: {error}")
    raise ActionError(f"the model's {what} was not the JSON asked for, even after one repair: {error}")
