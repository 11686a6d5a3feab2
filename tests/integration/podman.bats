#!/usr/bin/env bats
# podman finds the hook through the hooks.d file that `make install` writes,
# runs it only for containers that carry the annotation, and shows its error.

load helpers

setup() {
	setup_hook_test
	PREFIX="$BATS_TEST_TMPDIR/prefix"
	HOOKS_DIR="$BATS_TEST_TMPDIR/hooks.d"
	HOOK_LOG="$BATS_TEST_TMPDIR/hook.log"
	make -s -C "$REPO" install PREFIX="$PREFIX" HOOKSDIR="$HOOKS_DIR" HOOKLOG="$HOOK_LOG" >/dev/null
	HOOKS_FILE="$HOOKS_DIR/oci-idmap-hook.json"
}

teardown() {
	teardown_common
}

podman_userns() {
	run_podman --hooks-dir "$HOOKS_DIR" --uidmap 0:100000:65536 --gidmap 0:100000:65536 "$@"
}

@test "make install lays out the package's files: the binary in libexec, its registration in the vendor hooks.d, the commands as links" {
	local bin="$PREFIX/libexec/oci/hooks.d/oci-idmap-hook"
	run jq -e --arg p "$bin" --arg log "$HOOK_LOG" '
		.version == "1.0.0"
		and .hook.path == $p
		and .hook.args == ["oci-idmap-hook", "--log", $log, "prestart"]
		and .stages == ["prestart", "poststop"]
		and .when.annotations == {"^oci-idmap-hook/mounts(\\.[^/]+)?$": ".*"}
		and (keys - ["version", "hook", "when", "stages"]) == []' "$HOOKS_FILE"
	[ "$status" -eq 0 ]
	cmp "$bin" "$REPO/build/oci-idmap-hook"
	[ "$(stat -c %a "$bin")" = 755 ]
	# Relative links, so that the tree can move (DESTDIR, a package).
	[ "$(readlink "$PREFIX/bin/oci-idmap-hook")" = ../libexec/oci/hooks.d/oci-idmap-hook ]
	[ "$(readlink "$PREFIX/bin/oci-idmap-runtime")" = ../libexec/oci/hooks.d/oci-idmap-hook ]
	# Called by that name, it is the runtime shim.
	"$PREFIX/bin/oci-idmap-runtime" --help | grep -q '^Usage: oci-idmap-runtime '
	# The registration for every container differs only in its "when".
	run jq -e --slurpfile a "$HOOKS_FILE" '.when == {"always": true} and del(.when) == ($a[0] | del(.when))' \
		"$PREFIX/share/oci-idmap-hook/oci-idmap-hook-always.json"
	[ "$status" -eq 0 ]
	[ -f "$PREFIX/share/man/man1/oci-idmap-hook.1" ]
	# The example policy is the documented default, and the hook takes it.
	local example="$PREFIX/share/doc/oci-idmap-hook/examples/policy.json"
	mkdir "$BATS_TEST_TMPDIR/rootfs"
	run "$bin" doctor --policy "$example" --rootfs "$BATS_TEST_TMPDIR/rootfs" --uidmap 0:100000:65536 --mount "$DATA:/data"
	# 1: the doctor found the problem the hook fixes; 2 would be a bad policy.
	[ "$status" -eq 1 ]
	[ "${lines[3]}" = "policy:  $example (--policy)" ]
	make -s -C "$REPO" uninstall PREFIX="$PREFIX" HOOKSDIR="$HOOKS_DIR" >/dev/null
	run find "$PREFIX" "$HOOKS_DIR" ! -type d
	[ "$status" -eq 0 ]
	[ -z "$output" ]
}

@test "podman: user 999 owns and writes a host dir owned by 1000 when the container asks by annotation" {
	podman_userns --user 999:999 -v "$DATA:/data" --annotation oci-idmap-hook/mounts=/data \
		sh -c 'exec 2>&1; stat -c %u:%g /data; touch /data/new && stat -c %u:%g /data/new'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 999:999 ]
	[ "${lines[1]}" = 999:999 ]
	[ "$(host_owner "$DATA/new")" = 1000:1000 ]
}

@test "podman: user 1000 owns and writes a host dir owned by 1000 when the container asks by annotation" {
	podman_userns --user 1000:1000 -v "$DATA:/data" --annotation oci-idmap-hook/mounts=/data \
		sh -c 'exec 2>&1; stat -c %u:%g /data; touch /data/new'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 1000:1000 ]
	[ "$(host_owner "$DATA/new")" = 1000:1000 ]
}

