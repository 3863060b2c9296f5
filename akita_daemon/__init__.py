"""The capture daemon: ingest, obfuscation, spool, trace control, upload.

The daemon listens for the middleware of a Django app, obfuscates every
witness it receives, appends it to an on-disk spool before acknowledging it,
and, when a trace ends, builds the trace's API model and report. In console
mode it also reports to, takes its traces from, and uploads to a console.
"""

__all__: list[str] = []
