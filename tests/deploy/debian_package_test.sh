#!/usr/bin/env bash
# Builds the Debian package of a built tree (cpack -G DEB), checks its files, dependencies and
# rendered config, then installs it on this machine, checks the installed gateway and the unit,
# runs the service binary as the e2b-gateway user on a free loopback port until /health answers,
# and purges the package again.
#
#   tests/deploy/debian_package_test.sh BUILD_DIR VERSION
#
# The install half needs root and dpkg; it refuses to run where an e2b-gateway package, config or
# state directory already exists (it would purge them). Not root: the test fails, unless
# E2B_DEPLOY_TESTS_NO_INSTALL=1 says to check the package only (then it says so loudly).
set -euo pipefail

build_dir=$(cd "$1" && pwd)
version=$2
source_dir=$(cd "$(dirname "$0")/../.." && pwd)

work=$(mktemp -d)
gateway_pid=""
installed=0
created_user=0
fail() { echo "FAIL: $*" >&2; exit 1; }
cleanup() {
  local status=$?
  if [ -n "$gateway_pid" ] && kill -0 "$gateway_pid" 2>/dev/null; then
    kill -KILL "$gateway_pid" 2>/dev/null || true
    wait "$gateway_pid" 2>/dev/null || true
  fi
  if [ "$installed" = 1 ]; then
    DEBIAN_FRONTEND=noninteractive timeout 120 apt-get purge -y -qq e2b-gateway >/dev/null 2>&1 \
      || timeout 60 dpkg --purge e2b-gateway >/dev/null 2>&1 || true
  fi
  if [ "$created_user" = 1 ] && getent passwd e2b-gateway >/dev/null; then
    userdel e2b-gateway 2>/dev/null || true
    getent group e2b-gateway >/dev/null && groupdel e2b-gateway 2>/dev/null || true
  fi
  rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# --- the package -----------------------------------------------------------------------------
[ -x "$build_dir/e2b-gateway" ] || fail "$build_dir/e2b-gateway is not built"
timeout 600 cpack --config "$build_dir/CPackConfig.cmake" -G DEB -B "$work/pkg" >"$work/cpack.log" 2>&1 \
  || { cat "$work/cpack.log" >&2; fail "cpack -G DEB failed"; }
deb="$work/pkg/e2b-gateway_${version}_amd64.deb"
[ -f "$deb" ] || { ls "$work/pkg" >&2; fail "cpack did not write e2b-gateway_${version}_amd64.deb"; }
echo "package: $(basename "$deb") ($(stat -c %s "$deb") bytes)"

dpkg-deb --contents "$deb" >"$work/contents"
expect_entry() {  # mode pattern and path of one entry of the archive
  grep -Eq "^$1 root/root +[0-9]+ [0-9-]+ [0-9:]+ \.$2\$" "$work/contents" \
    || { cat "$work/contents" >&2; fail "the package has no $2 ($1)"; }
}
expect_entry '-rwxr-xr-x' /usr/bin/e2b-gateway
expect_entry '-rw-r--r--' /etc/e2b-gateway/config.yaml
expect_entry '-rw-------' /etc/e2b-gateway/env
expect_entry '-rw-r--r--' /lib/systemd/system/e2b-gateway.service
expect_entry '-rw-r--r--' /usr/lib/sysusers.d/e2b-gateway.conf
plugins=()
for folder in "$source_dir"/plugins/*/; do
  [ -f "$folder/CMakeLists.txt" ] && plugins+=("$(basename "$folder")")
done
[ ${#plugins[@]} -ge 5 ] || fail "found only ${#plugins[@]} plugin folders in $source_dir/plugins"
for plugin in "${plugins[@]}"; do
  expect_entry '-rw-r--r--' "/usr/lib/e2b-gateway/plugins/$plugin.so"
done
echo "contents: binary, ${#plugins[@]} plugins (${plugins[*]}), config, env, unit, sysusers entry"

dpkg-deb -I "$deb" >"$work/info"
depends=$(sed -n 's/^ Depends: //p' "$work/info")
for dep in libc6 libstdc++6 libpistache0 libcurl4 libssl3 libyaml-cpp0.7 libsqlite3-0 libdate-tz3 \
           ca-certificates tzdata passwd; do
  [[ ", $depends," == *", $dep"[\ ,]* ]] || fail "Depends lacks $dep: $depends"
done
echo "depends: $depends"
for script in postinst prerm postrm conffiles; do
  grep -Eq "^ +[0-9]+ bytes, +[0-9]+ lines +\*? +$script( |$)" "$work/info" || fail "the package has no $script"
done
dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./conffiles >"$work/conffiles"
printf '/etc/e2b-gateway/config.yaml\n/etc/e2b-gateway/env\n' | cmp -s - "$work/conffiles" \
  || fail "conffiles is not the config and the env file: $(cat "$work/conffiles")"

# The packaged config is the checkout's config.yaml with exactly plugin_dir and storage.path set.
dpkg-deb -x "$deb" "$work/root"
config="$work/root/etc/e2b-gateway/config.yaml"
grep -Eq '^plugin_dir: /usr/lib/e2b-gateway/plugins( |$)' "$config" || fail "packaged plugin_dir is wrong"
grep -Eq '^  path: /var/lib/e2b-gateway/gateway.db( |$)' "$config" || fail "packaged storage.path is wrong"
changed=$(diff "$source_dir/config.yaml" "$config" | grep -c '^>' || true)
[ "$changed" = 2 ] || { diff "$source_dir/config.yaml" "$config" >&2 || true; fail "the packaged config differs from config.yaml in $changed lines, not 2"; }
grep -q '^ExecStart=/usr/bin/e2b-gateway serve --config /etc/e2b-gateway/config.yaml$' \
  "$work/root/lib/systemd/system/e2b-gateway.service" || fail "the unit does not start /usr/bin/e2b-gateway"
grep -q '^ExecReload=/bin/kill -HUP $MAINPID$' "$work/root/lib/systemd/system/e2b-gateway.service" \
  || fail "the unit does not reload with SIGHUP"
echo "config: rendered from config.yaml (plugin_dir and storage.path only)"

# --- installing it ---------------------------------------------------------------------------
if [ "$(id -u)" -ne 0 ]; then
  if [ "${E2B_DEPLOY_TESTS_NO_INSTALL:-}" = 1 ]; then
    echo "NOT RUN: installing the package (needs root; E2B_DEPLOY_TESTS_NO_INSTALL=1 was set)" >&2
    exit 0
  fi
  fail "installing the package needs root (CI runs as root); set E2B_DEPLOY_TESTS_NO_INSTALL=1 to check the package only"
fi
if [ "${E2B_DEPLOY_TESTS_NO_INSTALL:-}" = 1 ]; then
  echo "NOT RUN: installing the package (E2B_DEPLOY_TESTS_NO_INSTALL=1 was set)" >&2
  exit 0
fi
command -v dpkg >/dev/null || fail "dpkg is missing"
if dpkg-query -W -f='${Status}' e2b-gateway 2>/dev/null | grep -q 'installed'; then
  fail "an e2b-gateway package is installed on this machine; this test would purge it"
fi
for path in /etc/e2b-gateway /var/lib/e2b-gateway /usr/bin/e2b-gateway; do
  [ ! -e "$path" ] || fail "$path exists (deploy/install.sh?); this test would replace or purge it"
done
getent passwd e2b-gateway >/dev/null || created_user=1

installed=1
DEBIAN_FRONTEND=noninteractive timeout 300 apt-get install -y -qq --no-install-recommends "$deb" \
  >"$work/apt.log" 2>&1 || { cat "$work/apt.log" >&2; fail "apt-get install of the package failed"; }
dpkg-query -W -f='${Status}' e2b-gateway | grep -q 'install ok installed' || fail "the package is not installed"
getent passwd e2b-gateway >/dev/null || fail "postinst did not create the e2b-gateway user"
[ "$(stat -c '%U:%G %a' /var/lib/e2b-gateway)" = "e2b-gateway:e2b-gateway 750" ] \
  || fail "/var/lib/e2b-gateway is $(stat -c '%U:%G %a' /var/lib/e2b-gateway)"
[ "$(stat -c '%U %a' /etc/e2b-gateway/env)" = "root 600" ] || fail "/etc/e2b-gateway/env is not root 0600"
echo "installed: user e2b-gateway, /var/lib/e2b-gateway 0750"

# A clean environment, as systemd gives the unit, in the unit's working directory; env and setpriv
# exec, so a background job's pid is the gateway's.
service_env=(env -i --chdir=/var/lib/e2b-gateway PATH=/usr/sbin:/usr/bin:/sbin:/bin)
"${service_env[@]}" setpriv --reuid=e2b-gateway --regid=e2b-gateway --init-groups \
  timeout 60 /usr/bin/e2b-gateway check-config --config /etc/e2b-gateway/config.yaml >"$work/check.log" 2>&1 \
  || { cat "$work/check.log" >&2; fail "check-config failed on the installed config"; }
grep -q "is valid" "$work/check.log" || fail "check-config said: $(cat "$work/check.log")"
for plugin in auth fragments; do
  grep -q "$plugin" "$work/check.log" || fail "check-config lists no $plugin plugin"
done
echo "check-config: $(grep -c '^  [0-9]' "$work/check.log") plugins in the chain"

if command -v systemd-analyze >/dev/null; then
  timeout 60 systemd-analyze verify /lib/systemd/system/e2b-gateway.service >"$work/verify.log" 2>&1 \
    || { cat "$work/verify.log" >&2; fail "systemd-analyze verify rejected the unit"; }
  echo "systemd-analyze verify: OK"
else
  echo "systemd-analyze is not installed: the unit was not verified" >&2
fi

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"${service_env[@]}" E2B_HOST=127.0.0.1 E2B_PORT="$port" setpriv --reuid=e2b-gateway --regid=e2b-gateway --init-groups \
  /usr/bin/e2b-gateway serve --config /etc/e2b-gateway/config.yaml >"$work/serve.log" 2>&1 &
gateway_pid=$!
health=""
for _ in $(seq 1 100); do
  kill -0 "$gateway_pid" 2>/dev/null || { cat "$work/serve.log" >&2; fail "the installed gateway exited"; }
  health=$(curl -fsS --max-time 2 "http://127.0.0.1:$port/health" 2>/dev/null) && break
  sleep 0.2
done
[[ "$health" == *'"status":"ok"'* && "$health" == *"\"version\":\"$version\""* ]] \
  || { cat "$work/serve.log" >&2; fail "/health did not answer ok with version $version: '$health'"; }
user=$(ps -o user= -p "$gateway_pid" | tr -d ' ')
[ "$user" = e2b-gateway ] || fail "the gateway runs as $user"
[ "$(stat -c %U /var/lib/e2b-gateway/gateway.db)" = e2b-gateway ] || fail "the database is not the service's"
echo "serve: /health answered $health on 127.0.0.1:$port as $user"
kill -TERM "$gateway_pid"
for _ in $(seq 1 200); do kill -0 "$gateway_pid" 2>/dev/null || break; sleep 0.2; done
kill -0 "$gateway_pid" 2>/dev/null && fail "the gateway did not stop within 40 s of SIGTERM"
wait "$gateway_pid" && status=0 || status=$?
gateway_pid=""
[ "$status" = 0 ] || { cat "$work/serve.log" >&2; fail "the gateway exited with $status after SIGTERM"; }

DEBIAN_FRONTEND=noninteractive timeout 120 apt-get purge -y -qq e2b-gateway >"$work/purge.log" 2>&1 \
  || { cat "$work/purge.log" >&2; fail "apt-get purge failed"; }
installed=0
for path in /usr/bin/e2b-gateway /usr/lib/e2b-gateway /etc/e2b-gateway /var/lib/e2b-gateway \
            /lib/systemd/system/e2b-gateway.service; do
  [ ! -e "$path" ] || fail "$path is left after purge"
done
echo "purge: every installed path is gone"
echo "PASS"
