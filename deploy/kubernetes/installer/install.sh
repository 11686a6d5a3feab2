#!/bin/sh
# Put oci-idmap-hook on a node, or take it off: the static binary and its
# hooks.d registration, under the node's root filesystem mounted at HOST_ROOT.
# Run by the DaemonSet in oci-idmap-hook.yaml; see README.md, "Kubernetes".
#
#   install.sh [install|uninstall|check]     (default: $ACTION, else install)
#
# install    copy the binary, then write the hooks.d file into each hooks.d
#            directory.  Each file is written beside its target and renamed
#            over it, so a runtime never reads half a file and containers
#            being started keep the binary they already opened.  Files that
#            are already current are left as they are.
# uninstall  remove the hooks.d files first (so that no runtime runs a hook
#            whose binary is gone), then the binary.
# check      exit 0 when everything install would write is in place and
#            current (with ACTION=uninstall: when it is all gone), 1 otherwise;
#            for a readiness probe.
#
# Environment (defaults in brackets):
#   HOST_ROOT     the node's / as this container sees it [/host]
#   SOURCE_DIR    holds oci-idmap-hook and oci-idmap-hook.json.in [this script's dir]
#   BIN_DIR       where the binary goes on the node [/opt/oci-idmap-hook/bin]
#   HOOKS_DIRS    hooks.d directories on the node, separated by spaces
#                 [/etc/containers/oci/hooks.d; CRI-O reads it with crio-hooks-dir.conf]
#   HOOK_LOG      the hook's --log file on the node [/var/log/oci-idmap-hook.log]
#   HOOK_OPTIONS  more options of the hook, separated by spaces
#                 (--allow-host-root, --verbose) []
set -eu

prog=oci-idmap-hook-install
HOST_ROOT=${HOST_ROOT:-/host}
SOURCE_DIR=${SOURCE_DIR:-$(cd "$(dirname "$0")" && pwd)}
BIN_DIR=${BIN_DIR:-/opt/oci-idmap-hook/bin}
HOOKS_DIRS=${HOOKS_DIRS:-/etc/containers/oci/hooks.d}
HOOK_LOG=${HOOK_LOG:-/var/log/oci-idmap-hook.log}
HOOK_OPTIONS=${HOOK_OPTIONS:-}
NAME=oci-idmap-hook

die() {
	echo "$prog: $*" >&2
	exit 1
}

say() {
	echo "$prog: $*"
}

# A node path: absolute, and only characters that need no quoting in JSON
# or sed (the registration is written with both).
check_path() {
	case "$2" in
	/*) ;;
	*) die "$1=\"$2\" is not an absolute path" ;;
	esac
	case "$2" in
	*[!A-Za-z0-9/._+-]* | */../* | */.. | *//*)
		die "$1=\"$2\": use only letters, digits and / . _ + - (no .. or //)" ;;
	esac
}

check_settings() {
	[ -d "$HOST_ROOT" ] || die "HOST_ROOT=\"$HOST_ROOT\" is not a directory; mount the node's / there"
	check_path BIN_DIR "$BIN_DIR"
	check_path HOOK_LOG "$HOOK_LOG"
	[ -n "$HOOKS_DIRS" ] || die "HOOKS_DIRS is empty; name at least one hooks.d directory"
	for d in $HOOKS_DIRS; do check_path HOOKS_DIRS "$d"; done
	for o in $HOOK_OPTIONS; do
		case "$o" in
		--allow-host-root | --verbose) ;;
		*) die "HOOK_OPTIONS: unknown option \"$o\"; use --allow-host-root or --verbose" ;;
		esac
	done
}

# The registration, from the template `make install` uses too.
render_hooks_json() {
	args="\"--log\", \"$HOOK_LOG\""
	for o in $HOOK_OPTIONS; do args="$args, \"$o\""; done
	sed -e "s|@BINDIR@|$BIN_DIR|g" \
		-e "s|\"--log\", \"@HOOKLOG@\"|$args|" "$SOURCE_DIR/$NAME.json.in"
}

# put SRC DIR FILE MODE: make DIR/FILE a copy of SRC, by rename; says
# whether it changed.  Returns 0 when it did, 1 when it was current.
put() {
	if cmp -s "$1" "$2/$3"; then
		return 1
	fi
	mkdir -p "$2"
	tmp="$2/.$3.$$"
	cp "$1" "$tmp"
	chmod "$4" "$tmp"
	mv -f "$tmp" "$2/$3"
}

do_install() {
	[ -x "$SOURCE_DIR/$NAME" ] || die "no executable $SOURCE_DIR/$NAME; set SOURCE_DIR"
	[ -f "$SOURCE_DIR/$NAME.json.in" ] || die "no $SOURCE_DIR/$NAME.json.in; set SOURCE_DIR"
	work=$(mktemp -d)
	trap 'rm -rf "$work"' EXIT
	render_hooks_json >"$work/$NAME.json"
	# The binary first: a registration must never point at a missing file.
	if put "$SOURCE_DIR/$NAME" "$HOST_ROOT$BIN_DIR" "$NAME" 0755; then
		say "installed $BIN_DIR/$NAME"
	else
		say "$BIN_DIR/$NAME is current"
	fi
	for d in $HOOKS_DIRS; do
		if put "$work/$NAME.json" "$HOST_ROOT$d" "$NAME.json" 0644; then
			say "installed $d/$NAME.json"
		else
			say "$d/$NAME.json is current"
		fi
	done
}

do_uninstall() {
	for d in $HOOKS_DIRS; do
		if [ -e "$HOST_ROOT$d/$NAME.json" ]; then
			rm -f "$HOST_ROOT$d/$NAME.json"
			say "removed $d/$NAME.json"
		fi
	done
	if [ -e "$HOST_ROOT$BIN_DIR/$NAME" ]; then
		rm -f "$HOST_ROOT$BIN_DIR/$NAME"
		say "removed $BIN_DIR/$NAME"
	fi
	# Directories the installer made, if nothing else lives there.
	rmdir "$HOST_ROOT$BIN_DIR" "$HOST_ROOT$(dirname "$BIN_DIR")" 2>/dev/null || true
}

# Read-only: the watch container's root filesystem is.
do_check() {
	if [ "${ACTION:-install}" = uninstall ]; then
		for f in $HOOKS_DIRS "$BIN_DIR"; do
			if [ -e "$HOST_ROOT$f/$NAME.json" ] || [ -e "$HOST_ROOT$f/$NAME" ]; then
				die "$f still holds $NAME"
			fi
		done
		return 0
	fi
	cmp -s "$SOURCE_DIR/$NAME" "$HOST_ROOT$BIN_DIR/$NAME" || die "$BIN_DIR/$NAME is missing or out of date"
	for d in $HOOKS_DIRS; do
		render_hooks_json | cmp -s - "$HOST_ROOT$d/$NAME.json" || die "$d/$NAME.json is missing or out of date"
	done
}

case "${1:-${ACTION:-install}}" in
install) check_settings && do_install ;;
uninstall) check_settings && do_uninstall ;;
check) check_settings && do_check ;;
-h | --help) sed -n '2,/^set -eu/p' "$0" | sed -e '/^set -eu/d' -e 's/^# \{0,1\}//' ;;
*) die "unknown action \"$1\"; use install, uninstall or check" ;;
esac
