# Shared by scripts/test and scripts/bench (sourced, not run): the target dir outside the
# clone, logging, and installing Debian packages when a command is missing.

# One target dir outside the clone, reused between runs when present (CI may cache it).
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/sessiond/target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

log() { printf '\n== %s\n' "$*" >&2; }

# apt-get install (root or sudo; never prompts).
need_pkg_always() {
  log "installing $*"
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo -n"
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@"
}

# apt-get install when a command is missing.
need_pkg() {
  command -v "$1" >/dev/null 2>&1 || need_pkg_always "$2"
}

# The bench plot's font (plotters reads it at run time; its test draws with it too).
need_plot_font() {
  [ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || need_pkg_always fonts-dejavu-core
}
