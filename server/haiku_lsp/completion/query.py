"""What an inline completion request is (`CompletionQuery`: a document's lines, the cursor, the trigger)
and what it answers (`Suggestion`), apart from the engine so every stage can name them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CompletionQuery:
    uri: str
    lines: list[str]  # the document's lines without line endings
    line: int  # cursor, code points
    col: int
    invoked: bool  # triggerKind 1: no debounce, alternatives welcome
    path: str | None = None
    root: str | None = None
    language: str = "python"
    version: int | None = None

    def before(self) -> str:
        return "\n".join([*self.lines[: self.line], self.lines[self.line][: self.col]])

    def after(self) -> str:
        return "\n".join([self.lines[self.line][self.col :], *self.lines[self.line + 1 :]])


@dataclass(frozen=True)
class Suggestion:
    text: str
    source: str  # model | cache | typed-ahead | in-flight | offline
