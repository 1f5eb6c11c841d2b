"""AI hover: the `HoverExplainer` asks the model for a short explanation of a symbol, cached by a hash
of its definition's source. What jedi says about the symbol is in :mod:`haiku_lsp.python`. No LSP.
"""

from haiku_lsp.hover.explainer import HoverExplainer

__all__ = ["HoverExplainer"]
