"""`python -m harness ...` runs the CLI (the same as the `harness` console script)."""
import sys

from harness.cli import main

sys.exit(main())
