"""L12: the natural-language layer: a catalog of the mesh's RPCs, invocation by name."""
