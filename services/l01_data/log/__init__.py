"""The event log: appends, reads, streams, subscriptions, the outbox and retention."""
