"""Who is calling: session, token and basic authentication, and their views.

The views sign in with a form (a session cookie), swap HTTP basic
credentials for a token, and say who is signed in.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from functools import wraps
from typing import Any, cast

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_http_methods

from akita_django.demoapp import store

View = Callable[..., HttpResponse]


def allow(*methods: str) -> Callable[[View], View]:
    """Answer 405 to the methods a view does not take."""
    return cast(Callable[[View], View], require_http_methods(list(methods)))


def error(status: int, message: str) -> JsonResponse:
    """Return a JSON error answer."""
    return JsonResponse({"error": message, "status": status}, status=status)


def _basic_user(header: str) -> store.User | None:
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    username, _, password = decoded.partition(":")
    user = store.data.users.get(username)
    return user if user is not None and user.password == password else None


def _token_user(header: str) -> store.User | None:
    scheme, _, token = header.partition(" ")
    if scheme != "Token":
        return None
    for user in store.data.users.values():
        if user.token == token.strip():
            return user
    return None


def current_user(request: HttpRequest) -> store.User | None:
    """Return the signed-in user by token, basic credentials or session."""
    header = request.headers.get("Authorization", "")
    if header:
        return _token_user(header) or _basic_user(header)
    username = request.session.get("username")
    return store.data.users.get(username) if isinstance(username, str) else None


def login_required(view: View) -> View:
    """Answer 401 unless the caller is signed in somehow."""

    @wraps(view)
    def checked(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if current_user(request) is None:
            answer = error(401, "Authentication credentials were not provided.")
            answer["WWW-Authenticate"] = 'Token realm="api"'
            return answer
        return view(request, *args, **kwargs)

    return checked


def user_json(user: store.User) -> dict[str, Any]:
    """Return the public view of a user."""
    return {
        "id": str(user.id),
        "username": user.username,
        "email": user.email,
        "is_editor": user.is_editor,
    }


@allow("POST")
def session_login(request: HttpRequest) -> HttpResponse:
    """Sign in with a form of username and password."""
    username = request.POST.get("username", "")
    password = request.POST.get("password", "")
    user = store.data.users.get(username)
    if user is None or user.password != password:
        return error(401, "The username or password is wrong.")
    request.session["username"] = user.username
    return JsonResponse({"user": user_json(user)})


@allow("POST")
def session_logout(request: HttpRequest) -> HttpResponse:
    """Sign out of the session."""
    request.session.flush()
    return HttpResponse(status=204)


@allow("POST")
def token_create(request: HttpRequest) -> HttpResponse:
    """Return the caller's API token, given HTTP basic credentials."""
    user = _basic_user(request.headers.get("Authorization", ""))
    if user is None:
        answer = error(401, "HTTP basic credentials are required.")
        answer["WWW-Authenticate"] = 'Basic realm="api"'
        return answer
    return JsonResponse({"token": user.token, "user": user_json(user)}, status=201)


@allow("GET")
def me(request: HttpRequest) -> HttpResponse:
    """Say who is signed in."""
    user = current_user(request)
    if user is None:
        return error(401, "Nobody is signed in.")
    return JsonResponse(user_json(user))


def parse_json(request: HttpRequest) -> dict[str, Any] | JsonResponse:
    """Return the JSON object in the body, or an error answer."""
    if request.content_type != "application/json":
        return error(415, f"Send JSON, not {request.content_type!r}.")
    try:
        body = json.loads(request.body)
    except (ValueError, UnicodeDecodeError):
        return error(400, "The body is not valid JSON.")
    if not isinstance(body, dict):
        return error(400, "The body must be a JSON object.")
    return body
