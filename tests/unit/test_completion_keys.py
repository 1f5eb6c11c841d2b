"""What the completion hot path compares and stores: typed-ahead anchors (engine/typed_ahead.py) and
cache keys (cache.py)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from haiku_lsp.completion.typed_ahead import TAIL, Anchor, digest

texts = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=300)


@given(before=texts, after=texts, typed=texts)
def test_typing_at_the_spot_is_returned(before, after, typed):
    anchor = Anchor.of(before, digest(after))
    assert anchor.typed(before + typed, digest(after)) == typed
    assert anchor.typed(before + typed, digest(after), {}) == typed


@given(before=texts, after=texts, at=st.integers(min_value=0), insert=st.text(min_size=1, max_size=5))
def test_an_edit_before_the_spot_is_noticed(before, after, at, insert):
    anchor = Anchor.of(before, digest(after))
    at = at % (len(before) + 1)
    edited = before[:at] + insert + before[at:]
    # the suggestion's prefix is gone unless the edit left it in place (typing at the very end)
    expected = edited[len(before):] if edited.startswith(before) else None
    assert anchor.typed(edited, digest(after)) == expected


@given(before=texts, after=texts, other=texts)
def test_a_different_text_after_the_spot_is_noticed(before, after, other):
    anchor = Anchor.of(before, digest(after))
    assert anchor.typed(before, digest(other)) == ("" if other == after else None)


def test_an_edit_far_above_the_spot_is_caught_by_the_hash_not_the_tail():
    before = "x = 1\n" + "pass\n" * 50 + "value = compute("
    anchor = Anchor.of(before, digest(")"))
    far = "y = 1\n" + before[6:]
    assert far[-TAIL:] == before[-TAIL:]
    assert anchor.typed(far + "a", digest(")")) is None
    assert anchor.typed(before + "a", digest(")")) == "a"


def test_anchors_checked_against_one_request_share_the_hash_of_a_prefix():
    before = "def f():\n    return g("
    anchors = [Anchor.of(before, digest(")")) for _ in range(5)]
    memo: dict[int, int] = {}
    assert [a.typed(before + "1, ", digest(")"), memo) for a in anchors] == ["1, "] * 5
    assert list(memo) == [len(before)]


def test_cache_keys_are_the_sha256_of_the_canonical_json_whatever_the_size():
    """Keys survive restarts and versions: hashing in pieces must not change them."""
    import hashlib
    import json

    from haiku_lsp.llm.cache import content_key

    for size in (0, 1, 1999, 2000, 2001, 10_000):
        parts = ("v3", {"b": "é" * size, "a": [1, None]})
        blob = json.dumps(parts, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        assert content_key(*parts) == hashlib.sha256(blob.encode("utf-8")).hexdigest()


def test_the_cache_counts_what_the_stats_report_shows(tmp_path):
    """haiku.showStats reports these four counters; the usage stats (haiku-lsp stats) the hit rates by
    namespace; the cache keeps no other tally."""
    from haiku_lsp.llm.cache import Cache

    cache = Cache(tmp_path / "cache")
    cache.set("inline", "k", "v")
    assert cache.get("inline", "k") == "v" and cache.get("fix", "nope") is None
    assert vars(cache.stats) == {"memory_hits": 1, "disk_hits": 0, "misses": 1, "writes": 1, "namespaces": {
        "inline": {"hits": 1, "misses": 0}, "fix": {"hits": 0, "misses": 1}}}
