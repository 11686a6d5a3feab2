#!/usr/bin/env bats
# shellcheck disable=SC2154  # $status, $output and $lines are set by bats' `run`.
# Rootless podman: the hook runs as uid 0 of the user's own user namespace,
# not as real root.  A real rootless user (subordinate ids from /etc/subuid),
# real rootless podman, the hook registered with --hooks-dir; owners checked
# on the host, and from inside the container.

load helpers

RL_USER=oih-rootless
RL_ENV=()

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
	mkdir -p "$W/hooks" "$W/data/sub" "$W/bin"
	# The user runs its own copy: the checkout may sit below a directory
	# only root can enter (a clone in mktemp -d's 0700 directory).
	RL_HOOK="$W/bin/oci-idmap-hook"
	cp "$HOOK" "$RL_HOOK"
	make_rootfs "$W/rootfs"
	echo a >"$W/data/sub/a"
	cat >"$W/hooks/oci-idmap-hook.json" <<-EOF
		{"version": "1.0.0",
		 "hook": {"path": "$RL_HOOK", "args": ["oci-idmap-hook", "--verbose", "--log", "$W/hook.log", "prestart"]},
		 "when": {"annotations": {"^oci-idmap-hook/mounts$": ".*"}},
		 "stages": ["prestart", "poststop"]}
	EOF
	chown -R "$RL_USER:" "$W"
}

teardown() {
	local pid
	pid=$(cat "$RL_RUN/libpod/tmp/pause.pid" 2>/dev/null) && kill "$pid" 2>/dev/null
	[ -d "$W/data" ] && chattr -R -i "$W/data" 2>/dev/null
	rm -rf "$W" "$RL_HOME/.local/share/oci-idmap-hook"
	teardown_common
}

# as_user: sets AS_USER, the words that run a command as the rootless user
# in its own environment (plus RL_ENV, an array of VAR=VALUE).
as_user() {
	AS_USER=(runuser -u "$RL_USER" -- env -C "$W" HOME="$RL_HOME" XDG_RUNTIME_DIR="$RL_RUN" "${RL_ENV[@]}")
}

# rl_podman ARG...: `podman run` as the rootless user, with the hooks dir
# RL_HOOKS (default $W/hooks; empty: none), the volume at /data, then
# ARG... (options, then the command).  --rm unless RL_KEEP is set (podman 5
# removes a --cidfile along with the container).
rl_podman() {
	local opts=() hooks=(--hooks-dir "${RL_HOOKS-$W/hooks}") rm=(--rm)
	[ -z "${RL_KEEP:-}" ] || rm=()
	[ -n "${RL_HOOKS-$W/hooks}" ] || hooks=()
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		opts+=("$1")
		shift
	done
	shift
	as_user
	run _captured "$REPO/scripts/with-cgroup2" timeout -s KILL "$CONTAINER_TIMEOUT" \
		"${AS_USER[@]}" podman --root "$W/storage" --runroot "$W/runroot" --storage-driver vfs --events-backend none \
		"${hooks[@]}" run "${rm[@]}" --network=none --cgroups=disabled --ulimit host \
		-v "$W/data:/data" "${opts[@]}" --rootfs "$W/rootfs" "$@"
}

