"""The tools every sandbox has: the names roles and skills may require.

L03 (tools) will serve the registry; until it answers ``ListTools`` these built-in names are
the known set.
"""

BUILTIN_TOOLS: frozenset[str] = frozenset(
    {"python_exec", "shell", "read_file", "write_file", "list_files", "http_fetch"}
)
