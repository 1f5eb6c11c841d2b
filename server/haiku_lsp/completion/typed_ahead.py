"""Where a suggestion was shown, kept small: what the user typed at that spot since, if anything.

An anchor holds the length and hash of the text before the cursor, its last few characters and the
hash of the text after it, never a copy of the document."""

from __future__ import annotations

from dataclasses import dataclass


def digest(text: str) -> int:
    """A fingerprint of text for in-memory comparisons (never stored). The interpreter's own string
    hash, not hashlib: hashlib drops the GIL for inputs over 2 KiB, and on a busy server getting it back
    can cost a whole switch interval (5 ms) per call, while this costs a few microseconds."""
    return hash(text)


TAIL = 48  # characters kept verbatim before an anchor: most edits elsewhere are told apart without a hash


@dataclass(frozen=True)
class Anchor:
    """Where a suggestion was made, without keeping two copies of the document: the length and hash
    of the text before the cursor, its last few characters, and the hash of the text after it."""

    before_len: int
    before_hash: int
    tail: str
    after_hash: int

    @classmethod
    def of(cls, before: str, after_hash: int) -> Anchor:
        return cls(len(before), digest(before), before[-TAIL:], after_hash)

    def typed(self, before: str, after_hash: int, memo: dict[int, int] | None = None) -> str | None:
        """What was typed at this spot since (the text after the cursor unchanged), else None. `memo`
        (prefix length -> hash) lets several anchors checked against one request share the hashing."""
        n = self.before_len
        if after_hash != self.after_hash or len(before) < n or before[n - len(self.tail):n] != self.tail:
            return None
        if memo is None:
            memo = {}
        if n not in memo:
            memo[n] = digest(before[:n])
        if memo[n] != self.before_hash:
            return None
        return before[n:]


@dataclass(frozen=True)
class Shown:
    anchor: Anchor
    text: str
