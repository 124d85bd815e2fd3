"""L08 Supervision: Cedar policies, decisions with a decision log, and human approvals."""
