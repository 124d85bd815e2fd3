"""L14 skills: versioned skill definitions, validation, search by meaning, skill sets."""
