#!/bin/sh
# Makes the random secrets compose.yaml reads, once: an existing file is kept, and none is printed
# except where to find the first administrator's password.
set -eu
cd "$(dirname "$0")"
# Compose (without Swarm) bind-mounts each secret file with its host owner and mode, and the
# containers read them as their own users (postgres 999, Perch 10001), not as this host user. So the
# directory is private to this user (0700: nobody else on the host reaches the files) and the files
# in it are 0644, readable by the containers' users.
umask 077
mkdir -p secrets
chmod 700 secrets
random() { head -c 48 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c "$1"; }
make() {
  [ -s "secrets/$1.txt" ] || printf '%s' "$2" > "secrets/$1.txt"
  chmod 644 "secrets/$1.txt"
}
make kestra_db_password "$(random 32)"
# Kestra's rules: at least 8 characters with an upper-case letter, a lower-case letter and a digit.
make kestra_basic_auth_password "Kp1$(random 29)"
make kestra_encryption_key "$(head -c 32 /dev/urandom | base64)"
make perch_database_url "postgres://perch:$(random 32)@postgres:5432/perch"
make perch_admin_password "$(random 24)"
echo "secrets ready in $(pwd)/secrets (the first administrator's password: secrets/perch_admin_password.txt)"
