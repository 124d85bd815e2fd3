"""L02 agent runtime: agents as event-sourced resources, task runs as durable workflows."""
