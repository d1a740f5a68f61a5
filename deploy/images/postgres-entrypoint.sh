#!/usr/bin/env bash
# The entrypoint of localhost/clinic-base/postgres:15 (Containerfile.postgres): the parts
# of the official postgres image's docker-entrypoint.sh that docker-compose.yml relies on.
set -Eeo pipefail

# VAR or VAR_FILE (docker secrets), as the official image
file_env() {
  local var="$1" fileVar="${1}_FILE" def="${2:-}" val="$2"
  if [ "${!var:-}" ] && [ "${!fileVar:-}" ]; then
    echo >&2 "error: both $var and $fileVar are set (but are exclusive)"; exit 1
  fi
  if [ "${!var:-}" ]; then val="${!var}"; elif [ "${!fileVar:-}" ]; then val="$(< "${!fileVar}")"; fi
  export "$var"="$val"; unset "$fileVar"
}

if [ "${1:0:1}" = '-' ]; then set -- postgres "$@"; fi

if [ "$1" = 'postgres' ] && [ "$(id -u)" = '0' ]; then
  mkdir -p "$PGDATA" /var/run/postgresql
  chown postgres:postgres "$PGDATA" /var/run/postgresql
  chmod 700 "$PGDATA"; chmod 3777 /var/run/postgresql
  exec setpriv --reuid=postgres --regid=postgres --init-groups "${BASH_SOURCE[0]}" "$@"
fi

if [ "$1" = 'postgres' ]; then
  if [ ! -s "$PGDATA/PG_VERSION" ]; then
    file_env POSTGRES_PASSWORD
    file_env POSTGRES_USER postgres
    file_env POSTGRES_DB "$POSTGRES_USER"
    file_env POSTGRES_INITDB_ARGS
    : "${POSTGRES_HOST_AUTH_METHOD:=scram-sha-256}"
    if [ -z "$POSTGRES_PASSWORD" ] && [ "$POSTGRES_HOST_AUTH_METHOD" != 'trust' ]; then
      echo >&2 "error: database is uninitialized and POSTGRES_PASSWORD is not set"; exit 1
    fi
    # shellcheck disable=SC2086
    initdb --username="$POSTGRES_USER" --pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD") \
           --auth-local=trust --auth-host="$POSTGRES_HOST_AUTH_METHOD" \
           $POSTGRES_INITDB_ARGS -D "$PGDATA"
    printf '\nhost all all all %s\n' "$POSTGRES_HOST_AUTH_METHOD" >> "$PGDATA/pg_hba.conf"

    # the first-start server: its socket only, so nothing connects over TCP (e.g. a
    # pg_isready -h 127.0.0.1 health check) until the init scripts have run
    PGUSER="$POSTGRES_USER" pg_ctl -D "$PGDATA" -o "-c listen_addresses='' -p 5432" -w start
    psql_cmd=(psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --no-password --no-psqlrc)
    if [ "$POSTGRES_DB" != 'postgres' ]; then
      "${psql_cmd[@]}" --dbname postgres --set db="$POSTGRES_DB" <<<'CREATE DATABASE :"db" ;'
    fi
    for f in /docker-entrypoint-initdb.d/*; do
      [ -e "$f" ] || continue
      case "$f" in
        *.sh)
          if [ -x "$f" ]; then echo "$0: running $f"; "$f"
          else echo "$0: sourcing $f"; . "$f"; fi ;;
        *.sql)    echo "$0: running $f"; "${psql_cmd[@]}" --dbname "$POSTGRES_DB" -f "$f" ;;
        *.sql.gz) echo "$0: running $f"; gunzip -c "$f" | "${psql_cmd[@]}" --dbname "$POSTGRES_DB" ;;
        *)        echo "$0: ignoring $f" ;;
      esac
    done
    PGUSER="$POSTGRES_USER" pg_ctl -D "$PGDATA" -m fast -w stop
    echo "PostgreSQL init process complete; ready for start up."
  fi
  exec "$@"
fi

exec "$@"
