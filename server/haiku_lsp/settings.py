"""User settings: one validated model, read from `initializationOptions` and
`workspace/didChangeConfiguration`.

Keys are camelCase on the wire and snake_case here. A value of the wrong type or out of bounds falls
back to its default and is reported by key, so the user sees which setting was ignored; unknown keys
are reported too (a typo should not be silent). Nothing here talks LSP.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

_MODEL_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@/-]{1,120}$")


def _bounded(lo: float, hi: float) -> dict[str, Any]:
    return {"bounds": (lo, hi)}


@dataclass(frozen=True, kw_only=True)
class Settings:
    """Every setting with its default. Sections sent by editors under `haiku` are unwrapped."""

    # Where the models are reached: Anthropic's API, Amazon Bedrock or Google Vertex AI (llm/platforms.py).
    provider: str = field(default="anthropic", metadata={"choices": ("anthropic", "bedrock", "vertex")})
    fast_model: str = field(default="claude-haiku-4-5", metadata={"model": True})
    planner_model: str = field(default="claude-sonnet-4-6", metadata={"model": True})
    inline_enabled: bool = True
    # Debounce for automatic triggers: the delay adapts to the typing speed within [min, max].
    debounce_ms: int = field(default=120, metadata=_bounded(0, 5000))
    debounce_min_ms: int = field(default=40, metadata=_bounded(0, 5000))
    debounce_max_ms: int = field(default=400, metadata=_bounded(0, 10000))
    # Prompt budget (estimated tokens) for the code before / after the cursor and for jedi context.
    max_prefix_tokens: int = field(default=900, metadata=_bounded(50, 100_000))
    max_suffix_tokens: int = field(default=300, metadata=_bounded(0, 100_000))
    max_context_tokens: int = field(default=300, metadata=_bounded(0, 100_000))
    context_time_budget_ms: int = field(default=150, metadata=_bounded(0, 10_000))
    # Output bounds: line completions are short; a block completion may be a function body.
    max_line_tokens: int = field(default=96, metadata=_bounded(8, 4096))
    max_block_tokens: int = field(default=360, metadata=_bounded(16, 8192))
    max_block_lines: int = field(default=40, metadata=_bounded(1, 500))
    # An inline completion never waits longer than this on the model (no SDK retries for it).
    inline_timeout_ms: int = field(default=5000, metadata=_bounded(200, 120_000))
    action_timeout_s: float = field(default=60.0, metadata=_bounded(1, 3600))
    # Generated tests are run before they are offered: with this interpreter ("" = the workspace's
    # .venv, else the server's own Python), killed after this many seconds.
    test_python: str = field(default="", metadata={"allow_empty": True})
    test_timeout_s: float = field(default=120.0, metadata=_bounded(1, 3600))
    # Code the model wrote runs confined by the OS (bubblewrap on Linux, sandbox-exec on macOS: no network,
    # home hidden, writes only in the copy); where that is impossible it is not run. False: run it without
    # OS isolation.
    os_sandbox: bool = True
    # Refactor workers running at once (and isolated validation runs).
    refactor_concurrency: int = field(default=4, metadata=_bounded(1, 16))
    # Hover adds a model explanation when it is cached or arrives within this budget.
    hover_explanations: bool = True
    hover_budget_ms: int = field(default=600, metadata=_bounded(0, 30_000))
    # Publish ruff's diagnostics (for editors that offer a server's fixes only for its own diagnostics).
    ruff_diagnostics: bool = False
    ignore_patterns: tuple[str, ...] = ()
    redact_secrets: bool = True
    cache_enabled: bool = True
    cache_size_mib: int = field(default=256, metadata=_bounded(1, 100_000))
    # The team cache (Redis/Valkey URL) behind memory and disk: "" = $HAIKU_LSP_SHARED_CACHE, "off" = none.
    shared_cache_url: str = field(default="", metadata={"allow_empty": True})
    # USD per million tokens, per model id: {"model": {"input": 1, "output": 5}} overrides the table.
    prices: dict[str, dict[str, float]] = field(default_factory=dict)
    budget_usd: float = field(default=0.0, metadata=_bounded(0, 1_000_000))  # 0 = no cap
    # Spending of one local day across every server sharing the cache dir; 0 = no cap.
    daily_budget_usd: float = field(default=0.0, metadata=_bounded(0, 1_000_000))
    # The audit log (a JSON line per model call under the cache dir) and the size of each of its files.
    audit_log: bool = True
    audit_log_max_mib: int = field(default=10, metadata=_bounded(1, 10_000))


SETTING_KEYS: dict[str, str] = {
    re.sub(r"_([a-z])", lambda m: m.group(1).upper(), f.name): f.name for f in dataclasses.fields(Settings)
}
"""camelCase key on the wire -> field name."""


def _check(f: dataclasses.Field[Any], value: Any) -> Any:
    """Return the value coerced to the field's type, or raise ValueError with the reason."""
    factory = cast(Callable[[], Any], f.default_factory)
    default = f.default if f.default is not dataclasses.MISSING else factory()
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ValueError("expected true or false")
        return value
    if isinstance(default, (int, float)):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError("expected a number")
        if isinstance(default, int) and not float(value).is_integer():
            raise ValueError("expected a whole number")
        lo, hi = f.metadata.get("bounds", (float("-inf"), float("inf")))
        if not lo <= value <= hi:
            raise ValueError(f"expected a value between {lo:g} and {hi:g}")
        return type(default)(value)
    if isinstance(default, str):
        if isinstance(value, str) and not value.strip() and f.metadata.get("allow_empty"):
            return ""
        if not isinstance(value, str) or not value.strip():
            raise ValueError("expected a non-empty string")
        if (choices := f.metadata.get("choices")) and value not in choices:
            raise ValueError(f"expected one of {', '.join(choices)}")
        if f.metadata.get("model") and not _MODEL_ID.match(value):
            raise ValueError("expected a model id such as claude-haiku-4-5")
        return value
    if isinstance(default, tuple):
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ValueError("expected a list of strings")
        return tuple(value)
    if isinstance(default, dict):
        if not isinstance(value, dict) or not all(
            isinstance(k, str)
            and isinstance(v, dict)
            and all(isinstance(n, (int, float)) and not isinstance(n, bool) and n >= 0 for n in v.values())
            for k, v in value.items()
        ):
            raise ValueError('expected {"model-id": {"input": USD, "output": USD, ...}}')
        return value
    raise ValueError("unsupported setting")  # pragma: no cover - every field type is handled above


