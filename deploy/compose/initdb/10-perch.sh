#!/bin/sh
# First start of the PostgreSQL volume only: Perch's own user and database, named by its URL secret
# (postgres://USER:PASSWORD@HOST:PORT/DATABASE).
set -eu
url=$(cat "$PERCH_DATABASE_URL_FILE")
rest=${url#postgres://}
user=${rest%%:*}
rest=${rest#*:}
password=${rest%%@*}
database=${url##*/}
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -v perch_user="$user" -v perch_password="$password" -v perch_db="$database" <<'SQL'
CREATE USER :"perch_user" WITH PASSWORD :'perch_password';
CREATE DATABASE :"perch_db" OWNER :"perch_user";
SQL
