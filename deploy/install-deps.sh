#!/usr/bin/env bash
# Installs the Debian 12 packages the gateway needs to build, run, test and package. Idempotent: does
# nothing when everything is already installed.
set -euo pipefail

packages=(
  cmake g++ make pkg-config
  libpistache-dev libcurl4-openssl-dev libsqlite3-dev nlohmann-json3-dev prometheus-cpp-dev
  libyaml-cpp-dev libssl-dev libspdlog-dev libfmt-dev libcli11-dev libhowardhinnant-date-dev tzdata
  googletest libgtest-dev libgmock-dev
  python3 python3-yaml curl ca-certificates
  dpkg-dev file # dpkg-shlibdeps and file: the Debian package's dependencies (cpack -G DEB)
  prometheus    # promtool and prometheus: the metrics tests, the alert rules' and dashboard's tests
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
