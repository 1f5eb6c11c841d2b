"""Every module of haiku_lsp imports on its own, in a fresh interpreter (a subprocess, so it is not a unit
test; the rest of the layout checks are in tests/unit/test_package_layout.py)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

from tests.unit.test_package_layout import ROOT, modules


def test_every_module_imports_on_its_own():
    script = textwrap.dedent("""
        import importlib, sys, traceback
        failed = []
        for name in sys.argv[1:]:
            for loaded in [m for m in sys.modules if m == "haiku_lsp" or m.startswith("haiku_lsp.")]:
                del sys.modules[loaded]
            try:
                importlib.import_module(name)
            except Exception:
                failed.append(name + ":\\n" + traceback.format_exc())
        print("\\n".join(failed))
        sys.exit(1 if failed else 0)
    """)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    run = subprocess.run([sys.executable, "-c", script, *modules()], capture_output=True, text=True, env=env,
                         timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
