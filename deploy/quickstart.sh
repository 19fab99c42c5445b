#!/usr/bin/env bash
# One command from a fresh Debian 12 clone to a running gateway: installs the packages, builds,
# and starts e2b-gateway on port 8080 with the shipped config.yaml.
set -euo pipefail
cd "$(dirname "$0")/.."

deploy/install-deps.sh
# Only the gateway and its plugins. tests/run.sh configures the same tree with the tests enabled
# again; the gateway's own objects are shared and not rebuilt either way.
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DGATEWAY_BUILD_TESTS=OFF >/dev/null
cmake --build build -j"$(nproc)"

# A client key for this installation, unless one is configured already. It is shown once and
# kept in .env (readable only by you).
if [ -z "${E2B_API_KEY:-}" ] && ! grep -qs '^E2B_API_KEY=' .env; then
  key="sk-e2b-$(head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')"
  umask 077
  echo "E2B_API_KEY=$key" >> .env
  echo "Created a client key (stored in .env; shown only now): $key" >&2
fi
mkdir -p data
exec ./build/e2b-gateway serve --config "${E2B_CONFIG:-config.yaml}"
