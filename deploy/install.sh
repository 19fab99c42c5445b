#!/usr/bin/env bash
# Installs a built e2b-gateway tree system-wide. Idempotent: running it again updates the binary,
# plugins and unit, and never overwrites an existing config or env file.
#
#   deploy/install.sh [options]
#
#   --build-dir DIR    the CMake build tree (default: ./build next to deploy/)
#   --prefix DIR       install prefix (default /usr/local):
#                        DIR/bin/e2b-gateway, DIR/lib/e2b-gateway/plugins/*.so
#   --sysconfdir DIR   config directory root (default /etc): DIR/e2b-gateway/{config.yaml,env}
#   --unitdir DIR      systemd unit directory (default /etc/systemd/system)
#   --destdir DIR      stage everything below DIR instead of / (also $DESTDIR); paths written
#                      into the config and unit stay the final ones. Nothing outside DIR is
#                      touched and no system command (systemd-sysusers, systemctl) is run.
#   --config FILE      config to install when none exists (default: config.yaml of the checkout)
#   --no-unit          skip the systemd unit, the sysusers entry and the env file (containers)
#   --force-config     replace an existing config.yaml (the old one is kept as config.yaml.bak)
#
# What it does:
#   1. binary -> PREFIX/bin, plugins -> PREFIX/lib/e2b-gateway/plugins (atomic replace)
#   2. SYSCONFDIR/e2b-gateway/config.yaml, if absent, from --config with
#      plugin_dir: PREFIX/lib/e2b-gateway/plugins (the gateway's default would be
#      PREFIX/bin/plugins, i.e. "plugins" beside the executable)
#   3. SYSCONFDIR/e2b-gateway/env, if absent: deploy/e2b-gateway.env, a commented template (0600)
#   4. the systemd unit (paths rewritten for PREFIX/SYSCONFDIR) and a sysusers.d entry for the
#      e2b-gateway system user; without --destdir and as root: systemd-sysusers and
#      systemctl daemon-reload. It never enables or starts the service.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
build_dir=$root/build
prefix=/usr/local
sysconfdir=/etc
unitdir=/etc/systemd/system
destdir=${DESTDIR:-}
config_src=$root/config.yaml
with_unit=1
force_config=0

usage() { sed -n '2,30p' "$0" | sed 's/^# \{0,1\}//'; }
need() { [ $# -ge 2 ] && [ -n "$2" ] || { echo "install.sh: $1 needs a value" >&2; exit 2; }; }
while [ $# -gt 0 ]; do
  case $1 in
    --build-dir) need "$@"; build_dir=$2; shift 2 ;;
    --prefix) need "$@"; prefix=$2; shift 2 ;;
    --sysconfdir) need "$@"; sysconfdir=$2; shift 2 ;;
    --unitdir) need "$@"; unitdir=$2; shift 2 ;;
    --destdir) need "$@"; destdir=$2; shift 2 ;;
    --config) need "$@"; config_src=$2; shift 2 ;;
    --no-unit) with_unit=0; shift ;;
    --force-config) force_config=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "install.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done

