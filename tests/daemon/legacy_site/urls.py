"""The tiny site's API."""

import json

from django.http import HttpRequest, JsonResponse
from django.urls import path


def item(request: HttpRequest, pk: int) -> JsonResponse:
    return JsonResponse({"id": pk, "name": f"item {pk}", "price": 9.5})


def items(request: HttpRequest) -> JsonResponse:
    if request.method == "POST":
        body = json.loads(request.body)
        return JsonResponse({"id": 100, "name": body["name"]}, status=201)
    return JsonResponse({"items": [{"id": 1, "name": "item 1"}], "count": 1})


def user(request: HttpRequest, user_id: str) -> JsonResponse:
    return JsonResponse({"id": user_id, "email": "ada@example.org"})


urlpatterns = [
    path("api/items", items),
    path("api/items/<int:pk>", item),
    path("api/users/<uuid:user_id>", user),
]
