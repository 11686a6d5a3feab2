#!/bin/bash
# shellcheck disable=SC2016  # $names in single quotes are jq's, not ours.
# shellcheck disable=SC2154  # $status and $output are set by bats' `run`.
# Helpers for the integration tests: busybox bundles, config.json editing,
# and running crun, runc and podman in the foreground with bats' `run`.
#
# Every .bats file does:
#
#   load helpers
#   setup()    { setup_common; }
#   teardown() { teardown_common; }
#
# All state (bundles, runtime state dirs, podman storage) lives under bats'
# temp dirs, so nothing is left on the machine after a run.
#
# Container commands whose output a test reads line by line start with
# `exec 2>&1`: engines carry stdout and stderr on separate pipes, so
# otherwise their order in $output is not fixed.

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HOOK="${HOOK_UNDER_TEST:-$REPO/build/oci-idmap-hook}"
# The runtime shim (the same binary under its other name), likewise.
RUNTIME="${RUNTIME_UNDER_TEST:-$REPO/build/oci-idmap-runtime}"

# A container that hangs must not hang the suite: after this many seconds
# the runtime is killed (status 137), then the container.
CONTAINER_TIMEOUT=${CONTAINER_TIMEOUT:-60}

# Private state roots for the runtimes, so our container ids can never clash
# with anything else on the machine and `crun list` elsewhere stays clean.
CRUN_ROOT="$BATS_RUN_TMPDIR/crun"
RUNC_ROOT="$BATS_RUN_TMPDIR/runc"
PODMAN_STATE="$BATS_RUN_TMPDIR/podman"

# podman keeps its storage, database, runtime state and locks here instead
# of /var/lib/containers, /run and /dev/shm; vfs needs no mounts, and with
# --rootfs there are no images anyway.
PODMAN_CONF="$PODMAN_STATE/containers.conf"
PODMAN_GLOBAL=(
	--root "$PODMAN_STATE/root" --runroot "$PODMAN_STATE/runroot"
	--tmpdir "$PODMAN_STATE/tmp" --network-config-dir "$PODMAN_STATE/net"
	--storage-driver vfs --events-backend none
	--runtime-flag "root=$PODMAN_STATE/crun"
)

# Flags every podman run needs here: no network set-up, no cgroups, and
# rlimits below this machine's hard limits (podman's defaults exceed them).
PODMAN_RUN=(
	--rm --network=none --cgroups=disabled
	--ulimit nofile=1024:1024 --ulimit nproc=1024:1024
)

# What podman gives a root container by default (Docker adds MKNOD,
# NET_RAW, AUDIT_WRITE).
ENGINE_CAPS=(CHOWN DAC_OVERRIDE FOWNER FSETID KILL NET_BIND_SERVICE SETFCAP
	SETGID SETPCAP SETUID SYS_CHROOT)

BUSYBOX_APPLETS=(sh ls id touch cat stat mkdir chmod echo rm ln test sleep
	mount cut head tail grep printf true false whoami env)

setup_common() {
	[ "$(id -u)" -eq 0 ] || skip "test requires root"
	# Containers in a user namespace run as unprivileged host uids; they
	# must be able to reach their bundle through bats' 0700 temp dirs.
	chmod o+x "$BATS_RUN_TMPDIR" "$BATS_TEST_TMPDIR"
	mkdir -p "$CRUN_ROOT" "$RUNC_ROOT" "$PODMAN_STATE"
	[ -f "$PODMAN_CONF" ] || _write_podman_conf
	CONTAINERS_FILE="$BATS_TEST_TMPDIR/.containers"
}

teardown_common() {
	local engine id
	if [ -f "${CONTAINERS_FILE:-}" ]; then
		while read -r engine id; do
			case "$engine" in
			crun) _cgroup2 crun --root "$CRUN_ROOT" delete -f "$id" ;;
			runc) runc --root "$RUNC_ROOT" delete -f "$id" ;;
			podman) _podman rm -f -t 0 "$id" ;;
			esac >/dev/null 2>&1
		done <"$CONTAINERS_FILE"
		rm -f "$CONTAINERS_FILE"
	fi
	# Anything a test mounted under its temp dir.
	umount_below "$BATS_TEST_TMPDIR"
	return 0
}