for d in "$prefix" "$sysconfdir" "$unitdir"; do
  case $d in /*) ;; *) echo "install.sh: $d must be an absolute path" >&2; exit 2 ;; esac
done
prefix=${prefix%/}; sysconfdir=${sysconfdir%/}; unitdir=${unitdir%/}
[ -z "$destdir" ] || destdir=$(mkdir -p "$destdir" && cd "$destdir" && pwd)

bin_src=$build_dir/e2b-gateway
plugin_src=$build_dir/plugins
[ -x "$bin_src" ] || { echo "install.sh: $bin_src not found; build first: cmake -S . -B build -DCMAKE_BUILD_TYPE=Release && cmake --build build" >&2; exit 1; }
shopt -s nullglob
plugins=("$plugin_src"/*.so)
shopt -u nullglob
[ ${#plugins[@]} -gt 0 ] || { echo "install.sh: no plugins in $plugin_src" >&2; exit 1; }
[ -f "$config_src" ] || { echo "install.sh: config $config_src not found" >&2; exit 1; }

bindir=$prefix/bin
plugindir=$prefix/lib/e2b-gateway/plugins
confdir=$sysconfdir/e2b-gateway
D=$destdir   # staging root ("" = the real system)

if [ -z "$D" ] && [ "$(id -u)" -ne 0 ]; then
  echo "install.sh: installing into the system needs root (or use --destdir DIR to stage)" >&2
  exit 1
fi

say() { echo "install.sh: $*"; }

# Copies $1 to $2 through a temporary file and rename, so a running gateway keeps its mapping and
# a re-run with identical content is a no-op.
put() {
  local src=$1 dst=$2 mode=$3
  mkdir -p "$(dirname "$dst")"
  if [ -f "$dst" ] && cmp -s "$src" "$dst"; then
    chmod "$mode" "$dst"
    return 1
  fi
  local tmp
  tmp=$(mktemp "$(dirname "$dst")/.install.XXXXXX")
  cp "$src" "$tmp"
  chmod "$mode" "$tmp"
  mv -f "$tmp" "$dst"
}
changed=()
put "$bin_src" "$D$bindir/e2b-gateway" 0755 && changed+=("$bindir/e2b-gateway")
for so in "${plugins[@]}"; do
  put "$so" "$D$plugindir/$(basename "$so")" 0644 && changed+=("$plugindir/$(basename "$so")")
done
say "binary  $bindir/e2b-gateway"
say "plugins $plugindir ($(cd "$D$plugindir" && ls *.so | tr '\n' ' '))"

# --- config: copy once, with plugin_dir pointing at the installed plugins
mkdir -p "$D$confdir"
if [ -f "$D$confdir/config.yaml" ] && [ "$force_config" = 0 ]; then
  say "config  $confdir/config.yaml exists; left unchanged (--force-config replaces it)"
  if ! grep -Eq "^plugin_dir:[[:space:]]*[\"']?$plugindir/?[\"']?[[:space:]]*(#.*)?$" "$D$confdir/config.yaml"; then
    say "warning: its plugin_dir is not $plugindir; the gateway loads plugins from what it says" \
        "(or from $bindir/plugins when it has none)"
  fi
else
  tmp=$(mktemp "$D$confdir/.config.XXXXXX")
  # Replace an active or commented-out plugin_dir line; append one when there is none.
  awk -v dir="$plugindir" '
    !done && /^#?[[:space:]]*plugin_dir:/ {
      print "plugin_dir: " dir "   # set by deploy/install.sh"; done = 1; next }
    { print }
    END { if (!done) print "\nplugin_dir: " dir "   # set by deploy/install.sh" }
  ' "$config_src" >"$tmp"
  chmod 0644 "$tmp"
  if [ -f "$D$confdir/config.yaml" ]; then
    cp -p "$D$confdir/config.yaml" "$D$confdir/config.yaml.bak"
    say "config  previous config kept as $confdir/config.yaml.bak"
  fi
  mv -f "$tmp" "$D$confdir/config.yaml"
  say "config  $confdir/config.yaml (plugin_dir: $plugindir)"
fi

if [ "$with_unit" = 1 ]; then
  # --- env file: secrets and per-host overrides, read by systemd (EnvironmentFile=)
  if [ ! -f "$D$confdir/env" ]; then
    (umask 077; cp "$here/e2b-gateway.env" "$D$confdir/env")
    say "env     $confdir/env (template, 0600)"
  else
    say "env     $confdir/env exists; left unchanged"
  fi

  # --- the unit, with this install's paths
  tmp=$(mktemp)
  sed -e "s#/usr/bin/e2b-gateway#$bindir/e2b-gateway#g" \
      -e "s#/usr/lib/e2b-gateway/plugins#$plugindir#g" \
      -e "s#/etc/e2b-gateway/#$confdir/#g" \
      "$here/e2b-gateway.service" >"$tmp"
  put "$tmp" "$D$unitdir/e2b-gateway.service" 0644 && changed+=("$unitdir/e2b-gateway.service")
  rm -f "$tmp"
  say "unit    $unitdir/e2b-gateway.service"

  # --- the system user, declared for systemd-sysusers
  tmp=$(mktemp)
  printf '%s\n' '# e2b-gateway service account (deploy/install.sh)' \
    'u e2b-gateway - "e2b-gateway service" /var/lib/e2b-gateway /usr/sbin/nologin' >"$tmp"
  put "$tmp" "$D/usr/lib/sysusers.d/e2b-gateway.conf" 0644 && changed+=("/usr/lib/sysusers.d/e2b-gateway.conf")
  rm -f "$tmp"

  if [ -z "$D" ]; then
    if command -v systemd-sysusers >/dev/null; then
      systemd-sysusers /usr/lib/sysusers.d/e2b-gateway.conf
    elif ! id e2b-gateway >/dev/null 2>&1; then
      useradd --system --home-dir /var/lib/e2b-gateway --no-create-home --shell /usr/sbin/nologin e2b-gateway
    fi
    if [ -d /run/systemd/system ]; then
      systemctl daemon-reload
    fi
  fi
fi

# --- a quick self-check of the installed tree (plugins load, config parses)
if [ -z "$D" ] || [ "$D$plugindir" = "$plugindir" ]; then
  "$bindir/e2b-gateway" check-config --config "$confdir/config.yaml" >/dev/null \
    && say "check-config: OK" || say "warning: check-config failed for $confdir/config.yaml"
else
  # Staged: check with the staged plugins (the config names the final plugin_dir).
  tmp=$(mktemp)
  sed -e "s#^plugin_dir: .*#plugin_dir: $D$plugindir#" "$D$confdir/config.yaml" >"$tmp"
  if (cd "$(dirname "$tmp")" && "$D$bindir/e2b-gateway" check-config --config "$tmp" >/dev/null); then
    say "check-config (staged plugins): OK"
  else
    say "warning: check-config failed for the staged tree"
  fi
  rm -f "$tmp"
fi

if [ ${#changed[@]} -eq 0 ]; then say "nothing changed (already installed)"; fi
if [ -z "$D" ] && [ "$with_unit" = 1 ]; then
  echo
  echo "next: edit $confdir/env (E2B_API_KEY), then: systemctl enable --now e2b-gateway"
  [ ${#changed[@]} -eq 0 ] || echo "      (already running? systemctl restart e2b-gateway)"
fi
