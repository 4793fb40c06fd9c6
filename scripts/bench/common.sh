# Sourced by the bench scripts: a work folder and the processes started, both
# cleaned up on exit; a zero-latency mock; a gateway config of two models in
# front of it; an open-loop load run that prints its p50 and p99.

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

# run NAME URL BODY [HEADER...]: $rate req/s for $seconds s with oha; prints
# the p50 and p99 in ms and the success rate.
run() {
  local name=$1 url=$2 body=$3; shift 3
  local args=(); for h in "$@"; do args+=(-H "$h"); done
  oha -z "${seconds}s" -q "$rate" -c 8 --no-tui --output-format json -m POST \
    -H 'content-type: application/json' "${args[@]}" -d "$body" "$url" >"$work/$name.json"
  python3 - "$work/$name.json" "$name" <<'PY'
import json, sys
data = json.load(open(sys.argv[1]))
p = data["latencyPercentiles"]
ok = data["summary"]["successRate"]
print(f"{sys.argv[2]:<22} p50 {p['p50'] * 1000:7.3f} ms  p99 {p['p99'] * 1000:7.3f} ms  success {ok * 100:.1f}%")
PY
}
