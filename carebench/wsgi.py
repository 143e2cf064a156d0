"""WSGI entry point (gunicorn carebench.wsgi).

After Django and every app are loaded, the objects they made (modules, classes, URL patterns,
settings: a few hundred thousand) are moved out of the garbage collector's reach with
`gc.freeze()`: they live as long as the process, and the collector's full passes would
otherwise walk them all again and again while requests wait (the long tail of a busy page).
"""

import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "carebench.settings")
application = get_wsgi_application()
gc.collect()
gc.freeze()
