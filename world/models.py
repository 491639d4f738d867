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
