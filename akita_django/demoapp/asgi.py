"""The ASGI application of the example, for ``uvicorn``."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "akita_django.demoapp.settings")
application = get_asgi_application()
