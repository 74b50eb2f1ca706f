#!/bin/sh
# Make sure the build dependencies are present: install them with apt-get
# when running as root on Debian, otherwise name the packages and stop.
set -u
missing=""
have_pc() { command -v pkg-config >/dev/null 2>&1 && pkg-config --exists "$1"; }
for pkg in "$@"; do
  case "$pkg" in
    libyaml-dev) have_pc yaml-0.1 || missing="$missing $pkg" ;;
    libxxhash-dev) { have_pc libxxhash && [ -f /usr/include/xxhash.h ]; } || missing="$missing $pkg" ;;
    libcmocka-dev) have_pc cmocka || missing="$missing $pkg" ;;
    pkg-config) command -v pkg-config >/dev/null 2>&1 || missing="$missing $pkg" ;;
    mandoc) command -v mandoc >/dev/null 2>&1 || missing="$missing $pkg" ;;
    *) dpkg -s "$pkg" >/dev/null 2>&1 || missing="$missing $pkg" ;;
  esac
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing:$missing"
  # pkg-config must come first: the other checks depend on it
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null 2>&1 || true
  apt-get install -y -qq --no-install-recommends pkg-config $missing >/dev/null || {
    echo "error: apt-get install failed for:$missing" >&2; exit 1; }
  exit 0
fi
echo "error: missing build dependencies. Install them with:" >&2
echo "  sudo apt-get install -y$missing" >&2
exit 1