def load_settings(raw: Any, base: Settings | None = None) -> tuple[Settings, list[str]]:
    """Validate `raw` (a JSON object, possibly wrapped as {"haiku": {...}}) on top of `base`.

    Returns the settings and one human-readable problem per rejected key; rejected keys keep the
    value they had in `base` (the defaults when `base` is None).
    """
    base = base or Settings()
    if raw is None:
        return base, []
    if isinstance(raw, dict):
        for section in ("haiku", "haikuLsp", "haiku-lsp"):
            if isinstance(raw.get(section), dict):
                raw = raw[section]
                break
    if not isinstance(raw, dict):
        return base, [f"settings must be a JSON object, got {type(raw).__name__}; using defaults"]
    fields = {f.name: f for f in dataclasses.fields(Settings)}
    changes: dict[str, Any] = {}
    problems: list[str] = []
    for key, value in raw.items():
        name = SETTING_KEYS.get(key)
        if name is None:
            problems.append(f"unknown setting '{key}' ignored")
            continue
        try:
            changes[name] = _check(fields[name], value)
        except ValueError as err:
            current = getattr(base, name)
            problems.append(f"setting '{key}': {err}; got {value!r}, using {current!r}")
    settings = dataclasses.replace(base, **changes)
    if settings.debounce_min_ms > settings.debounce_max_ms:
        problems.append("setting 'debounceMinMs' is above 'debounceMaxMs'; using the defaults for both")
        settings = dataclasses.replace(
            settings, debounce_min_ms=Settings.debounce_min_ms, debounce_max_ms=Settings.debounce_max_ms
        )
    return settings, problems
