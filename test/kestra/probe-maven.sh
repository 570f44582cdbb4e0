#!/usr/bin/env bash
# Re-checks whether the Kestra artifacts needed for a runnable server are served
# by the Maven registry reachable from this machine. Resolves only; builds nothing.
# Usage: test/kestra/probe-maven.sh [version]   (default 2.0.0)
set -u
export JAVA_HOME=/usr/lib/jvm/temurin-25-jdk-amd64
VERSION="${1:-2.0.0}"
ok=0; missing=0
for a in platform:pom cli:jar webserver:jar kestra:jar core:jar jdbc:jar jdbc-h2:jar queue-jdbc:jar \
         storage-local:jar executor:jar scheduler:jar worker:jar indexer:jar; do
  name="${a%%:*}"; type="${a##*:}"
  if mvn -B -q dependency:get -Dartifact="io.kestra:${name}:${VERSION}:${type}" -Dtransitive=false >/dev/null 2>&1; then
    echo "served   io.kestra:${name}:${VERSION}:${type}"; ok=$((ok+1))
  else
    echo "MISSING  io.kestra:${name}:${VERSION}:${type}"; missing=$((missing+1))
  fi
done
echo "served=${ok} missing=${missing}"
# A runnable server needs at least cli (main class io.kestra.cli.App) and webserver (REST API + built UI).
