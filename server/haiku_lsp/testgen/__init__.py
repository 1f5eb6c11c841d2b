"""Generate unit test: `propose_test` writes tests for the def or class under the cursor (by the model,
or offline from its doctests or hypothesis's ghostwriter), runs them in a sandbox, repairs a failing
one once, and returns a `TestProposal` with the result of the run. The pieces are public too: where
a test goes (`test_target`, `normalise_test_path`), joining a test file (`merge_test`), what a
model's answer must be (`TESTGEN_SCHEMA`, `validate_generated`), which tests are new
(`new_test_ids`), and the offline writers (`doctest_test`, `ghostwriter_test`). No LSP; user code is
never imported in-process.
"""

from haiku_lsp.testgen.flow import TestProposal, propose_test
from haiku_lsp.testgen.layout import (
    TESTGEN_SCHEMA,
    merge_test,
    new_test_ids,
    normalise_test_path,
    test_target,
    validate_generated,
)
from haiku_lsp.testgen.writers import doctest_test, ghostwriter_test

__all__ = ["TESTGEN_SCHEMA", "TestProposal", "doctest_test", "ghostwriter_test", "merge_test", "new_test_ids",
           "normalise_test_path", "propose_test", "test_target", "validate_generated"]
