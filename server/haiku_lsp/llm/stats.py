"""Usage figures for people: today and the last 7 days, from the usage store (llm/usage.py).

`usage_stats(store)` is what `haiku-lsp stats` prints (`render`) and what the `haiku/stats` request
answers: requests (model calls) by feature and outcome, tokens by kind and model, dollars by model
and feature, cache hit rates (the answer caches by feature, and the share of prompt tokens read from
the API's prompt cache), the inline acceptance rate as far as the server can know it (the share of
inline requests answered from a suggestion the user was typing into: a lower bound, since an
acceptance with Tab makes no request), validation pass rates of the actions, and p50/p95 latencies.
"""

from __future__ import annotations

import datetime
import math
from collections import defaultdict
from typing import Any

from haiku_lsp.llm.usage import UsageStore

TOKEN_KINDS = ("input", "output", "cache_write", "cache_read")


def percentile(values: list[float], p: float) -> float | None:
    """Nearest-rank percentile; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def summarise(records: list[dict[str, Any]]) -> dict[str, Any]:
    """The figures of one period's records."""
    calls = [r for r in records if r.get("kind") == "call"]
    models: dict[str, dict[str, Any]] = {}
    features: dict[str, dict[str, Any]] = {}
    outcomes: dict[str, int] = defaultdict(int)
    latencies: dict[str, list[float]] = defaultdict(list)
    every: list[float] = []
    for r in calls:
        model = models.setdefault(str(r.get("model")), {"calls": 0, **dict.fromkeys(TOKEN_KINDS, 0), "usd": 0.0})
        feature = features.setdefault(str(r.get("feature")), {"calls": 0, "usd": 0.0})
        for row in (model, feature):
            row["calls"] += 1
            row["usd"] += float(r.get("usd") or 0.0)
        for kind in TOKEN_KINDS:
            model[kind] += int(r.get(kind) or 0)
        outcome = str(r.get("outcome"))
        outcomes[outcome] += 1
        if outcome in ("ok", "stopped") and isinstance(r.get("ms"), (int, float)):
            latencies[str(r.get("feature"))].append(float(r["ms"]))
            if not r.get("batch"):  # a batch's turnaround (minutes to hours) is no interactive latency
                every.append(float(r["ms"]))
    for row in (*models.values(), *features.values()):
        row["usd"] = round(row["usd"], 6)
    tokens = {kind: sum(m[kind] for m in models.values()) for kind in TOKEN_KINDS}

    caches: dict[str, dict[str, int]] = defaultdict(lambda: {"hits": 0, "misses": 0})
    inline: dict[str, int] = defaultdict(int)
    validation: dict[str, dict[str, int]] = defaultdict(lambda: {"passed": 0, "failed": 0})
    for r in records:
        if r.get("kind") != "counts":
            continue
        for namespace, counts in (r.get("cache") or {}).items():
            for k in ("hits", "misses"):
                caches[namespace][k] += int(counts.get(k) or 0)
        for k, n in (r.get("inline") or {}).items():
            inline[k] += int(n or 0)
        for action, counts in (r.get("validation") or {}).items():
            for k in ("passed", "failed"):
                validation[action][k] += int(counts.get(k) or 0)

    prompt_tokens = tokens["input"] + tokens["cache_write"] + tokens["cache_read"]
    return {
        "requests": len(calls),
        "outcomes": dict(outcomes),
        "usd": round(sum(m["usd"] for m in models.values()), 6),
        "tokens": tokens,
        "models": models,
        "features": features,
        "cacheHitRates": {
            "answers": {ns: _rate(c["hits"], c["hits"] + c["misses"]) for ns, c in sorted(caches.items())},
            "promptTokensFromCache": _rate(tokens["cache_read"], prompt_tokens),
        },
        "inline": {"requests": inline["requests"], "typedAhead": inline["typed_ahead"],
                   "acceptanceRate": _rate(inline["typed_ahead"], inline["requests"])},
        "validation": {a: {**c, "passRate": _rate(c["passed"], c["passed"] + c["failed"])}
                       for a, c in sorted(validation.items())},
        "latencyMs": {
            "all": {"p50": percentile(every, 50), "p95": percentile(every, 95)},
            **{f: {"p50": percentile(v, 50), "p95": percentile(v, 95)} for f, v in sorted(latencies.items())},
        },
    }


def usage_stats(store: UsageStore, today: datetime.date | None = None) -> dict[str, Any]:
    """`{"today": figures, "last7Days": figures, "days": {date: usd}, "folder": path}`."""
    days = store.read_days(7, today)
    first = min(days) if days else None
    latest = max(days) if days else None
    return {
        "today": summarise(days.get(latest, []) if latest else []),
        "last7Days": summarise([r for records in days.values() for r in records]),
        "days": {d.isoformat(): summarise(rs)["usd"] for d, rs in sorted(days.items())},
        "from": first.isoformat() if first else None,
        "folder": str(store.folder),
    }


def _pct(rate: float | None) -> str:
    return "-" if rate is None else f"{rate * 100:.0f}%"


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f} ms"


def render(stats: dict[str, Any]) -> str:
    """The figures as plain text for a terminal."""
    out: list[str] = []
    for title, key in (("Today", "today"), ("Last 7 days", "last7Days")):
        s = stats[key]
        t = s["tokens"]
        out.append(f"{title}: {s['requests']} model requests, ${s['usd']:.4f}")
        out.append(f"  tokens: input {t['input']}, output {t['output']}, cache write {t['cache_write']}, "
                   f"cache read {t['cache_read']}")
        for model, m in sorted(s["models"].items()):
            out.append(f"  {model}: {m['calls']} calls, input {m['input']}, output {m['output']}, "
                       f"cache write {m['cache_write']}, cache read {m['cache_read']}, ${m['usd']:.4f}")
        for feature, f in sorted(s["features"].items()):
            lat = s["latencyMs"].get(feature, {})
            out.append(f"  {feature}: {f['calls']} calls, ${f['usd']:.4f}, p50 {_ms(lat.get('p50'))}, "
                       f"p95 {_ms(lat.get('p95'))}")
        if s["outcomes"]:
            out.append("  outcomes: " + ", ".join(f"{k} {v}" for k, v in sorted(s["outcomes"].items())))
        lat = s["latencyMs"]["all"]
        out.append(f"  latency: p50 {_ms(lat['p50'])}, p95 {_ms(lat['p95'])}")
        hits = s["cacheHitRates"]
        answers = ", ".join(f"{ns} {_pct(r)}" for ns, r in hits["answers"].items()) or "-"
        out.append(f"  cache hit rates: {answers}; prompt tokens read from the API's cache "
                   f"{_pct(hits['promptTokensFromCache'])}")
        inline = s["inline"]
        out.append(f"  inline: {inline['requests']} requests, accepted by typing on "
                   f"{_pct(inline['acceptanceRate'])} (at least)")
        for action, v in s["validation"].items():
            out.append(f"  {action}: validation passed {v['passed']} of {v['passed'] + v['failed']} "
                       f"({_pct(v['passRate'])})")
        out.append("")
    out.append("By day: " + ", ".join(f"{d} ${usd:.4f}" for d, usd in stats["days"].items()))
    out.append(f"(from {stats['folder']})")
    return "\n".join(out) + "\n"
