"""Capture a Django application's HTTP traffic as Akita witnesses.

``AkitaMiddleware`` (in ``akita_django.middleware``) sends witnesses to the
Akita daemon while a trace is active; ``akita_django.test.Client`` writes
them to a trace file during tests; the pytest plugin records a whole test
session and builds its API model. This package imports nothing heavy: the
middleware stays cheap to load and cheap per request.
"""
