"""Turn captured HTTP traffic into an API model.

The model builder is pure: witnesses (request/response pairs, written as HAR
1.2 entries) go in, an OpenAPI 3.1 document comes out. It does no network I/O
and keeps no global state, so the command line, the daemon and the test
plugin all share it.
"""

__version__ = "0.1.0"
