#!/usr/bin/env bash
# Install and start a throw-away PostgreSQL on localhost for the purchases-from-database tests.
# Prints the URL to use on success; prints nothing (and exits 0) when no server can be started,
# in which case those tests skip and say why.
set -u
url="postgresql://netpersona:netpersona@127.0.0.1:5432/netpersona"
if ! command -v pg_ctlcluster >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql; } \
      >/dev/null 2>&1 || { echo "postgres: apt-get install failed" >&2; exit 0; }
  else
    echo "postgres: not installed and cannot install (not root / no apt-get)" >&2; exit 0
  fi
fi
ver=$(ls /etc/postgresql 2>/dev/null | sort -n | tail -1)
[ -n "$ver" ] || { echo "postgres: no cluster found" >&2; exit 0; }
pg_ctlcluster "$ver" main start >/dev/null 2>&1 || true
for _ in $(seq 1 30); do
  su postgres -c "psql -qtAc 'select 1'" >/dev/null 2>&1 && break
  sleep 1
done
su postgres -c "psql -qtAc \"DO \\\$\\\$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname='netpersona') THEN CREATE ROLE netpersona LOGIN PASSWORD 'netpersona'; END IF; END\\\$\\\$;\"" >/dev/null 2>&1 \
  || { echo "postgres: server did not start" >&2; exit 0; }
su postgres -c "psql -qtAc \"SELECT 1 FROM pg_database WHERE datname='netpersona'\"" | grep -q 1 \
  || su postgres -c "createdb -O netpersona netpersona" >/dev/null 2>&1
echo "$url"
