"""One file edited by many subtasks: each subtask's region is tracked while other edits change the
lines around it, and the final text is a replay of the kept edits.

An edit is applied only when its region still holds exactly the text the worker saw and it overlaps
no region of an unrelated subtask already applied; otherwise `MergeConflict` says why, and nothing of
that edit is mixed in. Independent edits touch disjoint lines, so their order does not matter; the
replay applies them bottom-up (by line range) within the dependency order.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from dataclasses import dataclass, field

from haiku_lsp.errors import MergeConflict
from haiku_lsp.python.symbols import symbols
from haiku_lsp.refactor.plan import Plan
from haiku_lsp.text import split_lines


@dataclass(frozen=True)
class Edit:
    """A worker's answer for one subtask: `replacement` for the region whose text was `seen` (both
    without a final newline), plus import statements to add at the top of the module."""

    replacement: str
    seen: str
    imports: tuple[str, ...] = ()
    notes: str = ""
    cached: bool = False
    repaired: bool = False

    @property
    def changed(self) -> bool:
        return self.replacement != self.seen


def region_lines(text: str) -> list[str]:
    """The lines of a region's text, split as the editor splits them; empty text is an empty region
    (no lines), not one blank line: an empty replacement removes the region."""
    return split_lines(text) if text else []


class Document:
    """The lines of a file being edited, with one tracked region (0-based, inclusive; empty when
    end < start) per subtask of `plan`."""

    def __init__(self, text: str, plan: Plan) -> None:
        self.plan = plan
        self.lines = text.split("\n")
        self.regions = {s.id: (s.start, s.end) for s in plan.subtasks}
        self.applied: list[str] = []  # subtasks whose edit changed the text, in the order applied

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    def text_of(self, sid: str) -> str:
        a, b = self.regions[sid]
        return "\n".join(self.lines[a:b + 1])

    def preview(self, sid: str, replacement: str) -> str:
        """The whole text with `replacement` in place of `sid`'s region (nothing is changed)."""
        a, b = self.regions[sid]
        return "\n".join([*self.lines[:a], *region_lines(replacement), *self.lines[b + 1:]])

    def apply(self, sid: str, edit: Edit) -> None:
        """Apply `edit` to `sid`'s region; MergeConflict (and no change) when it cannot be applied."""
        if self.text_of(sid) != edit.seen:
            raise MergeConflict(f"the region of {sid} changed after its worker saw it")
        a, b = self.regions[sid]
        for other in self.applied:
            oa, ob = self.regions[other]
            if oa <= b and a <= ob and not self.plan.related(sid, other):
                raise MergeConflict(f"{sid} and {other} overlap (lines {max(a, oa) + 1}-{min(b, ob) + 1}) "
                                    "but neither depends on the other")
        if not edit.changed:
            return
        new = region_lines(edit.replacement)
        self.lines[a:b + 1] = new
        self._track(sid, a, b, len(new))
        self.applied.append(sid)

    def _track(self, sid: str, s: int, e: int, n: int) -> None:
        delta, new_end = n - (e - s + 1), s + n - 1
        found = None
        for other, (a, b) in self.regions.items():
            if other == sid or (a, b) == (s, e):
                self.regions[other] = (s, new_end)  # the same region: all of the new code
            elif b < s:
                continue
            elif a > e:
                self.regions[other] = (a + delta, b + delta)
            elif a <= s and e <= b:
                self.regions[other] = (a, b + delta)
            else:
                # Inside the rewritten lines, or partly: find the symbol again, else take the union.
                lo, hi = min(a, s), max(new_end, b + delta if b > e else new_end)
                symbol = self.plan.by_id[other].symbol
                if symbol and found is None:
                    found = {sym.qualname: sym for sym in symbols(self.text)}
                sym = found.get(symbol) if symbol and found else None
                if sym is not None and lo <= sym.start_line and sym.end_line <= hi:
                    self.regions[other] = (sym.start_line, sym.end_line)
                else:
                    self.regions[other] = (lo, hi)


