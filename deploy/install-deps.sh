#!/usr/bin/env bash
# Installs the Debian 12 packages the gateway needs to build, run and test. Idempotent: does
# nothing when everything is already installed.
set -euo pipefail

packages=(
  cmake g++ make pkg-config
  libpistache-dev libcurl4-openssl-dev libsqlite3-dev nlohmann-json3-dev prometheus-cpp-dev
  libyaml-cpp-dev libssl-dev libspdlog-dev libfmt-dev libcli11-dev libhowardhinnant-date-dev tzdata
  googletest libgtest-dev libgmock-dev
  python3 curl ca-certificates
  prometheus  # promtool: the metrics tests check a real scrape with it
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

sudo=()
if [ "$(id -u)" -ne 0 ]; then sudo=(sudo); fi
echo "installing: ${missing[*]}" >&2
"${sudo[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
