"""``python -m groundstation.cli`` runs the ``dronepatrol`` command."""

import sys

from groundstation.cli import main

sys.exit(main())
