"""The example application's resources: articles, comments, users, files."""

from __future__ import annotations

import uuid
from io import BytesIO
from typing import Any

from django.http import FileResponse, HttpRequest, HttpResponse, JsonResponse

from akita_django.demoapp import store
from akita_django.demoapp.auth import (
    allow,
    current_user,
    error,
    login_required,
    parse_json,
)

PAGE_SIZE = 3
MAX_PAGE_SIZE = 20


def _article_json(article: store.Article) -> dict[str, Any]:
    return {
        "slug": article.slug,
        "title": article.title,
        "author": article.author,
        "tags": article.tags,
        "published": article.published,
        "comment_count": len(article.comments),
    }


def _comment_json(comment: store.Comment) -> dict[str, Any]:
    return {
        "id": comment.id,
        "author": comment.author,
        "body": comment.body,
        "created": comment.created,
    }


def _page(request: HttpRequest, items: list[dict[str, Any]]) -> HttpResponse:
    try:
        page = int(request.GET.get("page", "1"))
        size = int(request.GET.get("page_size", str(PAGE_SIZE)))
    except ValueError:
        return error(400, "page and page_size must be whole numbers.")
    if page < 1 or not 1 <= size <= MAX_PAGE_SIZE:
        return error(400, f"page must be 1 or more, page_size 1 to {MAX_PAGE_SIZE}.")
    start = (page - 1) * size
    has_next = start + size < len(items)
    return JsonResponse(
        {
            "count": len(items),
            "page": page,
            "next": page + 1 if has_next else None,
            "previous": page - 1 if page > 1 else None,
            "results": items[start : start + size],
        }
    )


@allow("GET", "POST")
def article_list(request: HttpRequest) -> HttpResponse:
    """List articles (filter by ``tag`` and ``author``), or write one."""
    if request.method == "POST":
        return _article_create(request)

    tags = request.GET.getlist("tag")
    author = request.GET.get("author")
    articles = [
        _article_json(article)
        for article in store.data.articles.values()
        if (not tags or set(tags) & set(article.tags))
        and (author is None or article.author == author)
    ]
    return _page(request, articles)


@login_required
def _article_create(request: HttpRequest) -> HttpResponse:
    body = parse_json(request)
    if isinstance(body, JsonResponse):
        return body
    title, text = body.get("title"), body.get("body")
    tags = body.get("tags", [])
    if not isinstance(title, str) or not title or not isinstance(text, str):
        return error(400, "An article needs a title and a body, both strings.")
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        return error(400, "tags must be a list of strings.")
    slug = "-".join(title.lower().split())[:50]
    user = current_user(request)
    with store.lock():
        if slug in store.data.articles:
            return error(409, f"An article with the slug {slug!r} exists.")
        article = store.Article(
            slug=slug,
            title=title,
            body=text,
            author=user.username if user else "",
            tags=tags,
            published="2026-12-01T12:00:00+00:00",
        )
        store.data.articles[slug] = article
    answer = JsonResponse(_article_json(article), status=201)
    answer["Location"] = f"/api/articles/{slug}/"
    return answer


@allow("GET", "PATCH", "DELETE")
def article_detail(request: HttpRequest, slug: str) -> HttpResponse:
    """Read, change or delete one article."""
    article = store.data.articles.get(slug)
    if article is None:
        return error(404, f"There is no article {slug!r}.")
    if request.method == "GET":
        return JsonResponse({**_article_json(article), "body": article.body})
    return _article_change(request, article)


@login_required
def _article_change(request: HttpRequest, article: store.Article) -> HttpResponse:
    user = current_user(request)
    if user is None or not (user.is_editor or user.username == article.author):
        return error(403, "Only editors and the author may change an article.")
    if request.method == "DELETE":
        with store.lock():
            store.data.articles.pop(article.slug, None)
        return HttpResponse(status=204)

    body = parse_json(request)
    if isinstance(body, JsonResponse):
        return body
    if "title" in body and isinstance(body["title"], str):
        article.title = body["title"]
    if "tags" in body and isinstance(body["tags"], list):
        article.tags = [str(tag) for tag in body["tags"]]
    return JsonResponse({**_article_json(article), "body": article.body})


@allow("GET", "POST")
def comment_list(request: HttpRequest, slug: str) -> HttpResponse:
    """List an article's comments, or add one from a form."""
    article = store.data.articles.get(slug)
    if article is None:
        return error(404, f"There is no article {slug!r}.")
    if request.method == "GET":
        return _page(request, [_comment_json(c) for c in article.comments])

    user = current_user(request)
    if user is None:
        return error(401, "Sign in to comment.")
    text = request.POST.get("body", "").strip()
    if not text:
        return error(400, "A comment needs a body.")
    with store.lock():
        comment = store.Comment(
            id=store.data.next_comment_id,
            author=user.username,
            body=text,
            created="2026-12-01T12:30:00+00:00",
        )
        store.data.next_comment_id += 1
        article.comments.append(comment)
    return JsonResponse(_comment_json(comment), status=201)


@allow("GET")
def comment_detail(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """Read one comment."""
    article = store.data.articles.get(slug)
    comment = (
        next((c for c in article.comments if c.id == pk), None) if article else None
    )
    if comment is None:
        return error(404, f"There is no comment {pk} on {slug!r}.")
    return JsonResponse(_comment_json(comment))


@allow("GET")
def user_detail(request: HttpRequest, user_id: uuid.UUID) -> HttpResponse:
    """Read a user's profile; HTTP basic credentials of an editor needed."""
    caller = current_user(request)
    if caller is None:
        answer = error(401, "HTTP basic credentials are required.")
        answer["WWW-Authenticate"] = 'Basic realm="api"'
        return answer
    if not caller.is_editor and caller.id != user_id:
        return error(403, "Only editors may read other profiles.")
    user = next((u for u in store.data.users.values() if u.id == user_id), None)
    if user is None:
        return error(404, f"There is no user {str(user_id)!r}.")
    return JsonResponse(user_json_with_stats(user))


def user_json_with_stats(user: store.User) -> dict[str, Any]:
    """Return a user's profile with how much they wrote."""
    written = [
        a.slug for a in store.data.articles.values() if a.author == user.username
    ]
    return {
        "id": str(user.id),
        "username": user.username,
        "email": user.email,
        "articles": written,
    }


@allow("GET")
def attachment_download(request: HttpRequest, file_id: uuid.UUID) -> HttpResponse:
    """Stream an attachment as a file download."""
    content = store.data.attachments.get(file_id)
    if content is None:
        return error(404, f"There is no attachment {str(file_id)!r}.")
    return FileResponse(BytesIO(content), as_attachment=True, filename=f"{file_id}.pdf")


@allow("GET")
def stats(request: HttpRequest, year: int) -> HttpResponse:
    """Count the articles of a year; the statistics backend fails for old ones."""
    if year < 2000:
        raise RuntimeError(f"The statistics of {year} are archived offline.")
    if year > 2026:
        return error(503, f"The statistics of {year} are not ready yet.")
    count = sum(a.published.startswith(str(year)) for a in store.data.articles.values())
    return JsonResponse({"year": year, "articles": count})


@allow("GET")
def health(request: HttpRequest) -> HttpResponse:
    """Say that the application runs; the benchmark's JSON view."""
    return JsonResponse({"status": "ok", "articles": len(store.data.articles)})
