#!/bin/sh
# Put oci-idmap-hook on a node, or take it off: the static binary and its
# hooks.d registration, under the node's root filesystem mounted at HOST_ROOT.
# Run by the DaemonSet in oci-idmap-hook.yaml; see README.md, "Kubernetes".
#
#   install.sh [install|uninstall|check]     (default: $ACTION, else install)
#
# install    copy the binary, then the administrator's policy (POLICY), then
#            write the hooks.d file into each hooks.d directory.  Each file
#            is written to a new name made by mktemp in its directory and
#            renamed over the target, so a runtime never reads half a file,
#            containers being started keep the binary they already opened,
#            and a name planted there beforehand (a symlink) is replaced,
#            never written through.  Files that are already current are
#            left as they are.
# uninstall  remove the hooks.d files first (so that no runtime runs a hook
#            whose binary is gone), then the policy and the binary.
# check      exit 0 when everything install would write is in place and
#            current (with ACTION=uninstall: when it is all gone), 1 otherwise;
#            for a readiness probe.
#
# Every directory it writes, and each one above it under HOST_ROOT, must be
# a real directory (no symlink) owned by root and writable by no one else:
# whoever can write there can make runtimes run their code as root.  It
# needs uid 0 and no capability.
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
#   POLICY        the administrator's policy (JSON, see README.md), checked
#                 with the hook's own parser, installed to POLICY_FILE and
#                 registered with --policy; empty: no --policy (the hook
#                 reads the node's /etc/oci-idmap-hook/policy.json, if any) []
#   POLICY_FILE   where POLICY goes on the node [/opt/oci-idmap-hook/policy.json]
set -eu
umask 022

prog=oci-idmap-hook-install
HOST_ROOT=${HOST_ROOT:-/host}
SOURCE_DIR=${SOURCE_DIR:-$(cd "$(dirname "$0")" && pwd)}
BIN_DIR=${BIN_DIR:-/opt/oci-idmap-hook/bin}
HOOKS_DIRS=${HOOKS_DIRS:-/etc/containers/oci/hooks.d}
HOOK_LOG=${HOOK_LOG:-/var/log/oci-idmap-hook.log}
HOOK_OPTIONS=${HOOK_OPTIONS:-}
POLICY=${POLICY:-}
POLICY_FILE=${POLICY_FILE:-/opt/oci-idmap-hook/policy.json}
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
	check_path POLICY_FILE "$POLICY_FILE"
	[ -n "$HOOKS_DIRS" ] || die "HOOKS_DIRS is empty; name at least one hooks.d directory"
	for d in $HOOKS_DIRS; do check_path HOOKS_DIRS "$d"; done
	for o in $HOOK_OPTIONS; do
		case "$o" in
		--allow-host-root | --verbose) ;;
		--policy*) die "HOOK_OPTIONS: \"$o\": put the policy itself in POLICY; the installer writes it and adds --policy" ;;
		*) die "HOOK_OPTIONS: unknown option \"$o\"; use --allow-host-root or --verbose" ;;
		esac
	done
}

