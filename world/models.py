"""
Database models of Timmy World's operations layer.

Evennia keeps game objects in its own tables; the operations layer keeps its
records (heartbeat history, and later incidents and their outbox) in proper
tables of its own, so they can be queried, bounded and changed in
transactions.
"""

from django.db import models


class HeartbeatSample(models.Model):
    """One probe result of one service in one heartbeat cycle."""

    service = models.CharField(max_length=64, db_index=True)
    state = models.CharField(max_length=16)
    latency_ms = models.FloatField(null=True)
    reason = models.CharField(max_length=200, blank=True)
    checked_at = models.FloatField(db_index=True, help_text="Unix time of the probe")

    class Meta:
        indexes = [models.Index(fields=["service", "checked_at"])]
        ordering = ["checked_at", "id"]

    def __str__(self):
        return f"{self.service} {self.state} @{self.checked_at:.0f}"


class Incident(models.Model):
    """Something wrong with the fleet, from first trigger to resolution.

    One open (or acknowledged) incident per fingerprint at a time: a trigger
    with the fingerprint of an unresolved incident adds to it instead.
    """

    OPEN, ACKNOWLEDGED, RESOLVED = "open", "acknowledged", "resolved"
    STATES = [(OPEN, "open"), (ACKNOWLEDGED, "acknowledged"), (RESOLVED, "resolved")]

    fingerprint = models.CharField(max_length=200, db_index=True)
    severity = models.CharField(max_length=2)
    summary = models.CharField(max_length=200)
    state = models.CharField(max_length=16, choices=STATES, default=OPEN, db_index=True)
    level = models.PositiveSmallIntegerField(default=1)
    owner = models.CharField(max_length=80, blank=True)
    source = models.CharField(max_length=32, default="manual")
    service = models.CharField(max_length=64, blank=True)
    trigger_count = models.PositiveIntegerField(default=1)
    opened_at = models.FloatField()
    acknowledged_at = models.FloatField(null=True)
    acknowledged_by = models.CharField(max_length=80, blank=True)
    resolved_at = models.FloatField(null=True)
    resolved_by = models.CharField(max_length=80, blank=True)
    next_escalation_at = models.FloatField(null=True, help_text="when an unacknowledged incident climbs")
    next_realert_at = models.FloatField(null=True, help_text="when an acknowledged incident re-alerts")
    gitea_issue = models.PositiveIntegerField(null=True)

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return f"#{self.id} {self.severity} {self.state} L{self.level}: {self.summary}"

    @property
    def is_resolved(self):
        return self.state == self.RESOLVED


class IncidentEvent(models.Model):
    """One line of an incident's timeline: what happened, who did it, when."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="events")
    at = models.FloatField()
    kind = models.CharField(max_length=16)
    actor = models.CharField(max_length=80, blank=True)
    text = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["at", "id"]


class OutboxMessage(models.Model):
    """A notification to an outside system (Gitea), delivered in order.

    Written in the same transaction as the incident change it reports, so a
    crash can lose neither; the delivery worker marks it sent or dead.
    """

    PENDING, SENT, DEAD = "pending", "sent", "dead"

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="outbox")
    kind = models.CharField(max_length=16, help_text="create, comment or close")
    payload = models.JSONField(default=dict)
    state = models.CharField(max_length=8, default=PENDING, db_index=True)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.FloatField(default=0.0)
    last_error = models.CharField(max_length=300, blank=True)
    created_at = models.FloatField()
    sent_at = models.FloatField(null=True)

    class Meta:
        ordering = ["id"]


class Silence(models.Model):
    """A maintenance window: no new incidents for a service until it ends."""

    service = models.CharField(max_length=64, db_index=True)
    reason = models.CharField(max_length=200)
    created_by = models.CharField(max_length=80)
    created_at = models.FloatField()
    until = models.FloatField()
    ended_at = models.FloatField(null=True, help_text="set when it expired or was cleared")

    class Meta:
        ordering = ["until", "id"]


class RecoveryRun(models.Model):
    """One run of a recovery playbook (world/recovery): who started it, how it ended.

    A run still `running` when the server starts again was cut short by a
    crash or a restart, and is marked `interrupted`.
    """

    RUNNING, SUCCEEDED, FAILED, INTERRUPTED = "running", "succeeded", "failed", "interrupted"

    scenario = models.CharField(max_length=16, db_index=True)
    target = models.CharField(max_length=64, blank=True)
    started_by = models.CharField(max_length=80)
    trigger = models.CharField(max_length=16, help_text="manual, agent or auto")
    state = models.CharField(max_length=16, default=RUNNING, db_index=True)
    started_at = models.FloatField(db_index=True)
    finished_at = models.FloatField(null=True)
    incident = models.ForeignKey(Incident, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="recoveries")
    summary = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return f"recovery #{self.id} {self.scenario} {self.state}"


class RecoveryStep(models.Model):
    """One step of a recovery run, with the command it ran (argv, exit code, output digest)."""

    run = models.ForeignKey(RecoveryRun, on_delete=models.CASCADE, related_name="steps")
    index = models.PositiveSmallIntegerField()
    kind = models.CharField(max_length=24)
    title = models.CharField(max_length=200)
    state = models.CharField(max_length=12, help_text="ok, failed, found (a check before), skipped")
    text = models.CharField(max_length=300, blank=True)
    argv = models.JSONField(null=True, blank=True)
    exit_code = models.IntegerField(null=True)
    duration = models.FloatField(null=True, help_text="seconds")
    output_digest = models.CharField(max_length=64, blank=True, help_text="SHA-256 of the whole output")
    output_bytes = models.PositiveIntegerField(default=0)
    output_excerpt = models.TextField(blank=True, help_text="the end of the output, bounded")
    started_at = models.FloatField()
    finished_at = models.FloatField(null=True)

    class Meta:
        ordering = ["run", "index"]
