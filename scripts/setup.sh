#!/bin/sh
# Makes a fresh clone runnable: Debian tools the engines drive, npm packages, the build.
# Idempotent and quiet when everything is already there.
set -e
cd "$(dirname "$0")/.."

missing=""
for tool in restic:restic pgbackrest:pgbackrest pgbouncer:pgbouncer haproxy:haproxy redis-server:redis-server mariadb-dump:mariadb-client \
    patroni:patroni etcd:etcd-server etcdctl:etcd-client promtool:prometheus; do
  bin=${tool%%:*}; pkg=${tool#*:}
  command -v "$bin" >/dev/null 2>&1 || missing="$missing $pkg"
done
# The PostgreSQL server binaries (initdb, pg_ctl) live outside PATH on Debian.
if ! command -v initdb >/dev/null 2>&1 && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  missing="$missing postgresql"
fi
if [ -n "$missing" ]; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing Debian packages:$missing"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
  else
    echo "setup: missing Debian packages:$missing" >&2
    echo "setup: install them with: sudo apt-get install$missing" >&2
    exit 3
  fi
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: installing npm packages"
  npm ci --no-audit --no-fund --loglevel=error
fi
npx --no-install tsc -p tsconfig.json
