# Consul agent of compose.yml: one server for the mesh, with its UI. The layers register
# themselves through the HTTP API (port 8500) with a gRPC health check the agent runs; the
# definitions in consul/services/ (generated) name them before they first start. Envoy asks
# the DNS interface (port 8600) for passing instances; other names are forwarded to
# Docker's resolver, so that Envoy also finds the L09 process by its compose name.
datacenter = "agentic"
data_dir   = "/consul/data"
server           = true
bootstrap_expect = 1
client_addr      = "0.0.0.0"
bind_addr        = "{{ GetInterfaceIP \"eth0\" }}"
log_level        = "INFO"

ui_config {
  enabled = true
}

ports {
  http = 8500
  dns  = 8600
  grpc = 8502
}

recursors = ["127.0.0.11"]

dns_config {
  # Envoy re-resolves every 5 s; a stale answer for longer would keep a moved layer away.
  service_ttl {
    "*" = "0s"
  }
  only_passing = true
}