# umount_below DIR: detach every mount below DIR, deepest first.
umount_below() {
	local mnt
	awk -v d="$1/" 'index($5, d) == 1 {print $5}' /proc/self/mountinfo | sort -r |
		while read -r mnt; do umount -l "$mnt"; done
}

# userns_hook_bundle NAME [UID [GID]]: the usual bundle of a hook test: a user
# namespace 0:100000:65536, running as UID:GID (default 999:999), $DATA at
# /data, and the hook at ${STAGE:-prestart}; callers add the request and
# the command.  Prints the bundle's path.
userns_hook_bundle() {
	local b stage=${STAGE:-prestart}
	b=$(make_bundle "$1")
	bundle_userns "$b" 0:100000:65536
	bundle_user "$b" "${2:-999}" "${3:-${2:-999}}"
	bundle_bind "$b" "$DATA" /data
	bundle_hook "$b" "$stage" "$HOOK" "$stage"
	echo "$b"
}

# The usual start of a test of the hook: root, idmapped mounts, the built
# hook, and $DATA, a host dir owned by host uid 1000.
setup_hook_test() {
	setup_common
	requires_idmap
	requires_hook
	DATA=$(make_host_dir data 1000:1000 0755)
}

# Skip unless the kernel has mount_setattr(2) (MOUNT_ATTR_IDMAP), added in 5.12.
requires_idmap() {
	local major minor
	IFS=. read -r major minor _ <<<"$(uname -r)"
	if [ "$major" -lt 5 ] || { [ "$major" -eq 5 ] && [ "$minor" -lt 12 ]; }; then
		skip "kernel $(uname -r) has no idmapped mounts (needs 5.12)"
	fi
}

# Fail, not skip, when the hook was not built: a missing binary is a bug.
requires_hook() {
	[ -x "$HOOK" ] || {
		echo "hook not built: $HOOK (run make)" >&2
		return 1
	}
}

# crun (and so podman) refuses cgroups in hybrid mode: see scripts/with-cgroup2.
_cgroup2() {
	"$REPO/scripts/with-cgroup2" "$@"
}

# CONTAINERS_CONF replaces the distro's containers.conf: keep its
# capabilities (the same as our bundles'), and lock with files in our state
# dir rather than in /dev/shm.
_write_podman_conf() {
	local c caps=""
	for c in "${ENGINE_CAPS[@]}"; do caps="$caps\"$c\", "; done
	printf '[containers]\ndefault_capabilities = [%s]\n[engine]\nlock_type = "file"\n' \
		"${caps%, }" >"$PODMAN_CONF"
}

# _podman ARG...: podman with our private state and config.
_podman() {
	CONTAINERS_CONF="$PODMAN_CONF" _cgroup2 \
		timeout -s KILL "$CONTAINER_TIMEOUT" podman "${PODMAN_GLOBAL[@]}" "$@"
}

# _captured CMD...: run CMD and print its combined output. The output goes
# through a file, not bats' pipe: a container outliving its killed runtime
# would hold the pipe open, and `run` would wait for it.
_captured() {
	local out="$BATS_TEST_TMPDIR/.output" rc=0
	"$@" >"$out" 2>&1 </dev/null || rc=$?
	cat "$out"
	rm -f "$out"
	return "$rc"
}

