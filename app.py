"""hotline1022: the Chalice app and every event source it answers: the HTTP routes, registered here from one
blueprint per audience (chalicelib/web/routes_*.py), and the queue, topic and schedule handlers below.
Each one parses, calls chalicelib once, returns."""
from __future__ import annotations

from typing import Any

from chalice import Chalice, Cron, Rate

from chalicelib.web import routes_exports
from chalicelib.web import routes_kb
from chalicelib.web import routes_hoidap
from chalicelib.web import routes_calls
from chalicelib.web import routes_telephony
from chalicelib.web import routes_routing_model
from chalicelib.web import (routes_admin, routes_citizen, routes_common, routes_open311, routes_public_api,
                            routes_staff, routes_stats, routes_webhooks)

app = Chalice(app_name="hotline1022")


@app.middleware("all")
def observability(event: Any, get_response: Any) -> Any:
    """Tags every log line with the request id; never with request content."""
    from chalicelib.observability import logger

    log = logger()
    context = getattr(event, "lambda_context", None) or getattr(event, "context", None)
    log.append_keys(request_id=getattr(context, "aws_request_id", None))
    try:
        return get_response(event)
    finally:
        log.remove_keys(["request_id", "ticket"])


@app.middleware("http")
def base_path(event: Any, get_response: Any) -> Any:
    """Every URL a response carries starts with the path the client used before the route: '/api'
    on the execute-api URL, '' on a custom domain (chalicelib/web/urls.py)."""
    from chalicelib.web.urls import base_path_of, reset_base, use_base

    token = use_base(base_path_of((event.context or {}).get("path", ""), event.path, event.uri_params))
    try:
        return get_response(event)
    finally:
        reset_base(token)


@app.middleware("http")
def bounded_query(event: Any, get_response: Any) -> Any:
    """A query string beyond its bounds (count, length) is a 400 before any route reads it."""
    from chalicelib.web.http import refuse_unbounded_query

    return refuse_unbounded_query(event.path, event.uri_params, event.query_params) or get_response(event)


# HTTP routes: one blueprint per audience, each with its full paths (no url_prefix)
app.register_blueprint(routes_citizen.bp)      # citizen pages and the scripts they load
app.register_blueprint(routes_public_api.bp)   # the public JSON API, /api/v1
app.register_blueprint(routes_webhooks.bp)     # SMS and Zalo providers
app.register_blueprint(routes_open311.bp)      # Open311 GeoReport v2
app.register_blueprint(routes_staff.bp)        # the staff console and the staff JSON API
app.register_blueprint(routes_admin.bp)        # reference data, the admin API, personal-data requests
app.register_blueprint(routes_stats.bp)        # statistics: staff figures, the tickets behind them, public monthly figures
app.register_blueprint(routes_exports.bp)      # statistics downloads, export jobs, the monthly report
app.register_blueprint(routes_hoidap.bp)       # the public Q&A /hoi-dap and its suggestions while a question is typed
app.register_blueprint(routes_kb.bp)           # the knowledge base's staff pages, /staff/hoi-dap
app.register_blueprint(routes_calls.bp)        # telephony pages: duty roster, call log, call tasks, screen-pop
app.register_blueprint(routes_telephony.bp)    # Stringee: answer_url (SCCO), call events, next operator, voicemail
app.register_blueprint(routes_routing_model.bp)  # routing that learns: models, history, retrain, rollback
app.register_blueprint(routes_common.served)   # no routes: gives the helpers the request being served


# Event handlers (deployed as their own Lambda functions; devstack drives the same objects locally)


@app.on_sqs_message(queue="hotline-routing", batch_size=10)
def route_tickets(event: Any) -> dict[str, Any]:
    from chalicelib.workers import route_batch

    return route_batch(event)


@app.on_sqs_message(queue="hotline-inbound", batch_size=10)
def handle_inbound(event: Any) -> dict[str, Any]:
    from chalicelib.workers import inbound_batch

    return inbound_batch(event)


# 3 per batch: each may take two provider calls of up to 8 s, inside the function's 60 s (infra/chalice-overlay.json)
@app.on_sqs_message(queue="hotline-notifications", batch_size=3)
def send_notifications(event: Any) -> dict[str, Any]:
    from chalicelib.workers import notify_batch

    return notify_batch(event)


def _scheduled_at(event: Any) -> Any:
    """The jobs' `now`: the time the event was sent for (EventBridge's `time`) when it is within
    SCHEDULE_CLOCK_SKEW_S of the real time, else the real time (chalicelib/domain/clock.py)."""
    from datetime import datetime, timezone

    from chalicelib.config import settings
    from chalicelib.domain.clock import scheduled_now
    from chalicelib.observability import logger

    now, refused = scheduled_now(getattr(event, "time", None), datetime.now(timezone.utc),
                                 settings().schedule_clock_skew_s)
    if refused:
        logger().warning("scheduled event's time too far from the real time; using the real time",
                         extra={"skew_limit_s": settings().schedule_clock_skew_s})
    return now


