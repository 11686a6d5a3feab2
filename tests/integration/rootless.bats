#!/usr/bin/env bats
# shellcheck disable=SC2154  # $status, $output and $lines are set by bats' `run`.
# Rootless podman: the hook runs as uid 0 of the user's own user namespace,
# not as real root.  A real rootless user (subordinate ids from /etc/subuid),
# real rootless podman, the hook registered with --hooks-dir; owners checked
# on the host, and from inside the container.

load helpers

RL_USER=oih-rootless

setup() {
	setup_common
	requires_hook
	id "$RL_USER" >/dev/null 2>&1 || useradd -m -s /bin/sh "$RL_USER"
	RL_UID=$(id -u "$RL_USER")
	RL_HOME=$(getent passwd "$RL_USER" | cut -d: -f6)
	grep -q "^$RL_USER:" /etc/subuid || echo "$RL_USER:300000:65536" >>/etc/subuid
	grep -q "^$RL_USER:" /etc/subgid || echo "$RL_USER:300000:65536" >>/etc/subgid
	# The user's first subordinate id is container id 1 (0 is the user).
	SUB_BASE=$(awk -F: -v u="$RL_USER" '$1 == u { print $2; exit }' /etc/subuid)
	SUB_COUNT=$(awk -F: -v u="$RL_USER" '$1 == u { print $3; exit }' /etc/subuid)
	RL_RUN=/run/user/$RL_UID
	mkdir -p "$RL_RUN"
	chown "$RL_USER:" "$RL_RUN"
	chmod 0700 "$RL_RUN"
	# Everything the user's podman touches lives in the user's home.
	W="$RL_HOME/oih-test"
	rm -rf "$W" "$RL_HOME/.local/share/oci-idmap-hook"
	mkdir -p "$W/hooks" "$W/data/sub"
	make_rootfs "$W/rootfs"
	echo a >"$W/data/sub/a"
	cat >"$W/hooks/oci-idmap-hook.json" <<-EOF
		{"version": "1.0.0",
		 "hook": {"path": "$HOOK", "args": ["oci-idmap-hook", "--verbose", "--log", "$W/hook.log", "prestart"]},
		 "when": {"annotations": {"^oci-idmap-hook/mounts$": ".*"}},
		 "stages": ["prestart", "poststop"]}
	EOF
	chown -R "$RL_USER:" "$W"
}

teardown() {
	local pid
	pid=$(cat "$RL_RUN/libpod/tmp/pause.pid" 2>/dev/null) && kill "$pid" 2>/dev/null
	rm -rf "$W" "$RL_HOME/.local/share/oci-idmap-hook"
	teardown_common
}

# rl_podman ARG...: `podman run` as the rootless user, our hooks dir, the
# volume at /data, then ARG... (options, then the command).
rl_podman() {
	local opts=()
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		opts+=("$1")
		shift
	done
	shift
	run _captured "$REPO/scripts/with-cgroup2" timeout -s KILL "$CONTAINER_TIMEOUT" \
		runuser -u "$RL_USER" -- env -C "$W" HOME="$RL_HOME" XDG_RUNTIME_DIR="$RL_RUN" \
		podman --root "$W/storage" --runroot "$W/runroot" --storage-driver vfs --events-backend none \
		--hooks-dir "$W/hooks" run --rm --network=none --cgroups=disabled --ulimit host \
		-v "$W/data:/data" "${opts[@]}" --rootfs "$W/rootfs" "$@"
}

