"""Aggregate snapshots."""
