"""
The status page, the daily report page and the status JSON API. Thin: access
checks here, facts in `web.status.data` (and `web.status.reportpage`), chart
geometry in `web.status.charts`.
"""

import functools
import time

from django.contrib.auth.views import redirect_to_login
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render

from web.status import access, data, reportpage

REFRESH_SECONDS = 30


def json_response(payload, status=200, **headers):
    """A JSON response that no cache keeps and no browser takes for HTML."""
    response = JsonResponse(payload, status=status)
    response["Cache-Control"] = "no-store"
    response["X-Content-Type-Options"] = "nosniff"
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    return response


def json_error(status, message, **headers):
    """`{"error": message}` with the given HTTP status."""
    return json_response({"error": message, "status": status}, status=status, **headers)


def api_view(view):
    """GET (and HEAD) only, and only for a session, the token, or a public site."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        if request.method not in ("GET", "HEAD"):
            return json_error(405, "method not allowed; use GET", Allow="GET, HEAD")
        denial = access.api_denial(request)
        if denial:
            return json_error(401, denial, WWW_Authenticate='Bearer realm="timmy-status"')
        return view(request, *args, **kwargs)

    return wrapper


@api_view
def api_status(request):
    """`/api/status`: everything `@status` shows, as JSON."""
    return json_response(data.snapshot())


@api_view
def api_service_history(request, service):
    """`/api/status/<service>/history?hours=24`: one service's downsampled history."""
    try:
        hours = data.parse_hours(request.GET.get("hours"))
    except data.BadHours as err:
        return json_error(400, str(err))
    try:
        history = data.service_history(service, hours)
    except data.UnknownService:
        return json_error(404, f"no service called '{service[:64]}'; services: {', '.join(data.service_names())}")
    return json_response(history)


def page_view(view):
    """Pages: only for whoever may see the status page (else the login page), GET and HEAD only."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        if not access.page_allowed(request):
            return redirect_to_login(request.get_full_path())
        if request.method not in ("GET", "HEAD"):
            return json_error(405, "method not allowed; use GET", Allow="GET, HEAD")
        response = view(request, *args, **kwargs)
        response["Cache-Control"] = "no-store"
        return response

    return wrapper


@page_view
def status_page(request):
    """`/status/`: the status page (or, with `?partial=1`, just its live part)."""
    now = time.time()
    context = {
        "status": data.snapshot(now),
        "panels": data.service_panels(now),
        "hours": data.DEFAULT_HOURS,
        "refresh_seconds": REFRESH_SECONDS,
        "public": access.is_public(),
    }
    template = "status/_live.html" if request.GET.get("partial") else "status/status.html"
    return render(request, template, context)


@page_view
def report_page(request, day=None):
    """`/status/report/` (today so far) and `/status/report/<YYYY-MM-DD>/`: the daily report.

    A day that is not a date, or has not begun, is a 404.
    """
    return render(request, "status/report.html", reportpage.context(reportpage.day_or_404(day)))


@page_view
def report_markdown(request, day):
    """`/status/report/<YYYY-MM-DD>/markdown`: the report as its Markdown file."""
    day = reportpage.day_or_404(day)
    response = HttpResponse(reportpage.markdown(day), content_type="text/markdown; charset=utf-8")
    response["Content-Disposition"] = f'inline; filename="report-{day.isoformat()}.md"'
    response["X-Content-Type-Options"] = "nosniff"  # player text inside: never sniffed as HTML
    return response
