"""The completion prompt: a hole-filler over the prefix and suffix windows.

The stable part (instructions, then the jedi context) comes first so it can be cached upstream;
it carries `cache_control` only when it is long enough to be cached at all (4,096 tokens for Haiku
4.5, 1,024 for Sonnet) -- below that the marker would buy nothing. Changing any text here must
bump PROMPT_VERSION: cache keys include it.
"""

from __future__ import annotations

import re

from haiku_lsp.completion.context import CompletionContext, estimate_tokens
from haiku_lsp.llm.provider import ModelRequest, supports_prefill

PROMPT_VERSION = "inline-4"
HOLE = "<HOLE/>"
OPEN, CLOSE = "<COMPLETION>", "</COMPLETION>"

SYSTEM = f"""You are a code completion engine inside a code editor. You are shown a file with a hole \
marked {HOLE} at the cursor. Reply with exactly the text that belongs at the hole, wrapped in \
{OPEN}{CLOSE}, and nothing else: no explanation, no markdown fence, no repetition of the code \
before or after the hole.
- The first line of your answer continues the cursor's line at the cursor; following lines carry \
their full indentation, as in the file.
- When the cursor's line already has code before the hole, complete that line only.
- When the cursor is on an empty line, write the block that belongs there (for example a whole \
function body) and stop where that block ends.
- Never repeat code that already follows the hole.
- If nothing should be inserted, answer {OPEN}{CLOSE}."""


# A line that starts a compound statement: its answer is a header whose body belongs with it.
_HEADER_RE = re.compile(r"\s*(?:async\s+)?(?:if|elif|else|for|while|with|try|except|finally|def|class|match|case)\b")


def starts_header(ctx: CompletionContext) -> bool:
    """The cursor is at the end of a line that starts a block header ("for x in ")."""
    cursor = ctx.cursor
    return cursor.mode == "line" and not cursor.line_suffix.strip() and _HEADER_RE.match(cursor.line_prefix) is not None


def answer_tokens(ctx: CompletionContext, line_tokens: int, block_tokens: int) -> int:
    """`max_tokens` for the answer: at the end of a line that line (or, after an accepted suggestion, the next
    few lines, within the same budget); a block header with its body, a block, or a span of several lines
    ending inside the text after the cursor (mid-line): a block's."""
    end_of_line = ctx.cursor.mode == "line" and not ctx.cursor.line_suffix.strip()
    return line_tokens if end_of_line and not starts_header(ctx) else block_tokens


def min_cacheable_tokens(model: str) -> int:
    return 4096 if "haiku" in model else 1024


def completion_request(ctx: CompletionContext, *, model: str, max_tokens: int) -> ModelRequest:
    system: list[dict] = [{"type": "text", "text": SYSTEM}]
    if ctx.snippets:
        ctx_text = "Definitions used near the cursor, from elsewhere in the project:\n" + "\n\n".join(
            f"# {s.source}\n{s.text}" for s in ctx.snippets
        )
        block: dict = {"type": "text", "text": ctx_text}
        if estimate_tokens(SYSTEM + ctx_text) >= min_cacheable_tokens(model):
            block["cache_control"] = {"type": "ephemeral"}
        system.append(block)
    if starts_header(ctx):
        task = ("Complete the rest of the cursor's line; when it is a block header, go on with the block's body "
                "on the next lines and stop where that block ends.")
    elif ctx.cursor.mode == "line" and not ctx.cursor.line_suffix.strip():
        task = ("Complete the rest of the cursor's line; if that line is already complete, answer with a line "
                "break followed by the code of the next line(s).")
    elif ctx.cursor.mode == "line":
        task = "Complete the rest of the cursor's line."
    else:
        task = "Write the code that belongs on the cursor's empty line (a statement or a whole block)."
    user = (
        f'<file path="{ctx.path}" language="{ctx.language}">\n{ctx.prefix}{HOLE}{ctx.suffix}\n</file>\n'
        f"{task} Answer with {OPEN}...{CLOSE} only."
    )
    messages: list[dict] = [{"role": "user", "content": user}]
    if supports_prefill(model):
        # Prefill pins the answer format; it ends in '>', never in whitespace (the API rejects that).
        messages.append({"role": "assistant", "content": OPEN})
    return ModelRequest(
        model=model,
        system=tuple(system),
        messages=tuple(messages),
        max_tokens=max_tokens,
        stop_sequences=(CLOSE,),
    )
