"""L09 gateway, Python side: the health aggregator behind Envoy's ``/health`` route."""
