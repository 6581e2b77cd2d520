#!/usr/bin/env bash
# Run by `bun run test` before the suite: installs or starts what the tests need and this machine lacks,
# so the README's test command is the whole set-up on a fresh Debian machine (root, Node+npm, Go, PostgreSQL).
# Each step does nothing when its part is already there; what it cannot do, it says in one line.
set -euo pipefail

say() { echo "[test-setup] $*"; }

# Debian's Chromium drives the browser tests (playwright-core cannot download its own here);
# openssl makes the throwaway CA for the HTTPS end-to-end tests. A chromium named by ORBITREPO_CHROMIUM is the user's own.
missing=()
[ -n "${ORBITREPO_CHROMIUM:-}" ] || [ -x /usr/bin/chromium ] || missing+=(chromium)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "installing ${missing[*]} (apt-get)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    say "MISSING ${missing[*]}: not root with apt-get, so not installed; the tests that need them will fail (apt-get install -y ${missing[*]})"
  fi
fi

# The PostgreSQL half of the suite uses the local server unless ORBITREPO_TEST_DATABASE_URL says otherwise
# (test/support/preload.ts); start it when it is installed but not answering.
if [ "${ORBITREPO_TEST_DATABASE_URL:-}" != off ] && command -v pg_isready >/dev/null 2>&1 && ! pg_isready -h 127.0.0.1 -p 5432 -q; then
  if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
    say "starting the local PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n 1)" main start || true
    for _ in $(seq 1 30); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 1; done
  fi
  pg_isready -h 127.0.0.1 -p 5432 -q || say "PostgreSQL is not answering on 127.0.0.1:5432: the suite will skip its PostgreSQL half"
fi
