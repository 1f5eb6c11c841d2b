"""Quick fixes for diagnostics from any source: `propose_fix` finds the smallest enclosing scope, asks
the model for a replacement (or takes `ruff --fix` offline), and offers a `FixProposal` only when the
patched file parses and, for ruff's diagnostics, ruff no longer reports the code and nothing new. No
LSP.
"""

from haiku_lsp.quickfix.fix import FixProposal, Scope, enclosing_scope, propose_fix, replace_scope

__all__ = ["FixProposal", "Scope", "enclosing_scope", "propose_fix", "replace_scope"]