@app.schedule(Rate(5, unit=Rate.MINUTES))
def sweep_unrouted(event: Any) -> dict[str, int]:
    from chalicelib.services.delivery import requeue_stale
    from chalicelib.services.routing import requeue_unrouted

    now = _scheduled_at(event)
    return {"requeued": requeue_unrouted(now), "notifications_requeued": requeue_stale(now)}


@app.schedule(Rate(5, unit=Rate.MINUTES))
def callback_reminders(event: Any) -> dict[str, int]:
    from chalicelib.services.schedules import callback_reminders

    return {"sent": callback_reminders(_scheduled_at(event))}


@app.schedule(Rate(15, unit=Rate.MINUTES))
def deadline_watch(event: Any) -> dict[str, int]:
    from chalicelib.services.schedules import deadline_watch

    return deadline_watch(_scheduled_at(event))


# 07:00-08:50 in Vietnam (00:00-01:50 UTC), every 10 minutes: each run sends the next page of agencies
@app.schedule(Cron("0,10,20,30,40,50", "0,1", "*", "*", "?", "*"))
def daily_digest(event: Any) -> dict[str, int]:
    from chalicelib.services.schedules import daily_digest

    return {"sent": daily_digest(_scheduled_at(event))}


# 02:00-04:50 in Vietnam (19:00-21:50 UTC), every 10 minutes: each run applies the retention schedule to
# the tickets whose time has come, a page at a time, until none is due (the later runs then find none)
@app.schedule(Cron("0,10,20,30,40,50", "19,20,21", "*", "*", "?", "*"))
def anonymise_expired(event: Any) -> dict[str, int]:
    from chalicelib.services.privacy import RUN_PAGES, RUN_SECONDS, anonymise_expired

    return anonymise_expired(_scheduled_at(event), pages=RUN_PAGES, seconds=RUN_SECONDS)


# 01:30 in Vietnam (18:30 UTC): yesterday's anonymised ticket facts, and the days of tickets changed
# yesterday, to S3 for Athena (chalicelib/services/analytics_export.py)
@app.schedule(Cron("30", "18", "*", "*", "?", "*"))
def export_analytics(event: Any) -> dict[str, int]:
    from chalicelib.services.analytics_export import nightly

    return nightly(_scheduled_at(event))


# The search index's one writer: adds new tickets, re-reads changed ones, drops removed personal data
# (chalicelib/services/search.py); invoked with {"detail": {"rebuild": true}} it rebuilds every month's file.
# It keeps the current time, not the event's: its high-water mark is over tickets' real creation times.
@app.schedule(Rate(5, unit=Rate.MINUTES))
def index_search(event: Any) -> dict[str, int]:
    from chalicelib.services import search

    return search.rebuild() if (getattr(event, "detail", None) or {}).get("rebuild") else search.index()


# Every minute: the waiting export jobs (large ticket lists to files in S3), and on the 1st of a month,
# from 08:00 in Vietnam, last month's report e-mailed to the leadership list once (chalicelib/services/exports.py)
@app.schedule(Rate(1, unit=Rate.MINUTES))
def reports(event: Any) -> dict[str, int]:
    from chalicelib.services.exports import reports

    return reports(_scheduled_at(event))


# 06:00 in Vietnam (23:00 UTC): knowledge-base articles past their valid-until are withdrawn and marked
# expired, and their owners e-mailed once (search hides them from that day on anyway)
@app.schedule(Cron("0", "23", "*", "*", "?", "*"))
def kb_expiry(event: Any) -> dict[str, int]:
    from chalicelib.services.kb import expire_due

    return expire_due(_scheduled_at(event))


# Every 10 minutes: an admin's "retrain now" is served; at 02:30 in Vietnam the daily run. The router
# retrains on the operators' corrections; a new model is used only when it is not worse
# (chalicelib/services/model_training.py)
@app.schedule(Rate(10, unit=Rate.MINUTES))
def retrain_routing(event: Any) -> dict[str, Any]:
    from chalicelib.services.model_training import scheduled

    return scheduled(_scheduled_at(event))


@app.on_sns_message(topic="hotline-ses-events")
def ses_events(event: Any) -> dict[str, int]:
    import json

    from chalicelib.services.admin import record_ses_notification

    return {"recorded": record_ses_notification(json.loads(event.message))}


# Zalo's token expires on Zalo's clock: the refresh keeps the current time, whatever the event's time.
@app.schedule(Rate(12, unit=Rate.HOURS))
def refresh_zalo_token(event: Any) -> dict[str, int]:
    from chalicelib.notify.zalo import refresh

    return {"generation": refresh().generation}
