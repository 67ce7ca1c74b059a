"""``python -m cudnn_lite ...`` runs the ``cudnn-lite`` command."""
import sys

from .cli import main

sys.exit(main())