@dataclass
class Merged:
    """The merged text. `regions`: final lines (0-based, inclusive) of the subtasks that changed it;
    `conflicts`: subtasks left out, and why; `import_owners`: added import lines and who asked."""

    text: str
    regions: dict[str, tuple[int, int]] = field(default_factory=dict)
    conflicts: dict[str, str] = field(default_factory=dict)
    import_owners: dict[int, list[str]] = field(default_factory=dict)

    @property
    def changed(self) -> list[str]:
        return list(self.regions)

    def owners(self, line: int) -> list[str]:
        """The subtask whose edit covers `line` most narrowly (the last applied on a tie), or the
        subtasks that asked for the import on that line; [] when no edit covers it."""
        if line in self.import_owners:
            return list(self.import_owners[line])
        inside = [(b - a, -i, sid) for i, (sid, (a, b)) in enumerate(self.regions.items()) if a <= line <= b]
        return [min(inside)[2]] if inside else []


def merge(original: str, plan: Plan, edits: Mapping[str, Edit]) -> Merged:
    """Replay `edits` (a set closed under dependencies) on `original`, then add the imports asked for."""
    doc = Document(original, plan)
    conflicts: dict[str, str] = {}
    for sid in plan.order(set(edits)):
        if blocked := sorted(plan.ancestors(sid) & set(conflicts)):
            conflicts[sid] = f"depends on {blocked[0]}, which could not be merged"
            continue
        try:
            doc.apply(sid, edits[sid])
        except MergeConflict as err:
            conflicts[sid] = str(err)
    regions = {sid: doc.regions[sid] for sid in doc.applied}
    wanted = [(imp, sid) for sid in doc.applied for imp in edits[sid].imports]
    text, owners, at, count = add_imports(doc.text, wanted)
    if count:
        regions = {sid: ((a + count, b + count) if a >= at else (a, b + count) if b >= at else (a, b))
                   for sid, (a, b) in regions.items()}
    return Merged(text, regions, conflicts, owners)


def import_error(statement: str) -> str | None:
    """None when `statement` is one import statement that may be added to a module's imports."""
    try:
        tree = ast.parse(statement.strip())
    except SyntaxError:
        return f"{statement!r} is not an import statement"
    if len(tree.body) != 1 or not isinstance(tree.body[0], (ast.Import, ast.ImportFrom)):
        return f"{statement!r} is not a single import statement"
    if isinstance(tree.body[0], ast.ImportFrom) and tree.body[0].module == "__future__":
        return "__future__ imports cannot be added"
    return None


def _bindings(nodes: list[ast.stmt]) -> set[tuple[str | None, int, str, str | None]]:
    out: set[tuple[str | None, int, str, str | None]] = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            out |= {(None, 0, a.name, a.asname) for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            out |= {(node.module, node.level, a.name, a.asname) for a in node.names}
    return out


def add_imports(text: str, wanted: list[tuple[str, str]]) -> tuple[str, dict[int, list[str]], int, int]:
    """`text` with the import statements of `wanted` ((statement, subtask id)) that it lacks, inserted
    after its leading imports; also the inserted lines' owners, where and how many lines went in."""
    try:
        body = ast.parse(text).body
    except SyntaxError:
        body = []
    have = _bindings(body)
    new: dict[str, list[str]] = {}
    for statement, sid in wanted:
        statement = statement.strip()
        if import_error(statement):
            continue
        if _bindings(ast.parse(statement).body) <= have and statement not in new:
            continue
        new.setdefault(statement, [])
        if sid not in new[statement]:
            new[statement].append(sid)
    if not new:
        return text, {}, 0, 0
    lines = text.split("\n")
    at = 0
    for i, node in enumerate(body):
        value = getattr(node, "value", None)
        docstring = i == 0 and isinstance(node, ast.Expr) and isinstance(value, ast.Constant) and isinstance(
            value.value, str)
        if not (docstring or isinstance(node, (ast.Import, ast.ImportFrom))):
            break
        at = node.end_lineno or node.lineno
    if at == 0:
        while at < len(lines) and lines[at].startswith("#"):
            at += 1  # not above a shebang, an encoding line or a licence header
    lines[at:at] = list(new)
    return "\n".join(lines), {at + i: ids for i, ids in enumerate(new.values())}, at, len(new)