# make_rootfs DIR: the busybox rootfs, built once per bats run and copied
# to DIR (which must not exist yet).
make_rootfs() {
	local cache="$BATS_RUN_TMPDIR/rootfs"
	if [ ! -d "$cache" ]; then
		local tmp a
		tmp=$(mktemp -d "$BATS_RUN_TMPDIR/rootfs.XXXXXX")
		# Mount points and the files podman bind-mounts over must exist:
		# a runtime in a user namespace cannot create them in a rootfs
		# owned by host root.
		mkdir -p "$tmp"/{bin,etc,proc,dev,sys,tmp,run}
		chmod 0755 "$tmp"
		chmod 1777 "$tmp/tmp"
		cp /bin/busybox "$tmp/bin/"
		for a in "${BUSYBOX_APPLETS[@]}"; do ln -s busybox "$tmp/bin/$a"; done
		cat >"$tmp/etc/passwd" <<-EOF
			root:x:0:0:root:/root:/bin/sh
			user999:x:999:999:user999:/tmp:/bin/sh
			user1000:x:1000:1000:user1000:/tmp:/bin/sh
			nobody:x:65534:65534:nobody:/nonexistent:/bin/false
		EOF
		cat >"$tmp/etc/group" <<-EOF
			root:x:0:
			user999:x:999:
			user1000:x:1000:
			nogroup:x:65534:
		EOF
		touch "$tmp"/etc/{hosts,hostname,resolv.conf} "$tmp/run/.containerenv"
		# Another bats job may have won the race; keep its copy.
		mv -T "$tmp" "$cache" 2>/dev/null || rm -rf "$tmp"
	fi
	cp -a "$cache" "$1"
}

# make_bundle NAME: a fresh bundle under the test's temp dir; prints its path.
make_bundle() {
	local b="$BATS_TEST_TMPDIR/$1"
	[ ! -e "$b" ] || { echo "make_bundle: $b exists" >&2; return 1; }
	mkdir "$b"
	chmod 0755 "$b"
	make_rootfs "$b/rootfs"
	runc spec --bundle "$b"
	# No terminal (tests capture output); a writable rootfs; the
	# capabilities an engine gives root (runc spec's three would leave even
	# root unable to write a dir it does not own); and no linux.resources:
	# its device rules need an eBPF program under cgroup2, which this
	# machine refuses (crun: "setrlimit (RLIM_MEMLOCK)").
	_jq_list "${ENGINE_CAPS[@]}"
	update_config "$b" '.process.terminal = false
		| .process.args = ["sh", "-c", "true"]
		| .root.readonly = false
		| .process.capabilities = ('"$JQ_LIST"' | map("CAP_" + .)
			| {bounding: ., effective: ., permitted: .})
		| del(.linux.resources)' "${JQ_LIST_ARGS[@]}"
	echo "$b"
}

# update_config BUNDLE JQ_EXPR [jq args...]: edit BUNDLE/config.json in place.
update_config() {
	local cfg="$1/config.json" expr=$2
	shift 2
	jq "$expr" "$cfg" "$@" >"$cfg.new" && mv "$cfg.new" "$cfg"
}

# _jq_list ARG...: pass a list of strings to jq. Sets JQ_LIST_ARGS (jq
# options) and JQ_LIST (a jq expression for the list). Not `--args`: jq 1.6
# would still parse "-c" in `sh -c ...` as its own option.
_jq_list() {
	local i=0 a
	JQ_LIST_ARGS=()
	for a; do
		JQ_LIST_ARGS+=(--arg "list$i" "$a")
		i=$((i + 1))
	done
	JQ_LIST="[range($i) as \$i | \$ARGS.named[\"list\\(\$i)\"]]"
}

# bundle_args BUNDLE CMD...: what the container runs.
bundle_args() {
	local b=$1
	shift
	_jq_list "$@"
	update_config "$b" ".process.args = $JQ_LIST" "${JQ_LIST_ARGS[@]}"
}

# bundle_user BUNDLE UID GID: who the container runs as. Like podman and
# Docker, a non-root user keeps capabilities only in the bounding set.
bundle_user() {
	update_config "$1" '.process.user = {uid: $u, gid: $g}
		| .process.capabilities |= (
			(if $u == 0 then .bounding else [] end) as $c
			| .effective = $c | .permitted = $c)' \
		--argjson u "$2" --argjson g "$3"
}

# bundle_userns BUNDLE MAP...: a user namespace with each MAP, in OCI order
# containerID:hostID:size, for both uids and gids (e.g. 0:100000:65536).
bundle_userns() {
	local b=$1
	shift
	_jq_list "$@"
	update_config "$b" "($JQ_LIST"' | map(split(":") | map(tonumber)
			| {containerID: .[0], hostID: .[1], size: .[2]})) as $m
		| .linux.namespaces |= (map(select(.type != "user")) + [{type: "user"}])
		| .linux.uidMappings = $m | .linux.gidMappings = $m' "${JQ_LIST_ARGS[@]}"
}

