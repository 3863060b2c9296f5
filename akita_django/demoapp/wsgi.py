"""The WSGI application of the example, for ``gunicorn``."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "akita_django.demoapp.settings")
application = get_wsgi_application()
