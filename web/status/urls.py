"""
Routes of the status page, the daily report page and the status API.

Included first in web/urls.py, so `/api/status...` is reached before
Evennia's own REST API (mounted under `/api/` when REST_API_ENABLED).
"""

from django.urls import path

from web.status import views

app_name = "status"

urlpatterns = [
    path("status/", views.status_page, name="page"),
    path("status/report/", views.report_page, name="report"),
    path("status/report/<str:day>/", views.report_page, name="report_day"),
    path("status/report/<str:day>/markdown", views.report_markdown, name="report_markdown"),
    path("api/status", views.api_status, name="api"),
    path("api/status/", views.api_status),
    path("api/status/<str:service>/history", views.api_service_history, name="history"),
    path("api/status/<str:service>/history/", views.api_service_history),
]