# bundle_bind BUNDLE SRC DEST [OPTION...]: bind-mount host SRC at DEST,
# options rbind,rw unless given. Also makes the mount point in the rootfs.
bundle_bind() {
	local b=$1 src=$2 dest=$3
	shift 3
	[ $# -gt 0 ] || set -- rbind rw
	_make_mountpoint "$b/rootfs" "$src" "$dest"
	_jq_list "$@"
	update_config "$b" '.mounts += [{destination: $d, type: "bind",
		source: $s, options: '"$JQ_LIST"'}]' \
		--arg s "$src" --arg d "$dest" "${JQ_LIST_ARGS[@]}"
}

# bundle_annotation BUNDLE KEY VALUE
bundle_annotation() {
	update_config "$1" '.annotations[$k] = $v' --arg k "$2" --arg v "$3"
}

# bundle_env BUNDLE K=V: set (or replace) one environment variable.
bundle_env() {
	update_config "$1" '.process.env = ((.process.env // [])
		| map(select(startswith(($kv | split("=")[0]) + "=") | not)) + [$kv])' \
		--arg kv "$2"
}

# bundle_hook BUNDLE STAGE PATH [ARG...]: append a hook to hooks.STAGE.
# OCI args include argv[0]; we pass PATH there, then ARG...
bundle_hook() {
	local b=$1 stage=$2 path=$3
	shift 3
	_jq_list "$path" "$@"
	update_config "$b" '.hooks[$st] += [{path: $p, args: '"$JQ_LIST"'}]' \
		--arg st "$stage" --arg p "$path" "${JQ_LIST_ARGS[@]}"
}

# host_owner PATH: "uid:gid" as the host sees it.
host_owner() {
	stat -c %u:%g "$1"
}

# make_host_dir NAME UID:GID [MODE]: a host dir under the test's temp dir
# (mode 0755 unless given); prints its path.
make_host_dir() {
	local d="$BATS_TEST_TMPDIR/$1"
	mkdir -p "$d"
	chown "$2" "$d"
	chmod "${3:-0755}" "$d"
	echo "$d"
}

# A unique container id; remembered so teardown_common can delete it.
_new_id() {
	local id="oih-${BATS_SUITE_TEST_NUMBER:-0}-$BASHPID-$RANDOM"
	echo "$1 $id" >>"$CONTAINERS_FILE"
	echo "$id"
}

# Mount points must exist before a runtime in a user namespace starts: it
# cannot create them in a rootfs owned by host root.
_make_mountpoint() {
	local rootfs=$1 src=$2 dest=$3
	if [ -d "$src" ]; then
		mkdir -p "$rootfs/$dest"
	else
		mkdir -p "$(dirname "$rootfs/$dest")"
		touch "$rootfs/$dest"
	fi
}

# asking_bundle NAME [REQUEST [CMD...]]: a bundle whose container, 999 in a
# user namespace, asks for the hook by annotation (REQUEST, default /data)
# but does not carry it: what an engine without hooks.d hands to the shim,
# or what inject is run on.  CMD: by default, stat /data and write there.
asking_bundle() {
	local b
	b=$(make_bundle "$1")
	bundle_userns "$b" 0:100000:65536
	bundle_user "$b" 999 999
	bundle_bind "$b" "$DATA" /data
	bundle_annotation "$b" oci-idmap-hook/mounts "${2:-/data}"
	if [ $# -gt 2 ]; then
		bundle_args "$b" "${@:3}"
	else
		bundle_args "$b" sh -c 'exec 2>&1; stat -c %u:%g /data; touch /data/new'
	fi
	echo "$b"
}

# assert_fixed: the asking bundle's container owned /data and what it wrote
# is the host's 1000.
assert_fixed() {
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 999:999 ]
	[ "$(host_owner "$DATA/new")" = 1000:1000 ]
}