# safe_dir SETTING DIR [create]: DIR (a node path) and every directory above
# it below HOST_ROOT are real directories, owned by root and writable by no
# one else, so that no one but root can plant or swap a name in them while
# we write.  With create, missing ones are made (0755).  Returns 1 when one
# is missing.
safe_dir() {
	p=$HOST_ROOT
	rest=${2#/}
	while [ -n "$rest" ]; do
		c=${rest%%/*}
		rest=${rest#"$c"}
		rest=${rest#/}
		p=$p/$c
		if [ ! -e "$p" ] && [ ! -L "$p" ]; then
			[ "${3:-}" = create ] || return 1
			mkdir -m 0755 "$p" || die "$1: cannot create ${p#"$HOST_ROOT"}"
		fi
		[ ! -L "$p" ] ||
			die "$1: ${p#"$HOST_ROOT"} is a symbolic link;" "runtimes read it as root, so it must be a real directory"
		[ -d "$p" ] || die "$1: ${p#"$HOST_ROOT"} is not a directory"
		owner=$(stat -c %u "$p")
		mode=$(stat -c %a "$p")
		if [ "$owner" != 0 ] || [ $((0$mode & 022)) -ne 0 ]; then
			die "$1: ${p#"$HOST_ROOT"} is owned by uid $owner with mode $mode;" \
				"whoever can write it can make runtimes run their code as root: chown root and chmod go-w it"
		fi
	done
}

# The registration, from the template `make install` uses too.
render_hooks_json() {
	args="\"--log\", \"$HOOK_LOG\""
	[ -z "$POLICY" ] || args="$args, \"--policy\", \"$POLICY_FILE\""
	for o in $HOOK_OPTIONS; do args="$args, \"$o\""; done
	sed -e "s|@HOOKBINDIR@|$BIN_DIR|g" \
		-e "s|\"--log\", \"@HOOKLOG@\"|$args|" "$SOURCE_DIR/$NAME.json.in"
}

render_binary() {
	cat "$SOURCE_DIR/$NAME"
}

render_policy() {
	printf '%s\n' "$POLICY"
}

# current DIR FILE MODE RENDER: DIR/FILE is a regular file (not a link,
# nor a hard link to something else), root's, of MODE, holding what RENDER
# prints.
current() {
	[ -f "$1/$2" ] && [ ! -L "$1/$2" ] &&
		[ "$(stat -c '%u %g %a %h' "$1/$2")" = "0 0 $3 1" ] &&
		"$4" | cmp -s - "$1/$2"
}

# new_file DIR FILE MODE RENDER: a new file beside DIR/FILE holding what
# RENDER prints, of MODE; prints its name.  mktemp creates it (O_EXCL, a
# random name) in a directory safe_dir checked, so no one else can have
# planted or swapped it: writing and chmod through the name reach our file.
new_file() {
	t=$(mktemp "$1/.$2.XXXXXX") || die "cannot create a file in ${1#"$HOST_ROOT"}"
	if ! "$4" >"$t" || ! chmod "$3" "$t"; then
		rm -f "$t"
		die "cannot write ${t#"$HOST_ROOT"}"
	fi
	echo "$t"
}

# put SETTING NODE_DIR FILE MODE RENDER: make NODE_DIR/FILE what RENDER
# prints, by rename; says whether it changed.
put() {
	dir=$HOST_ROOT$2
	safe_dir "$1" "$2" create
	if current "$dir" "$3" "$4" "$5"; then
		say "$2/$3 is current"
		return 0
	fi
	tmp=$(new_file "$dir" "$3" "$4" "$5")
	# rename(2) replaces whatever the name was (a symlink too), never follows it.
	mv -f -T "$tmp" "$dir/$3" || { rm -f "$tmp"; die "cannot rename ${tmp#"$HOST_ROOT"} to $2/$3"; }
	say "installed $2/$3"
}

# check_policy: POLICY parses as the hook parses it (its doctor reads the
# policy first), checked in a file the hook will accept (root's, 0644)
# before anything is installed.
check_policy() {
	[ -n "$POLICY" ] || return 0
	pdir=$(dirname "$POLICY_FILE")
	safe_dir POLICY_FILE "$pdir" create
	t=$(new_file "$HOST_ROOT$pdir" "$(basename "$POLICY_FILE")" 0644 render_policy)
	if err=$("$SOURCE_DIR/$NAME" doctor --policy "$t" --rootfs "$SOURCE_DIR" 2>&1 >/dev/null); then
		rm -f "$t"
		return 0
	fi
	rm -f "$t"
	err=${err%%"
"*}
	err=${err#"$NAME: "}
	case "$err" in
	"$t"*) err=${err#"$t"} ;;
	*) err=": $err" ;;
	esac
	die "POLICY${err}; fix it in the ConfigMap (nothing was changed)"
}

do_install() {
	[ -x "$SOURCE_DIR/$NAME" ] || die "no executable $SOURCE_DIR/$NAME; set SOURCE_DIR"
	[ -f "$SOURCE_DIR/$NAME.json.in" ] || die "no $SOURCE_DIR/$NAME.json.in; set SOURCE_DIR"
	# Every directory before any file: a refusal leaves nothing half done.
	safe_dir BIN_DIR "$BIN_DIR" create
	for d in $HOOKS_DIRS; do safe_dir HOOKS_DIRS "$d" create; done
	check_policy
	# The binary and the policy first: a registration must never name a
	# missing file.
	put BIN_DIR "$BIN_DIR" "$NAME" 755 render_binary
	[ -z "$POLICY" ] || put POLICY_FILE "$(dirname "$POLICY_FILE")" "$(basename "$POLICY_FILE")" 644 render_policy
	for d in $HOOKS_DIRS; do
		put HOOKS_DIRS "$d" "$NAME.json" 644 render_hooks_json
	done
	# A policy no registration names any more.
	[ -n "$POLICY" ] || remove POLICY_FILE "$POLICY_FILE"
}

# present NODE_FILE: there is a name (a dangling symlink too).
present() {
	[ -e "$HOST_ROOT$1" ] || [ -L "$HOST_ROOT$1" ]
}

# remove SETTING NODE_FILE: unlink it (rm never follows a symlink there),
# once the directories above it are checked.
remove() {
	safe_dir "$1" "$(dirname "$2")" || return 0
	if present "$2"; then
		rm -f "$HOST_ROOT$2"
		say "removed $2"
	fi
}

do_uninstall() {
	for d in $HOOKS_DIRS; do remove HOOKS_DIRS "$d/$NAME.json"; done
	remove POLICY_FILE "$POLICY_FILE"
	remove BIN_DIR "$BIN_DIR/$NAME"
	# Directories the installer made, if nothing else lives there.
	rmdir "$HOST_ROOT$BIN_DIR" "$HOST_ROOT$(dirname "$BIN_DIR")" 2>/dev/null || true
}

# want SETTING NODE_DIR FILE MODE RENDER: put would find it current.
want() {
	{ safe_dir "$1" "$2" && current "$HOST_ROOT$2" "$3" "$4" "$5"; } ||
		die "$2/$3 is missing or out of date"
}

# Read-only: the watch container's root filesystem is.
do_check() {
	if [ "${ACTION:-install}" = uninstall ]; then
		for f in "$BIN_DIR/$NAME" "$POLICY_FILE"; do
			! present "$f" || die "$f is still there"
		done
		for d in $HOOKS_DIRS; do
			! present "$d/$NAME.json" || die "$d/$NAME.json is still there"
		done
		return 0
	fi
	want BIN_DIR "$BIN_DIR" "$NAME" 755 render_binary
	if [ -n "$POLICY" ]; then
		want POLICY_FILE "$(dirname "$POLICY_FILE")" "$(basename "$POLICY_FILE")" 644 render_policy
	elif present "$POLICY_FILE"; then
		die "$POLICY_FILE is there but POLICY is empty"
	fi
	for d in $HOOKS_DIRS; do
		want HOOKS_DIRS "$d" "$NAME.json" 644 render_hooks_json
	done
}

case "${1:-${ACTION:-install}}" in
install) check_settings && do_install ;;
uninstall) check_settings && do_uninstall ;;
check) check_settings && do_check ;;
-h | --help) sed -n '2,/^set -eu/p' "$0" | sed -e '/^set -eu/d' -e 's/^# \{0,1\}//' ;;
*) die "unknown action \"$1\"; use install, uninstall or check" ;;
esac
