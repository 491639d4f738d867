"""
Routes of the status page and the status API.

Included first in web/urls.py, so `/api/status...` is reached before
Evennia's own REST API (mounted under `/api/` when REST_API_ENABLED).
"""

from django.urls import path

from web.status import views

app_name = "status"

urlpatterns = [
    path("status/", views.status_page, name="page"),
    path("api/status", views.api_status, name="api"),
    path("api/status/", views.api_status),
    path("api/status/<str:service>/history", views.api_service_history, name="history"),
    path("api/status/<str:service>/history/", views.api_service_history),
]
