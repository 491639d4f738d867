"""
The outbox: notifications to Gitea that survive Gitea being down.

A message is written in the same transaction as the incident change it
reports. The worker delivers messages strictly in order (a message waiting
for a retry holds back the ones after it), each in a worker thread through
`gitea.send`, and records the outcome on the reactor thread:

- success: marked sent (a create stores the issue number on the incident);
- timeout, connection error, 5xx, 429: retried with capped exponential
  backoff and jitter;
- 401, 403, 404, 422 and the like: dead-lettered, with an alert on `ops`.

After a crash between a successful POST and marking it sent, the retry finds
the issue by its marker line (the incident id in the body) instead of making
a second one. Bodies and comments are Markdown made by render.py: every
untrusted part (summary, fingerprint, notes) is an indented code block, so
Gitea shows it literally and no summary can imitate a marker line.
"""

import random
import time

from django.conf import settings
from django.db import transaction
from evennia.utils import logger
from twisted.internet import defer, threads

from world.heartbeat.transitions import announce_ops
from world.incidents import config, gitea, render
from world.models import OutboxMessage
from world.presentation import plain_text

_STATE = {"delivering": False}


def marker(incident):
    """The text in a Gitea issue body that identifies this incident."""
    return f"timmy-incident-{incident.id}"


def enqueue_create(incident, now):
    """Queue the Gitea issue for an incident that reached level 3."""
    if not config.gitea_configured():
        return None
    opened = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(incident.opened_at))
    body = render.gitea_issue_body(incident, marker(incident), opened)
    title = f"[{incident.severity}] {plain_text(incident.summary, 190)}"
    return _enqueue(incident, "create", now, title=title, body=body, labels=[incident.severity])


def enqueue_comment(incident, text, now):
    """Queue a comment on the incident's Gitea issue."""
    if not config.gitea_configured():
        return None
    return _enqueue(incident, "comment", now, body=render.gitea_comment(text))


def enqueue_close(incident, text, now):
    """Queue a closing comment and the close of the incident's Gitea issue."""
    if not config.gitea_configured():
        return None
    return _enqueue(incident, "close", now, body=render.gitea_comment(text))


def _enqueue(incident, kind, now, **payload):
    payload["marker"] = marker(incident)
    return OutboxMessage.objects.create(incident=incident, kind=kind, payload=payload,
                                        created_at=now, next_attempt_at=now)


def head(now):
    """The next message to deliver, if it is due (FIFO over pending messages)."""
    first = OutboxMessage.objects.filter(state=OutboxMessage.PENDING).order_by("id").first()
    if first and first.next_attempt_at <= now:
        return first
    return None


def request_for(message):
    """The plain dict a worker thread needs (no ORM objects cross threads)."""
    request = dict(message.payload)
    request["kind"] = message.kind
    request["issue"] = message.incident.gitea_issue
    return request


def client():
    """A Gitea client from settings."""
    return gitea.GiteaClient(settings.GITEA_URL, settings.GITEA_TOKEN, settings.GITEA_REPO,
                             timeout=settings.GITEA_TIMEOUT)


def backoff(attempts, rng=random):
    """Seconds to wait before attempt `attempts + 1`: capped exponential, jittered."""
    base, cap = settings.OUTBOX_RETRY_BASE, settings.OUTBOX_RETRY_CAP
    delay = min(cap, base * (2 ** max(0, attempts - 1)))
    return delay / 2 + rng.uniform(0, delay / 2)


def deliver_due(run=None, make_client=client, clock=time.time):
    """Deliver due messages in order until one must wait; return a Deferred.

    Args:
        run (callable, optional): How to run `gitea.send` off the reactor;
            `threads.deferToThread` by default. Tests pass a synchronous runner.
        make_client (callable): Builds the Gitea client.
        clock (callable): The time source.

    Returns:
        Deferred: Fires with the number of messages that reached a final state.
    """
    if _STATE["delivering"] or not config.gitea_configured():
        return defer.succeed(0)
    _STATE["delivering"] = True
    run = run or threads.deferToThread
    done = defer.Deferred()
    counted = [0]

    def step(_=None):
        message = head(clock())
        if message is None:
            return finish()
        deferred = run(gitea.send, request_for(message), make_client())
        deferred.addCallbacks(sent, failed, callbackArgs=(message.id,), errbackArgs=(message.id,))
        deferred.addCallback(step)
        deferred.addErrback(crashed)
        return None

    def sent(number, message_id):
        mark_sent(message_id, number, clock())
        counted[0] += 1

    def failed(failure, message_id):
        error = failure.value
        if isinstance(error, gitea.GiteaError) and error.retryable:
            mark_retry(message_id, str(error), clock())
            return defer.fail(_Hold())
        mark_dead(message_id, str(error) if isinstance(error, gitea.GiteaError) else repr(error), clock())
        counted[0] += 1
        return None

    def crashed(failure):
        if not failure.check(_Hold):
            logger.log_trace(f"Outbox delivery failed: {failure.getErrorMessage()}")
        return finish()

    def finish():
        _STATE["delivering"] = False
        if not done.called:
            done.callback(counted[0])

    step()
    return done


class _Hold(Exception):
    """The head message waits for a retry: stop delivering for now."""


def mark_sent(message_id, issue_number, now):
    with transaction.atomic():
        message = OutboxMessage.objects.select_related("incident").get(id=message_id)
        message.state, message.sent_at = OutboxMessage.SENT, now
        message.attempts += 1
        message.save()
        if issue_number and not message.incident.gitea_issue:
            message.incident.gitea_issue = issue_number
            message.incident.save(update_fields=["gitea_issue"])


def mark_retry(message_id, error, now):
    message = OutboxMessage.objects.get(id=message_id)
    message.attempts += 1
    message.last_error = error[:300]
    message.next_attempt_at = now + backoff(message.attempts)
    message.save()


def mark_dead(message_id, error, now):
    message = OutboxMessage.objects.get(id=message_id)
    message.attempts += 1
    message.state, message.last_error = OutboxMessage.DEAD, error[:300]
    message.save()
    announce_ops(f"|r[outbox]|n Gitea refused the {message.kind} for incident #{message.incident_id} "
                 f"({error[:80]}); it is dead-lettered. See @status.")


def counts():
    """{"pending": n, "dead": n}."""
    return {
        "pending": OutboxMessage.objects.filter(state=OutboxMessage.PENDING).count(),
        "dead": OutboxMessage.objects.filter(state=OutboxMessage.DEAD).count(),
    }