@test "podman: a container without the annotation does not run the hook" {
	podman_userns --user 999:999 -v "$DATA:/data" sh -c 'exec 2>&1; stat -c %u:%g /data; touch /data/new'
	[ "$status" -ne 0 ]
	[ "${lines[0]}" = 65534:65534 ]
	[ ! -e "$DATA/new" ]
}

@test "podman: two mounts with ';' in one --annotation arrive intact" {
	OTHER=$(make_host_dir other 2000:2000 0755)
	podman_userns --user 999:999 -v "$DATA:/data" -v "$OTHER:/other" \
		--annotation 'oci-idmap-hook/mounts=/data;/other=idmap' \
		stat -c %u:%g /data /other
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 999:999 ]
	[ "${lines[1]}" = 999:999 ]
}

@test "podman: a mount that podman already idmapped (:idmap) is re-mapped so the owner shows as the user" {
	podman_userns --user 999:999 -v "$DATA:/data:idmap" --annotation oci-idmap-hook/mounts=/data \
		sh -c 'exec 2>&1; stat -c %u:%g /data; touch /data/new'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 999:999 ]
	[ "$(host_owner "$DATA/new")" = 1000:1000 ]
}

# podman 4 leaves the hosts and resolv.conf it bind-mounts host root's (so
# they show as nobody in the user namespace); podman 5 gives them to the
# container's root (host 100000 here, 0:0 inside).  Either way '*' must
# leave them as podman made them: compared with a run without the hook.
@test "podman: '*' serves the volume and leaves podman's own files (hosts, resolv.conf) alone" {
	podman_userns --user 999:999 -v "$DATA:/data" stat -c '%n %u:%g' /etc/hosts /etc/resolv.conf
	[ "$status" -eq 0 ]
	local unhooked=("${lines[@]}")
	[ "${#unhooked[@]}" -eq 2 ]
	podman_userns --user 999:999 -v "$DATA:/data" --annotation 'oci-idmap-hook/mounts=*' \
		stat -c '%n %u:%g' /data /etc/hosts /etc/resolv.conf
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "/data 999:999" ]
	[ "${lines[1]}" = "${unhooked[0]}" ]
	[ "${lines[2]}" = "${unhooked[1]}" ]
}

@test "podman: a refused request stops the container and the hook's message is in its log" {
	chown 0:0 "$DATA"
	podman_userns --user 999:999 -v "$DATA:/data" --annotation oci-idmap-hook/mounts=/data echo STARTED
	[ "$status" -ne 0 ]
	[[ "$output" != *STARTED* ]]
	# podman shows only "error executing hook ... (exit code: 1)".
	[[ "$output" == *"error executing hook"* ]]
	run cat "$HOOK_LOG"
	[ "${#lines[@]}" -eq 1 ]
	[[ "${lines[0]}" =~ ^[0-9T:-]+Z\ oci-idmap-hook\[[0-9]+\]\ container\ [0-9a-f]{64}:\ /data:\ cannot\ idmap\ \'$DATA\':\ its\ top\ directory\ is\ owned\ by\ host\ root ]]
}

# CRI-O copies a pod's annotations into every container of the pod and adds
# io.kubernetes.container.name (and its sandbox marker to the pause
# container); podman's --annotation sets the same OCI annotations.
@test "podman: a key scoped to one pod container (mounts.NAME) reaches only the container of that name" {
	local pod=(--annotation oci-idmap-hook/mounts.db=/data --annotation oci-idmap-hook/user.db=999:999)
	podman_userns "${pod[@]}" --annotation io.kubernetes.container.name=db --user 999:999 -v "$DATA:/data" \
		sh -c 'stat -c %u:%g /data; touch /data/new'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 999:999 ]
	[ "$(host_owner "$DATA/new")" = 1000:1000 ]
	# The hooks.d file runs the hook for the sidecar too; the hook leaves it alone.
	podman_userns "${pod[@]}" --annotation io.kubernetes.container.name=sidecar --user 999:999 -v "$DATA:/data" \
		stat -c %u:%g /data
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 65534:65534 ]
}

@test "podman: the scoped key beats the pod-wide one, and the pod's sandbox container is left alone" {
	OTHER=$(make_host_dir other 2000:2000 0755)
	local pod=(--annotation 'oci-idmap-hook/mounts=/nonexistent' --annotation oci-idmap-hook/mounts.db=/other)
	podman_userns "${pod[@]}" --annotation io.kubernetes.container.name=db --user 999:999 \
		-v "$DATA:/data" -v "$OTHER:/other" stat -c %u:%g /data /other
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 65534:65534 ]
	[ "${lines[1]}" = 999:999 ]
	# The pause container has no /nonexistent mount: asking would fail it.
	podman_userns "${pod[@]}" --annotation io.kubernetes.container.name=POD \
		--annotation io.kubernetes.cri-o.ContainerType=sandbox echo STARTED
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = STARTED ]
	[ ! -s "$HOOK_LOG" ]
}

