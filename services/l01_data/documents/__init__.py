"""Document collections: JSON read models with revisions, filters and pages."""
