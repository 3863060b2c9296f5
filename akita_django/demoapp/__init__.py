"""A small blog API, the example application that ``akita demo`` records.

It keeps its data in memory (``store``), so it needs no database: articles
with comments, users, and three kinds of authentication (a session cookie,
``Authorization: Token``, and HTTP basic). Its settings module is
``akita_django.demoapp.settings``.
"""
