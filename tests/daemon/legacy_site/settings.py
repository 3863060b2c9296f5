"""Settings of the tiny site; the daemon's address comes from the environment."""

import os

SECRET_KEY = "legacy-site-for-tests-only"
DEBUG = False
ALLOWED_HOSTS = ["*"]
ROOT_URLCONF = "legacy_site.urls"
INSTALLED_APPS: list[str] = []
DATABASES: dict[str, dict[str, str]] = {}
USE_TZ = True
MIDDLEWARE = ["akita_django.middleware.AkitaMiddleware"]

AKITA_SERVICE_NAME = "legacy"
AKITA_MIDDLEWARE_NAME = "legacy-web"
AKITA_DAEMON_HOST = os.environ["LEGACY_AKITA_DAEMON_HOST"]
