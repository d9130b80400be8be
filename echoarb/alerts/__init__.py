"""Alerts: rules over spread events, delivered to webhooks and the log without blocking the feed."""
