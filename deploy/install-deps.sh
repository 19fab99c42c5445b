#!/usr/bin/env bash
# Installs the Debian 12 packages the gateway needs to build and run; with --package also what
# `cpack -G DEB` needs, with --tests also what the test suite needs. Idempotent: does nothing when
# everything is already installed.
#
#   deploy/install-deps.sh [--package] [--tests]
set -euo pipefail

packages=(
  cmake g++ make pkg-config
  libpistache-dev libcurl4-openssl-dev libsqlite3-dev nlohmann-json3-dev prometheus-cpp-dev
  libyaml-cpp-dev libssl-dev libspdlog-dev libfmt-dev libcli11-dev libhowardhinnant-date-dev tzdata
  curl ca-certificates
)
for option in "$@"; do
  case "$option" in
    # dpkg-shlibdeps and file: the Debian package's dependencies
    --package) packages+=(dpkg-dev file) ;;
    # GoogleTest; python3 for the fake upstream and the deploy tests; promtool and the Prometheus
    # server for the metrics, alert-rule and dashboard tests (kept out of a plain install: on a
    # systemd machine Debian's package also starts a Prometheus service); clang and its runtime
    # libraries (libFuzzer, the sanitizers) for the short fuzzing run
    --tests) packages+=(googletest libgtest-dev libgmock-dev python3 python3-yaml prometheus dpkg-dev file
                        clang libclang-rt-14-dev) ;;
    *)
      echo "usage: $0 [--package] [--tests]" >&2
      exit 2
      ;;
  esac
done

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
