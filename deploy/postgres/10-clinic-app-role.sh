#!/usr/bin/env bash
# The role the clinic's processes connect as (DATABASE_URL in docker-compose.yml):
# it can log in to the clinic database and create and use its tables there (the Rasa
# servers, the action server and the staff console create theirs at start), and
# nothing else: not a superuser, no new databases or roles, no replication.
#
# The postgres image runs this once, when its volume is first created
# (/docker-entrypoint-initdb.d), as the superuser POSTGRES_USER in POSTGRES_DB. The
# password comes from CLINIC_APP_PASSWORD and is read by psql itself (\getenv), so it
# never appears on a command line. A volume made before this script existed is not
# changed by it (README, "Deployment").
set -e
if [ -z "${CLINIC_APP_PASSWORD:-}" ]; then
  echo "error: CLINIC_APP_PASSWORD is not set (the clinic_app role's password)" >&2
  exit 1
fi
psql -v ON_ERROR_STOP=1 --no-psqlrc --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
     -v database="$POSTGRES_DB" <<'SQL'
\getenv app_password CLINIC_APP_PASSWORD
CREATE ROLE clinic_app LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS
  PASSWORD :'app_password';
-- only the roles named here may connect to the clinic database
REVOKE ALL ON DATABASE :"database" FROM PUBLIC;
GRANT CONNECT ON DATABASE :"database" TO clinic_app;
-- the app's tables live in the public schema and belong to the app role
GRANT USAGE, CREATE ON SCHEMA public TO clinic_app;
SQL
