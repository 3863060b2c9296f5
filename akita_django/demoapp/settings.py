"""Django settings of the example application.

``AKITA_DEMO_CAPTURE=1`` in the environment puts ``AkitaMiddleware`` in
front of the application, sending to the daemon at ``AKITA_DAEMON_HOST``.
"""

from __future__ import annotations

import os

SECRET_KEY = "demo-only-not-a-secret-5f1c0a7e2b9d4c3a8e6f"
DEBUG = False
ALLOWED_HOSTS = ["*"]
ROOT_URLCONF = "akita_django.demoapp.urls"
INSTALLED_APPS: list[str] = []
DATABASES: dict[str, dict[str, str]] = {}
USE_TZ = True
TIME_ZONE = "UTC"

# Signed-cookie sessions keep the application free of any database.
SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"
SESSION_COOKIE_NAME = "sessionid"

MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # The example's 5xx answers are on purpose: keep them off the console.
    "handlers": {"null": {"class": "logging.NullHandler"}},
    "loggers": {"django.request": {"handlers": ["null"], "propagate": False}},
}

AKITA_SERVICE_NAME = "django-demo"
AKITA_MIDDLEWARE_NAME = "demo-web-1"
AKITA_DAEMON_HOST = os.environ.get("AKITA_DAEMON_HOST", "localhost:50080")

if os.environ.get("AKITA_DEMO_CAPTURE") == "1":
    MIDDLEWARE.insert(0, "akita_django.middleware.AkitaMiddleware")
