"""Quick fixes for diagnostics from any source: `propose_fix` finds the smallest enclosing scope, asks
the model for a replacement (or takes `ruff --fix` offline), and offers a `FixProposal` only when the
patched file parses, ruff reports nothing new and, for ruff's diagnostics, ruff with that rule
selected no longer reports it; `FixProposal.check` (a `FixCheck`) says what was checked and what was
not; `has_offline_fix` says whether there can be one without the model. ToolUnavailable when ruff cannot
run. No LSP.
"""

from haiku_lsp.quickfix.fix import (
    FixCheck,
    FixProposal,
    Scope,
    enclosing_scope,
    has_offline_fix,
    propose_fix,
    replace_scope,
)

__all__ = ["FixCheck", "FixProposal", "Scope", "enclosing_scope", "has_offline_fix", "propose_fix", "replace_scope"]
