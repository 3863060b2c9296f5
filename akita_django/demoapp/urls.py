"""The example application's URLs."""

from django.urls import include, path

from akita_django.demoapp import auth, views

article_urls = [
    path("", views.article_list),
    path("<slug:slug>/", views.article_detail),
    path("<slug:slug>/comments/", views.comment_list),
    path("<slug:slug>/comments/<int:pk>/", views.comment_detail),
]

urlpatterns = [
    path("api/articles/", include(article_urls)),
    path("api/users/<uuid:user_id>/", views.user_detail),
    path("api/attachments/<uuid:file_id>/", views.attachment_download),
    path("api/stats/<int:year>/", views.stats),
    path("api/session/", auth.session_login),
    path("api/session/logout/", auth.session_logout),
    path("api/tokens/", auth.token_create),
    path("api/me/", auth.me),
    path("api/health/", views.health),
]
