"""The data classes of a parsed traceback: its frames and the exception they lead to (no I/O).

They live apart from the parser so the resolution and rendering modules can use them without
importing it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Frame:
    path: str  # as written in the traceback
    line: int  # 1-based; 0 when unknown (a FAILED summary line) and not found by resolve_frames
    function: str | None
    source_line: str | None  # the code line printed under the frame, stripped, if any
    resolved: Path | None = None  # absolute path of an existing file inside the workspace
    in_workspace: bool = False  # resolved, not a library, not ignored: its source may be sent
    ignored: bool = False  # matched by the ignore rules: nothing of it is sent, not even source_line


@dataclass(frozen=True)
class ParsedTraceback:
    exc_type: str  # "ValueError", "module.CustomError", "AssertionError"
    message: str  # may be multi-line (pytest "E" lines joined)
    frames: tuple[Frame, ...]  # outermost first, innermost last
    kind: str  # "python" | "pytest": the format it was read from
    first_line: int = 0  # 0-based line range in the document where it was found
    last_line: int = 0
    # Everything printed before this exception that belongs to it, in printed order (causes[0] first):
    # earlier links of a chain ("direct cause" / "during handling") and enclosing ExceptionGroups.
    # They carry their own frames and line ranges; their own `causes` are empty.
    causes: tuple[ParsedTraceback, ...] = ()
    root: Path | None = None  # the workspace root resolve_frames used, if any

    @property
    def headline(self) -> str:
        """`ExcType: first line of the message` (or just the type)."""
        first = self.message.split("\n", 1)[0].strip()
        return f"{self.exc_type}: {first}" if first else self.exc_type

    @property
    def innermost_workspace_frame(self) -> Frame | None:
        """The innermost in_workspace frame of this exception, else of its causes (latest first)."""
        for tb in (self, *reversed(self.causes)):
            for frame in reversed(tb.frames):
                if frame.in_workspace:
                    return frame
        return None
