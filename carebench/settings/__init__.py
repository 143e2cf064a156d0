"""Settings package: `base` holds everything; `test` and `production` adjust it.

The default (`carebench.settings`) is the base settings, suitable for the demo and development.
"""

from .base import *  # noqa: F403
