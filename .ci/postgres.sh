#!/usr/bin/env bash
# Install and start a throw-away PostgreSQL on localhost for the purchases-from-database tests.
# Prints the URL to use on success; prints nothing (and exits 0) when no server can be started,
# in which case those tests skip and say why. The reason goes to stderr. Safe to run twice.
set -u
user=netpersona
password=netpersona
db=netpersona
port=${NETPERSONA_PG_PORT:-5432}
url="postgresql://$user:$password@127.0.0.1:$port/$db"

fail() { echo "postgres: $*" >&2; exit 0; }

as_postgres() {  # run a command as the postgres OS user
  if [ "$(id -u)" = 0 ]; then
    if command -v runuser >/dev/null 2>&1; then runuser -u postgres -- "$@"
    else su postgres -s /bin/sh -c "$(printf '%q ' "$@")"; fi
  elif [ "$(id -un)" = postgres ]; then "$@"
  else sudo -n -u postgres "$@"; fi
}

# 1. the server software
if ! command -v pg_ctlcluster >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql; } \
      >/dev/null 2>&1 || fail "apt-get install postgresql failed (no network?)"
  else
    fail "not installed and cannot install (not root, or no apt-get)"
  fi
fi

# 2. a cluster (the package creates one; a slim image may not have)
ver=$(ls /etc/postgresql 2>/dev/null | sort -n | tail -1)
if [ -z "$ver" ]; then
  ver=$(ls /usr/lib/postgresql 2>/dev/null | sort -n | tail -1)
  [ -n "$ver" ] || fail "no PostgreSQL version found under /usr/lib/postgresql"
  pg_createcluster "$ver" main -p "$port" >/dev/null 2>&1 || fail "pg_createcluster $ver failed"
fi

# 3. running, and answering
pg_ctlcluster "$ver" main start >/dev/null 2>&1 || true
ready=""
for _ in $(seq 1 30); do
  if as_postgres psql -p "$port" -qtAc 'select 1' >/dev/null 2>&1; then ready=1; break; fi
  sleep 1
done
[ -n "$ready" ] || fail "server $ver/main did not start (see /var/log/postgresql/)"

# 4. the role (password reset every time, so a stale one cannot break the URL) and database
as_postgres psql -p "$port" -v ON_ERROR_STOP=1 -qtA >/dev/null 2>&1 <<SQL || fail "cannot create role $user"
DO \$\$BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$user') THEN
    CREATE ROLE $user LOGIN PASSWORD '$password';
  ELSE
    ALTER ROLE $user LOGIN PASSWORD '$password';
  END IF;
END\$\$;
SQL
if ! as_postgres psql -p "$port" -qtAc "SELECT 1 FROM pg_database WHERE datname = '$db'" \
    | grep -q 1; then
  as_postgres createdb -p "$port" -O "$user" "$db" >/dev/null 2>&1 || fail "createdb $db failed"
fi

# 5. the URL works over TCP with the password, as the tests will use it
PGPASSWORD=$password psql -h 127.0.0.1 -p "$port" -U "$user" -d "$db" -qtAc 'select 1' \
  >/dev/null 2>&1 || fail "cannot log in over TCP as $user (check pg_hba.conf)"
echo "$url"
