import sys

from haiku_lsp.cli.main import main

sys.exit(main())
