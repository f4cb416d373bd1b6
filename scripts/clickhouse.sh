#!/usr/bin/env bash
# Local ClickHouse servers for censorscope's store tests and for a small deployment.
#
#   scripts/clickhouse.sh start  [DATA_DIR] [--shards 1|2] [--port 9000]
#   scripts/clickhouse.sh stop   [DATA_DIR]
#   scripts/clickhouse.sh status [DATA_DIR]
#
# `start` installs Debian's clickhouse-server if it is missing (apt-get, needs root), then starts
# one server per shard under DATA_DIR (default /var/tmp/censorscope-clickhouse): shard i listens
# on 127.0.0.1 native port PORT+i (9000, 9001 …), HTTP 8123+i, interserver 9009+i+10. Every server's
# config defines the clusters `censorscope_1shard` (first server only) and `censorscope_2shards`
# (both servers), so `clickhouse+cluster://127.0.0.1:9000/db?cluster=censorscope_2shards` works.
# Idempotent: a server that already answers is left alone. Waits until each answers (max 30 s).
set -euo pipefail

cmd="${1:-start}"; shift || true
data_dir="/var/tmp/censorscope-clickhouse"
if [[ $# -gt 0 && "$1" != --* ]]; then data_dir="$1"; shift; fi
shards=2
base_port=9000
while [[ $# -gt 0 ]]; do
  case "$1" in
    --shards) shards="$2"; shift 2 ;;
    --port) base_port="$2"; shift 2 ;;
    *) echo "clickhouse.sh: unknown option $1" >&2; exit 2 ;;
  esac
done

answers() {  # answers PORT -> 0 if a server answers on the native port
  clickhouse-client --host 127.0.0.1 --port "$1" --query "SELECT 1" >/dev/null 2>&1
}

install_if_missing() {
  if ! command -v clickhouse-server >/dev/null 2>&1; then
    if [[ $(id -u) -ne 0 ]]; then echo "clickhouse.sh: need root to install clickhouse-server" >&2; exit 1; fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q clickhouse-server clickhouse-client >/dev/null 2>&1 || {
      apt-get update -q >/dev/null
      apt-get install -y -q clickhouse-server clickhouse-client >/dev/null
    }
  fi
}

write_config() {  # write_config INDEX DIR
  local i="$1" dir="$2"
  local tcp=$((base_port + i)) http=$((8123 + i)) inter=$((9019 + i))
  local p0=$((base_port)) p1=$((base_port + 1))
  mkdir -p "$dir/data" "$dir/tmp" "$dir/user_files" "$dir/log" "$dir/format_schemas"
  cat >"$dir/config.xml" <<EOF
<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>$dir/log/server.log</log><errorlog>$dir/log/error.log</errorlog>
    <size>100M</size><count>2</count></logger>
  <listen_host>127.0.0.1</listen_host>
  <tcp_port>$tcp</tcp_port>
  <http_port>$http</http_port>
  <interserver_http_port>$inter</interserver_http_port>
  <interserver_http_host>127.0.0.1</interserver_http_host>
  <max_connections>256</max_connections>
  <keep_alive_timeout>3</keep_alive_timeout>
  <max_concurrent_queries>64</max_concurrent_queries>
  <uncompressed_cache_size>268435456</uncompressed_cache_size>
  <mark_cache_size>268435456</mark_cache_size>
  <path>$dir/data/</path>
  <tmp_path>$dir/tmp/</tmp_path>
  <user_files_path>$dir/user_files/</user_files_path>
  <format_schema_path>$dir/format_schemas/</format_schema_path>
  <users_config>$dir/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <timezone>UTC</timezone>
  <mlock_executable>false</mlock_executable>
  <remote_servers>
    <censorscope_1shard>
      <shard><replica><host>127.0.0.1</host><port>$p0</port></replica></shard>
    </censorscope_1shard>
    <censorscope_2shards>
      <shard><replica><host>127.0.0.1</host><port>$p0</port></replica></shard>
      <shard><replica><host>127.0.0.1</host><port>$p1</port></replica></shard>
    </censorscope_2shards>
  </remote_servers>
  <builtin_dictionaries_reload_interval>3600</builtin_dictionaries_reload_interval>
  <max_session_timeout>3600</max_session_timeout>
  <default_session_timeout>60</default_session_timeout>
</yandex>
EOF
  cat >"$dir/users.xml" <<EOF
<?xml version="1.0"?>
<yandex>
  <profiles><default><max_memory_usage>4000000000</max_memory_usage>
    <load_balancing>in_order</load_balancing></default></profiles>
  <users><default><password></password>
    <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
    <profile>default</profile><quota>default</quota></default></users>
  <quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors>
    <result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time>
  </interval></default></quotas>
</yandex>
EOF
}

start_one() {  # start_one INDEX
  local i="$1" dir="$data_dir/s$1" port=$((base_port + $1))
  if answers "$port"; then return 0; fi
  write_config "$i" "$dir"
  if [[ -f "$dir/pid" ]] && kill -0 "$(cat "$dir/pid")" 2>/dev/null; then
    :  # starting up already
  else
    (cd "$dir" && setsid clickhouse-server --config-file="$dir/config.xml" \
        >>"$dir/log/stdout.log" 2>&1 < /dev/null & echo $! >"$dir/pid")
  fi
  for _ in $(seq 1 300); do
    if answers "$port"; then return 0; fi
    sleep 0.1
  done
  echo "clickhouse.sh: server $i (port $port) did not answer; see $dir/log" >&2
  tail -n 20 "$dir/log/error.log" "$dir/log/stdout.log" >&2 2>/dev/null || true
  return 1
}

stop_all() {
  local pidfile
  for pidfile in "$data_dir"/s*/pid; do
    [[ -f "$pidfile" ]] || continue
    local pid; pid="$(cat "$pidfile")"
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid"
      for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
    fi
    rm -f "$pidfile"
  done
}

case "$cmd" in
  start)
    install_if_missing
    for ((i = 0; i < shards; i++)); do start_one "$i"; done
    echo "clickhouse.sh: $shards server(s) up on native port(s) $base_port..$((base_port + shards - 1))"
    ;;
  stop) stop_all ;;
  status)
    for ((i = 0; i < shards; i++)); do
      if answers $((base_port + i)); then echo "shard $i: up"; else echo "shard $i: down"; fi
    done
    ;;
  *) echo "usage: clickhouse.sh start|stop|status [DATA_DIR] [--shards N] [--port P]" >&2; exit 2 ;;
esac
