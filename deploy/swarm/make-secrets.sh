#!/bin/sh
# Makes the stack's Docker secrets on a Swarm manager, once: a secret that exists is kept. Values go
# from a pipe into `docker secret create`, never to the terminal or a file, except the first
# administrator's password, printed once (it is needed to sign in).
set -eu
random() { head -c 48 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c "$1"; }
make() {
  if docker secret inspect "$1" >/dev/null 2>&1; then echo "kept    $1"; return; fi
  printf '%s' "$2" | docker secret create "$1" - >/dev/null
  echo "created $1"
}
make kestra_db_password "$(random 32)"
make kestra_basic_auth_password "Kp1$(random 29)"
make kestra_encryption_key "$(head -c 32 /dev/urandom | base64)"
make perch_database_url "postgres://perch:$(random 32)@postgres:5432/perch"
# Perch's audit key and master key (32 bytes as hex): one pair for all replicas. Keep a copy in a vault.
hexkey() { head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n'; }
make perch_audit_key "$(hexkey)"
make perch_master_key "$(hexkey)"
if ! docker secret inspect perch_admin_password >/dev/null 2>&1; then
  password=$(random 24)
  make perch_admin_password "$password"
  echo "first administrator's password (shown once): $password"
else
  echo "kept    perch_admin_password"
fi
