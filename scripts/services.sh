#!/usr/bin/env bash
# PostgreSQL (with pgvector) and Redis for the scale-out tests and benchmarks: throwaway instances on
# loopback, data under $CONVOAI_SERVICES_DIR (default /tmp/convoai-services), never the system services.
#
#   scripts/services.sh install   Debian packages: postgresql, redis-server, pgvector (see below)
#   scripts/services.sh start     install when missing, then start both (no-op for one already running)
#   scripts/services.sh stop      stop both and delete the data directory
#   scripts/services.sh status    exit 0 when both answer
#   scripts/services.sh env       print CONVOAI_KB_URL and CONVOAI_REDIS_URL for these instances
#
# pgvector: Debian 12 has no postgresql-15-pgvector package; when apt can't find one, the pgvector
# source package of the next Debian release is fetched with apt-get source (a private apt list in the
# data directory, the system's apt sources are not touched) and built against postgresql-server-dev-15.
# Ports sit below the ephemeral range (32768+), where an outgoing connection could already hold them.
# Exit codes: 0 ok, 3 the packages cannot be installed (not root, no apt, no network), 1 other failure.
set -euo pipefail
DIR=${CONVOAI_SERVICES_DIR:-/tmp/convoai-services}
PG_PORT=${CONVOAI_PG_PORT:-25432}
REDIS_PORT=${CONVOAI_REDIS_PORT:-26379}
PG_VERSION=15
PG_BIN=/usr/lib/postgresql/$PG_VERSION/bin
DB=convoai

log() { echo "services: $*" >&2; }
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
has_pgvector() { [ -f "/usr/share/postgresql/$PG_VERSION/extension/vector.control" ]; }
installed() { [ -x "$PG_BIN/postgres" ] && command -v redis-server >/dev/null && has_pgvector; }

build_pgvector() {
  local work="$DIR/pgvector-src"
  rm -rf "$work" && mkdir -p "$work/lists/partial" "$work/etc/sources.list.d"
  cat >"$work/etc/sources.list.d/src.sources" <<SRC
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
  local opts=(-o "Dir::Etc::sourcelist=/dev/null" -o "Dir::Etc::sourceparts=$work/etc/sources.list.d"
    -o "Dir::State::Lists=$work/lists" -o "APT::Sandbox::User=root")
  apt-get "${opts[@]}" update -qq
  (cd "$work" && apt-get "${opts[@]}" source -qq --download-only pgvector >/dev/null \
    && dpkg-source -x --no-check ./pgvector_*.dsc src >/dev/null)
  make -s -C "$work/src" PG_CONFIG="$PG_BIN/pg_config" with_llvm=no OPTFLAGS="" >/dev/null
  make -s -C "$work/src" PG_CONFIG="$PG_BIN/pg_config" with_llvm=no install >/dev/null
  rm -rf "$work"
}

install() {
  installed && return 0
  if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
    log "PostgreSQL $PG_VERSION, pgvector and redis-server are needed: run as root on Debian, or install them"
    return 3
  fi
  log "installing postgresql-$PG_VERSION, redis-server and pgvector (Debian packages)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq || return 3
  apt-get install -y -qq --no-install-recommends "postgresql-$PG_VERSION" redis-server >/dev/null 2>&1 || return 3
  has_pgvector && return 0
  if apt-cache show "postgresql-$PG_VERSION-pgvector" >/dev/null 2>&1; then
    apt-get install -y -qq "postgresql-$PG_VERSION-pgvector" >/dev/null || return 3
  else
    apt-get install -y -qq --no-install-recommends "postgresql-server-dev-$PG_VERSION" make gcc dpkg-dev >/dev/null \
      || return 3
    log "building pgvector from the Debian source package"
    build_pgvector || return 3
  fi
  has_pgvector || return 3
}

pg_up() { "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT"; }
redis_up() { redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG; }

start() {
  install || exit $?
  mkdir -p "$DIR"
  if ! pg_up; then
    local data="$DIR/pg"
    if [ ! -f "$data/PG_VERSION" ]; then
      mkdir -p "$data" && chmod 700 "$data"
      [ "$(id -u)" -eq 0 ] && chown postgres: "$data" && chmod 755 "$DIR"
      as_pg "$PG_BIN/initdb" -D "$data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
    fi
    as_pg "$PG_BIN/pg_ctl" -D "$data" -l "$data/server.log" -w -t 30 start -o \
      "-p $PG_PORT -c listen_addresses=127.0.0.1 -k $data -c fsync=off -c max_connections=200" >/dev/null
    log "PostgreSQL on 127.0.0.1:$PG_PORT ($data)"
  fi
  if ! "$PG_BIN/psql" -qtA -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres \
      -c "SELECT 1 FROM pg_database WHERE datname = '$DB'" | grep -q 1; then
    "$PG_BIN/psql" -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -c "CREATE DATABASE $DB"
  fi
  "$PG_BIN/psql" -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -d "$DB" -c "CREATE EXTENSION IF NOT EXISTS vector" \
    2>&1 | grep -v NOTICE >&2 || true
  if ! redis_up; then
    redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --daemonize yes --dir "$DIR" --save "" \
      --appendonly no --pidfile "$DIR/redis.pid" --logfile "$DIR/redis.log" >/dev/null
    for _ in $(seq 50); do redis_up && break; sleep 0.1; done
    redis_up || { log "redis did not start, see $DIR/redis.log"; exit 1; }
    log "Redis on 127.0.0.1:$REDIS_PORT"
  fi
}

stop() {
  if [ -f "$DIR/pg/PG_VERSION" ]; then as_pg "$PG_BIN/pg_ctl" -D "$DIR/pg" -m fast -w stop >/dev/null 2>&1 || true; fi
  if redis_up; then redis-cli -h 127.0.0.1 -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true; fi
  rm -rf "$DIR"
}

case "${1:-start}" in
  install) install ;;
  start) start ;;
  stop) stop ;;
  status) pg_up && redis_up ;;
  env)
    echo "CONVOAI_KB_URL=postgresql://postgres@127.0.0.1:$PG_PORT/$DB"
    echo "CONVOAI_REDIS_URL=redis://127.0.0.1:$REDIS_PORT/0" ;;
  *) echo "usage: $0 install|start|stop|status|env" >&2; exit 1 ;;
esac