# rl_unshare CMD...: CMD in the user's podman namespace (podman unshare).
rl_unshare() {
	as_user
	run _captured timeout -s KILL "$CONTAINER_TIMEOUT" "${AS_USER[@]}" \
		podman --root "$W/storage" --runroot "$W/runroot" --storage-driver vfs unshare "$@"
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
	grep -qF "/data: cannot idmap '$W/data': idmapped mounts need real root in the initial user namespace, and the hook runs as root of a rootless engine's user namespace (rootless podman); use mode chown (or podman's :U)" "$W/hook.log"
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
	grep -q "/data: chown $W/data: 1 shown as nobody left as they are: owned by ids outside your user namespace" "$W/hook.log"
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
	rl_unshare "$RL_HOOK" restore --journal "$j"
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

@test "rootless: restore --container in podman unshare finds the journal in the user's home without --dir" {
	RL_KEEP=1 rl_podman --user 999:999 --cidfile "$W/cid" --annotation oci-idmap-hook/mounts=/data=chown -- true
	[ "$status" -eq 0 ]
	[ "$(stat -c %u "$W/data/sub/a")" = $((SUB_BASE + 998)) ]
	rl_unshare "$RL_HOOK" restore --container "$(cat "$W/cid")"
	[ "$status" -eq 0 ]
	[ "$output" = "container $(cat "$W/cid"): 1 journal restored" ]
	for f in "$W/data" "$W/data/sub" "$W/data/sub/a"; do
		[ "$(stat -c %u:%g "$f")" = "$RL_UID:$(id -g "$RL_USER")" ]
	done
}

@test "rootless: status in podman unshare lists the user's journal without --dir; restore takes a short id" {
	RL_KEEP=1 rl_podman --user 999:999 --cidfile "$W/cid" --annotation oci-idmap-hook/mounts=/data=chown -- true
	[ "$status" -eq 0 ]
	cid=$(cat "$W/cid")
	rl_unshare "$RL_HOOK" status --json
	[ "$status" -eq 0 ]
	[ "$(jq -r '.journals[0] | [.container, .state, .source, .destination] | join(" ")' <<<"$output")" = "$cid restorable $W/data /data" ]
	[[ "$(jq -r .directory <<<"$output")" == */.local/share/oci-idmap-hook/journal ]]
	rl_unshare "$RL_HOOK" restore --container "${cid:0:12}"
	[ "$status" -eq 0 ]
	[ "$output" = "container $cid: 1 journal restored" ]
	[ "$(stat -c %u "$W/data/sub/a")" = "$RL_UID" ]
}

@test "rootless: a container user who is nobody gets the tree, and starts again on it" {
	# Container 65534 is the user's subordinate id 65533 places up: on a
	# re-run the tree shows as nobody, just as ids outside the namespace do.
	for run in 1 2; do
		rl_podman --user 65534:65534 --annotation oci-idmap-hook/mounts=/data=chown -- \
			sh -c "exec 2>&1; stat -c %u:%g /data/sub/a; echo $run >/data/run$run && echo wrote"
		[ "$status" -eq 0 ]
		[[ "$output" == *"65534:65534"$'\n'"wrote"* ]]
		[ "$(stat -c %u:%g "$W/data/run$run")" = $((SUB_BASE + 65533)):$((SUB_BASE + 65533)) ]
	done
	[ "$(stat -c %u:%g "$W/data/sub/a")" = $((SUB_BASE + 65533)):$((SUB_BASE + 65533)) ]
}

@test "rootless: a walk that fails half way is undone in the user's namespace; one line says why" {
	mkdir -p "$W/data/d1/d2"
	for i in 1 2 3 4 5; do
		echo "$i" >"$W/data/d1/f$i"
		echo "$i" >"$W/data/d1/d2/g$i"
	done
	chown -R "$RL_USER:" "$W/data"
	chattr +i "$W/data/d1/d2/g3" || skip "no immutable files on this filesystem"
	rl_podman --user 999:999 --annotation oci-idmap-hook/mounts=/data=chown -- sh -c 'echo STARTED'
	[ "$status" -ne 0 ]
	[[ "$output" != *STARTED* ]]
	grep -q "/data: $W/data: chown 'd1/d2/g3': Operation not permitted; your user namespace may not change it (immutable or append-only? see lsattr; .*nothing was left changed: the [1-9][0-9]* changes made were undone from the journal" "$W/hook.log"
	[ "$(find "$W/data" ! -uid "$RL_UID" | wc -l)" -eq 0 ]
	[ "$(find "$W/data" ! -gid "$(id -g "$RL_USER")" | wc -l)" -eq 0 ]
	[ -z "$(ls -A "$RL_HOME/.local/share/oci-idmap-hook/journal")" ]
}

@test "rootless: --userns=keep-id shows the user's own tree as the container user's; nothing changes" {
	rl_podman --userns=keep-id --annotation oci-idmap-hook/mounts=/data=chown -- \
		sh -c 'exec 2>&1; id -u; stat -c %u:%g /data/sub/a; echo k >/data/k && echo wrote'
	[ "$status" -eq 0 ]
	[[ "$output" == *"$RL_UID"$'\n'"$RL_UID:$(id -g "$RL_USER")"$'\n'"wrote"* ]]
	[ "$(stat -c %u:%g "$W/data/sub/a" "$W/data/k" | sort -u)" = "$RL_UID:$(id -g "$RL_USER")" ]
	grep -q "/data: chown $W/data ([a-z0-9]*, mode chown): 0 of 3 entries given to on-disk 0:0" "$W/hook.log"
}

@test "rootless: installed for the user with hooks_dir in containers.conf, podman runs the hook without --hooks-dir" {
	local prefix="$W/prefix" conf="$W/config" hooks="$W/config/containers/oci/hooks.d"
	# The README's steps, with $W/config as the user's ~/.config.
	make -s -C "$REPO" install PREFIX="$prefix" HOOKSDIR="$hooks" HOOKLOG="$W/state/hook.log" >/dev/null
	mkdir -p "$W/state"
	chown -R "$RL_USER:" "$W"
	RL_ENV=(XDG_CONFIG_HOME="$conf")
	RL_HOOKS=
	# Rootless podman has no default hooks dir: nothing runs yet.
	rl_podman --user 999:999 --annotation oci-idmap-hook/mounts=/data=chown -- stat -c %u:%g /data/sub/a
	[ "$status" -eq 0 ]
	[ "${lines[-1]}" = 0:0 ]
	[ "$(stat -c %u "$W/data/sub/a")" = "$RL_UID" ]
	[ ! -e "$W/state/hook.log" ]
	as_user
	"${AS_USER[@]}" sh -c 'printf "[engine]\nhooks_dir = [\"%s\"]\n" "$1" >>"$2/containers/containers.conf"' \
		sh "$hooks" "$conf"
	# What the container saw also goes to a file: podman 4.3 now and then
	# loses the output of a container this short (seen: status 0, no line).
	rl_podman --user 999:999 --annotation oci-idmap-hook/mounts=/data=chown -- \
		sh -c 'v=$(stat -c %u:%g /data/sub/a); echo "$v"; echo "$v" >/data/seen'
	[ "$status" -eq 0 ]
	[ "$(cat "$W/data/seen")" = 999:999 ]
	[ "$(stat -c %u "$W/data/sub/a")" = $((SUB_BASE + 998)) ]
	# The hook opened its log as root of the user's namespace: the user.
	[ "$(stat -c %U "$W/state/hook.log")" = "$RL_USER" ]
}

@test "rootless: the user's own policy file is read; one that others may write is refused with one line" {
	mkdir -p "$W/hooks-policy"
	jq '.hook.args |= (.[:-1] + ["--policy", $p] + .[-1:])' --arg p "$W/policy.json" \
		"$W/hooks/oci-idmap-hook.json" >"$W/hooks-policy/oci-idmap-hook.json"
	echo '{"allowedModes": ["idmap"]}' >"$W/policy.json"
	chown -R "$RL_USER:" "$W/policy.json" "$W/hooks-policy"
	RL_HOOKS="$W/hooks-policy" rl_podman --user 999:999 --annotation oci-idmap-hook/mounts=/data=chown -- true
	[ "$status" -ne 0 ]
	grep -qF "/data: refused: mode chown is not in allowedModes of '$W/policy.json'; ask for a mode it lists (idmap), or add chown to allowedModes" "$W/hook.log"
	# The hook sees the user's file as uid 0's: that is the user, as it should be.
	chmod 0666 "$W/policy.json"
	RL_HOOKS="$W/hooks-policy" rl_podman --user 999:999 --annotation oci-idmap-hook/mounts=/data=chown -- true
	[ "$status" -ne 0 ]
	grep -qF "the policy file '$W/policy.json' is owned by uid 0 with mode 0666: it must be owned by root and not writable by group or others" "$W/hook.log"
	[ "$(stat -c %u "$W/data/sub/a")" = "$RL_UID" ]
}

# A drop-in in /etc/containers/containers.conf.d that names the host's
# hooks.d reaches every user's podman: the user then runs the package's
# registration, whose log is root's.
@test "rootless: a registration whose log the user may not open still serves the user's container" {
	mkdir -p "$W/hooks-rootlog" "$W/rootlog"
	chown 0:0 "$W/rootlog"
	chmod 0755 "$W/rootlog"
	jq --arg l "$W/rootlog/hook.log" '.hook.args |= map(if . == $w then $l else . end)' --arg w "$W/hook.log" \
		"$W/hooks/oci-idmap-hook.json" >"$W/hooks-rootlog/oci-idmap-hook.json"
	RL_HOOKS="$W/hooks-rootlog" rl_podman --user 999:999 --annotation oci-idmap-hook/mounts=/data=chown -- \
		sh -c 'v=$(stat -c %u:%g /data/sub/a); echo "$v"; echo "$v" >/data/seen'
	[ "$status" -eq 0 ]
	[ "$(cat "$W/data/seen")" = 999:999 ]
	[ "$(stat -c %u "$W/data/sub/a")" = $((SUB_BASE + 998)) ]
	[ ! -e "$W/rootlog/hook.log" ]
}
