"""L00 Secrets: versioned secrets, envelope-encrypted at rest, with per-secret access and audit."""
