"""Durable consumer groups and their sessions."""
