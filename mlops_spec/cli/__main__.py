"""`python -m mlops_spec.cli`."""

import sys

from mlops_spec.cli import main

sys.exit(main())
