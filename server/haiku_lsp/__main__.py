import sys

from haiku_lsp.cli import main

sys.exit(main())