# The shim, called as an engine calls runc: global flags, then the command.
run_shim() {
	local id
	id=$(_new_id runc)
	run timeout -k 5 "$CONTAINER_TIMEOUT" "$RUNTIME" "$@" "$id" </dev/null
	_show_run shim
	runc --root "$RUNC_ROOT" delete -f "$id" >/dev/null 2>&1 || true
}

# bats prints a test's stdout only when it fails: show what ran.
_show_run() {
	printf '%s exited %s, output:\n%s\n' "$1" "$status" "$output"
}

# run_crun BUNDLE: run to completion; output and exit code in $output/$status.
run_crun() {
	local id
	id=$(_new_id crun)
	# No cgroups at all: nothing to leak, and the hook must not care.
	run _captured _cgroup2 timeout -s KILL "$CONTAINER_TIMEOUT" \
		crun --root "$CRUN_ROOT" --cgroup-manager=disabled \
		run --bundle "$1" "$id"
	_show_run crun
	_cgroup2 crun --root "$CRUN_ROOT" delete -f "$id" >/dev/null 2>&1 || true
}

# run_runc BUNDLE: as run_crun. runc is happy with hybrid cgroups; without
# linux.resources it still makes and removes one cgroup per container.
run_runc() {
	local id
	id=$(_new_id runc)
	run _captured timeout -s KILL "$CONTAINER_TIMEOUT" \
		runc --root "$RUNC_ROOT" run --bundle "$1" "$id"
	_show_run runc
	runc --root "$RUNC_ROOT" delete -f "$id" >/dev/null 2>&1 || true
}

# run_podman [RUN_OPTION...] CMD...: rootful `podman run --rm` on a copy of
# the busybox rootfs ($PODMAN_ROOTFS, made per test; podman writes to it).
# --hooks-dir is a global podman option and is moved there, each in its
# order (a later directory's file masks an earlier one's of the same name);
# without one we pass an empty dir, so only hooks a test asks for run. Mount points for
# -v/--volume are created in the rootfs.
run_podman() {
	local opts=() hooks_dirs=() id arg spec="" src dest
	PODMAN_ROOTFS="$BATS_TEST_TMPDIR/podman-rootfs"
	[ -d "$PODMAN_ROOTFS" ] || make_rootfs "$PODMAN_ROOTFS"
	# Split run options from the command: the rootfs must come right
	# after --rootfs, which is where the command begins.
	while [ $# -gt 0 ]; do
		arg=$1
		case "$arg" in
		--hooks-dir=*) hooks_dirs+=(--hooks-dir "${arg#*=}") ;;
		--hooks-dir) hooks_dirs+=(--hooks-dir "$2") && shift ;;
		-v | --volume) spec=$2 && opts+=("$arg" "$2") && shift ;;
		-v=* | --volume=*) spec=${arg#*=} && opts+=("$arg") ;;
		--*=*) opts+=("$arg") ;;
		--uidmap | --gidmap | -u | --user | --annotation | -e | --env | \
			--mount | -w | --workdir | --userns | --entrypoint | --name | \
			--security-opt | --cap-add | --cap-drop | --group-add | --tmpfs | \
			--subuidname | --subgidname | --ulimit | --label | -l)
			opts+=("$arg" "$2") && shift ;;
		-*) opts+=("$arg") ;;
		*) break ;;
		esac
		if [ -n "$spec" ]; then
			# SRC:DEST[:OPTIONS]
			IFS=: read -r src dest _ <<<"$spec"
			_make_mountpoint "$PODMAN_ROOTFS" "$src" "$dest"
			spec=""
		fi
		shift
	done
	if [ "${#hooks_dirs[@]}" -eq 0 ]; then
		hooks_dirs=(--hooks-dir "$BATS_TEST_TMPDIR/no-hooks.d")
		mkdir -p "${hooks_dirs[1]}"
	fi
	id=$(_new_id podman)
	run _captured _podman "${hooks_dirs[@]}" run "${PODMAN_RUN[@]}" \
		--name "$id" "${opts[@]}" --rootfs "$PODMAN_ROOTFS" "$@"
	_show_run podman
	# --rm has removed it, unless podman was killed.
	[ "$status" -ne 137 ] || _podman rm -f -t 0 "$id" >/dev/null 2>&1 || true
}
