"""L13 roles: role definitions, task-to-role classification, assignment, prompt context."""
