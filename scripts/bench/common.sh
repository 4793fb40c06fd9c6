# Sourced by scripts/bench-ab and scripts/bench-instructions: a work folder
# and the processes started, both cleaned up on exit; a zero-latency mock;
# a gateway config of two models in front of it.

work=$(mktemp -d)
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait "${pids[@]}" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# start_mock BINARY: a zero-latency mock provider on $mock_port.
start_mock() {
  mock_port=$(free_port)
  "$1" mock --listen "127.0.0.1:$mock_port" >"$work/mock.log" 2>&1 &
  pids+=($!)
}

# gateway_config FILE PORT [SERVER_SETTINGS]: a gateway on PORT in front of the mock.
gateway_config() {
  cat >"$1" <<CONFIG
server: { listen: "127.0.0.1:$2"${3:+, $3} }
providers: { mock: { kind: openai, base_url: "http://127.0.0.1:$mock_port/v1" } }
models:
  m0: { provider: mock, model: upstream-0 }
  m1: { provider: mock, model: upstream-1 }
routes: { chat: { targets: [m0, m1] } }
CONFIG
}