# The package's layout: the registration in the vendor directory, and the
# administrator's directory after it in podman's hooks_dir (Debian's podman
# reads only /usr/share/containers/oci/hooks.d unless containers.conf names
# /etc/containers/oci/hooks.d too: tests/packages checks that with the real
# defaults); a later directory's file of the same name masks the earlier
# one.  Here the two directories are the tests'.
admin_hooks_dir() {
	ADMIN_HOOKS_DIR="$BATS_TEST_TMPDIR/etc-hooks.d"
	mkdir -p "$ADMIN_HOOKS_DIR"
}

@test "podman: an administrator's file of the same name masks the vendor registration" {
	admin_hooks_dir
	# The administrator's copy logs elsewhere: whichever ran says so.
	jq --arg log "$BATS_TEST_TMPDIR/admin.log" '.hook.args[2] = $log' "$HOOKS_FILE" \
		>"$ADMIN_HOOKS_DIR/oci-idmap-hook.json"
	chown 0:0 "$DATA"
	podman_userns --hooks-dir "$ADMIN_HOOKS_DIR" --user 999:999 -v "$DATA:/data" \
		--annotation oci-idmap-hook/mounts=/data echo STARTED
	[ "$status" -ne 0 ]
	[ -s "$BATS_TEST_TMPDIR/admin.log" ]
	[ ! -e "$HOOK_LOG" ]
	# An empty "when" that matches nothing masks it entirely.
	jq '.when = {"annotations": {"^never$": "^never$"}}' "$HOOKS_FILE" >"$ADMIN_HOOKS_DIR/oci-idmap-hook.json"
	chown 1000:1000 "$DATA"
	podman_userns --hooks-dir "$ADMIN_HOOKS_DIR" --user 999:999 -v "$DATA:/data" \
		--annotation oci-idmap-hook/mounts=/data stat -c %u:%g /data
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 65534:65534 ]
	[ ! -e "$HOOK_LOG" ]
}

# The always registration, enabled by the administrator in place of the
# vendor file, with a policy whose defaultMounts serves every container.
always_registration() {
	admin_hooks_dir
	POLICY="$BATS_TEST_TMPDIR/policy.json"
	echo "${1:-{\}}" >"$POLICY"
	jq --arg p "$POLICY" '.hook.args |= .[:-1] + ["--policy", $p] + .[-1:]' \
		"$PREFIX/share/oci-idmap-hook/oci-idmap-hook-always.json" >"$ADMIN_HOOKS_DIR/oci-idmap-hook.json"
}

@test "podman: with the always registration, the policy's defaultMounts serves a container that asks for nothing" {
	always_registration '{"defaultMounts": "/data"}'
	podman_userns --hooks-dir "$ADMIN_HOOKS_DIR" --user 999:999 -v "$DATA:/data" \
		sh -c 'exec 2>&1; stat -c %u:%g /data; touch /data/new'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 999:999 ]
	[ "$(host_owner "$DATA/new")" = 1000:1000 ]
	# An annotation still replaces the policy's request.
	OTHER=$(make_host_dir other 2000:2000 0755)
	podman_userns --hooks-dir "$ADMIN_HOOKS_DIR" --user 999:999 -v "$DATA:/data" -v "$OTHER:/other" \
		--annotation oci-idmap-hook/mounts=/other stat -c %u:%g /data /other
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 65534:65534 ]
	[ "${lines[1]}" = 999:999 ]
}

@test "podman: with the always registration and no defaultMounts, a container that asks for nothing starts as before" {
	always_registration
	local f="$ADMIN_HOOKS_DIR/oci-idmap-hook.json"
	jq '.hook.args |= .[:-1] + ["--verbose"] + .[-1:]' "$f" >"$f.new" && mv "$f.new" "$f"
	podman_userns --hooks-dir "$ADMIN_HOOKS_DIR" --user 999:999 -v "$DATA:/data" stat -c %u:%g /data
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 65534:65534 ]
	[ "$(host_owner "$DATA")" = 1000:1000 ]
	# It ran for it, found nothing asked, and left it alone.
	run grep -c ' asks for nothing$' "$HOOK_LOG"
	[ "$output" = 1 ]
	podman_userns --hooks-dir "$ADMIN_HOOKS_DIR" --user 999:999 -v "$DATA:/data" \
		--annotation oci-idmap-hook/mounts=/data stat -c %u:%g /data
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 999:999 ]
}