@test "rootless: a uid-999 container owns and writes the user's own volume with /data=chown" {
	[ "$(stat -c %u "$W/data/sub/a")" = "$RL_UID" ]
	rl_podman --user 999:999 --annotation oci-idmap-hook/mounts=/data=chown -- \
		sh -c 'exec 2>&1; stat -c "%u:%g" /data /data/sub/a; echo x >/data/new && echo wrote'
	[ "$status" -eq 0 ]
	[[ "$output" == *"999:999"$'\n'"999:999"$'\n'"wrote"* ]]
	# Container 999 is the user's subordinate id 998 places up.
	want=$((SUB_BASE + 998)):$((SUB_BASE + 998))
	[ "$(stat -c %u:%g "$W/data")" = "$want" ]
	[ "$(stat -c %u:%g "$W/data/sub/a")" = "$want" ]
	[ "$(stat -c %u:%g "$W/data/new")" = "$want" ]
	grep -q "rootless: in a user namespace of host uid $RL_UID" "$W/hook.log"
	# The journal is the user's, in the user's home.
	j=$(echo "$RL_HOME"/.local/share/oci-idmap-hook/journal/*.journal)
	[ -f "$j" ]
	[ "$(stat -c %U "$j")" = "$RL_USER" ]
	# Real root must not restore it: its 0 is the user, root's 0 is root.
	run "$HOOK" restore --journal "$j"
	[ "$status" -ne 0 ]
	[[ "$output" == *"its ids are those of user namespace 0:$RL_UID:1,"*"and this restore runs in initial"* ]]
	[ "$(stat -c %u:%g "$W/data")" = "$want" ]
}

@test "rootless: /data=idmap stops the start with one line that says why and what to use" {
	rl_podman --user 999:999 --annotation oci-idmap-hook/mounts=/data=idmap -- sh -c 'echo STARTED'
	[ "$status" -ne 0 ]
	[[ "$output" != *STARTED* ]]
	grep -q "/data: .*cannot idmap it: the hook runs in a rootless engine's user namespace, and idmapped mounts need real root; use mode chown (or podman's :U)" "$W/hook.log"
	[ "$(stat -c %u "$W/data/sub/a")" = "$RL_UID" ]
}

@test "rootless: auto chooses chown" {
	rl_podman --user 1000:1000 --annotation oci-idmap-hook/mounts=/data=auto -- sh -c 'stat -c %u:%g /data/sub/a'
	[ "$status" -eq 0 ]
	[ "${lines[-1]}" = 1000:1000 ]
	[ "$(stat -c %u "$W/data/sub/a")" = $((SUB_BASE + 999)) ]
	grep -q "/data: chown $W/data (.*mode auto)" "$W/hook.log"
}

@test "rootless: files of ids outside the user's namespace are left alone and counted" {
	echo r >"$W/data/sub/roots"
	chown 0:0 "$W/data/sub/roots"
	rl_podman --user 999:999 --annotation oci-idmap-hook/mounts=/data=chown -- true
	[ "$status" -eq 0 ]
	[ "$(stat -c %u:%g "$W/data/sub/roots")" = 0:0 ]
	[ "$(stat -c %u "$W/data/sub/a")" = $((SUB_BASE + 998)) ]
	grep -q "1 owned by ids outside your user namespace (shown as nobody) left as they are" "$W/hook.log"
}

@test "rootless: restore in the user's namespace (podman unshare) gives the tree back to the user" {
	echo s >"$W/data/suid"
	chown "$RL_USER:" "$W/data/suid"
	chmod 4755 "$W/data/suid"
	rl_podman --user 999:999 --annotation oci-idmap-hook/mounts=/data=chown -- true
	[ "$status" -eq 0 ]
	[ "$(stat -c %u "$W/data/sub/a")" = $((SUB_BASE + 998)) ]
	[ "$(stat -c '%u %a' "$W/data/suid")" = "$((SUB_BASE + 998)) 4755" ]
	j=$(echo "$RL_HOME"/.local/share/oci-idmap-hook/journal/*.journal)
	run _captured runuser -u "$RL_USER" -- env -C "$W" HOME="$RL_HOME" XDG_RUNTIME_DIR="$RL_RUN" \
		podman --root "$W/storage" --runroot "$W/runroot" --storage-driver vfs unshare "$HOOK" restore --journal "$j"
	[ "$status" -eq 0 ]
	for f in "$W/data" "$W/data/sub" "$W/data/sub/a"; do
		[ "$(stat -c %u:%g "$f")" = "$RL_UID:$(id -g "$RL_USER")" ]
	done
	[ "$(stat -c '%u %a' "$W/data/suid")" = "$RL_UID 4755" ]
}

@test "rootless: chown+restore gives the tree back at poststop, and the container's new files to the user" {
	rl_podman --user 999:999 --annotation oci-idmap-hook/mounts=/data=chown+restore -- \
		sh -c 'stat -c %u:%g /data/sub/a; echo n >/data/sub/new'
	[ "$status" -eq 0 ]
	[[ "$output" == *999:999* ]]
	[ "$(stat -c %u:%g "$W/data/sub/a")" = "$RL_UID:$(id -g "$RL_USER")" ]
	[ "$(stat -c %u:%g "$W/data/sub/new")" = "$RL_UID:$(id -g "$RL_USER")" ]
}

@test "rootless: a target user outside the user's namespace is refused with one line; nothing changes" {
	rl_podman --user 999:999 --annotation oci-idmap-hook/mounts=/data=chown \
		--annotation oci-idmap-hook/user=70000:70000 -- sh -c 'echo STARTED'
	[ "$status" -ne 0 ]
	[[ "$output" != *STARTED* ]]
	grep -q "/data: .*the target 70000:70000 is outside your user namespace (uids 0:$RL_UID:1,1:$SUB_BASE:$SUB_COUNT), so it cannot own files; run the container as a user below the size of your /etc/subuid and /etc/subgid ranges" "$W/hook.log"
	[ "$(stat -c %u "$W/data/sub/a")" = "$RL_UID" ]
}
