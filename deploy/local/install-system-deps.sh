#!/usr/bin/env bash
# Installs, from Debian's packages, what the local stack and the tests need and this machine lacks:
# a JDK and Maven (Kafka from Maven Central), PostgreSQL, MariaDB and Redis (started by the tests on loopback; MariaDB
# is the real server behind the tests of the MySQL/MariaDB dialect of SQL stores), Chromium for the browser tests and
# Go and npm to build Mailpit.
set -euo pipefail

missing=()
command -v java >/dev/null 2>&1 || missing+=(default-jdk-headless)
command -v mvn >/dev/null 2>&1 || missing+=(maven)
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || missing+=(postgresql)
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
{ command -v mariadbd || [ -x /usr/sbin/mariadbd ]; } >/dev/null 2>&1 || missing+=(mariadb-server)
python3 -c "import venv, ensurepip" >/dev/null 2>&1 || missing+=(python3-venv)
# The browser tests drive Debian's Chromium with Playwright (no browser build is ever downloaded).
[ -x /usr/bin/chromium ] || missing+=(chromium)
# Mailpit, the local SMTP server, is built from its Go module (make mailpit).
command -v go >/dev/null 2>&1 || [ -x /usr/local/go/bin/go ] || missing+=(golang-go)
command -v npm >/dev/null 2>&1 || missing+=(npm)  # Mailpit's web page is built with npm

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "installing system packages: ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO=sudo; else
    echo "error: need root (or sudo) to apt-get install ${missing[*]}" >&2; exit 1
  fi
else
  SUDO=
fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
