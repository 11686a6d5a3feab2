#!/usr/bin/env bats
# Every bad request fails the container start with one clear line, and the
# container's process never runs.

load helpers

setup() {
	setup_hook_test
}

teardown() {
	teardown_common
}

# A user-namespaced container as 999 with $DATA at /data and the hook asked
# for MOUNTS; its process prints STARTED if it ever runs.
bundle_asking() {
	local b
	b=$(userns_hook_bundle c)
	bundle_annotation "$b" oci-idmap-hook/mounts "$1"
	# crun drops a hook's stderr unless told where to put it; runc shows it, but
	# with quotes escaped (so tests that expect quotes use crun).
	bundle_annotation "$b" run.oci.hooks.stderr "$BATS_TEST_TMPDIR/hook.err"
	bundle_args "$b" sh -c 'echo STARTED'
	echo "$b"
}

# The start failed, the process never ran, and the hook said MESSAGE in one line.
assert_refused() {
	local said
	[ "$status" -ne 0 ]
	[[ "$output" != *STARTED* ]]
	said="$output$(cat "$BATS_TEST_TMPDIR/hook.err" 2>/dev/null || true)"
	echo "hook said: $said"
	[[ "$said" == *"oci-idmap-hook: $1"* ]]
	[ "$(grep -o 'oci-idmap-hook: ' <<<"$said" | wc -l)" -eq 1 ]
}

@test "crun: a source owned by host root is refused" {
	chown 0:0 "$DATA"
	run_crun "$(bundle_asking /data)"
	assert_refused "/data: cannot idmap '$DATA': its top directory is owned by host root (0:0); chown it"
}

@test "runc: a source whose group is host root's is refused" {
	chown 1000:0 "$DATA"
	run_runc "$(bundle_asking /data)"
	assert_refused "/data: cannot idmap '$DATA': its top directory's group is host root's (1000:0)"
}

@test "a target user outside the container's mapping is refused" {
	b=$(bundle_asking /data)
	bundle_annotation "$b" oci-idmap-hook/user 70000
	run_crun "$b"
	assert_refused "/data: cannot idmap '$DATA': the target uid 70000 (from oci-idmap-hook/user) is not mapped in the container's user namespace (0:100000:65536)"
}

@test "a destination the container does not mount is refused" {
	run_runc "$(bundle_asking '/data;/nope')"
	assert_refused "/nope: the container has no mount at this path"
	[ ! -e "$DATA/STARTED" ]
}

@test "a mount that is not a bind mount is refused" {
	run_crun "$(bundle_asking /proc)"
	assert_refused "/proc: is a proc mount, not a bind mount"
}

@test "an unknown mode is refused" {
	run_crun "$(bundle_asking /data=bogus)"
	assert_refused 'oci-idmap-hook/mounts: "/data": unknown mode "bogus"; use one of idmap, nsmap, chown, auto, chown+restore'
}

@test "commas in the mounts list are refused with the reason" {
	run_crun "$(bundle_asking /data,/other)"
	assert_refused "oci-idmap-hook/mounts: \"/data,/other\": separate items with ';' or spaces, not ','"
}

@test "a relative destination is refused" {
	run_crun "$(bundle_asking data)"
	assert_refused 'oci-idmap-hook/mounts: "data" is not an absolute container path'
}

@test "a malformed user annotation is refused" {
	b=$(bundle_asking /data)
	bundle_annotation "$b" oci-idmap-hook/user postgres
	run_crun "$b"
	assert_refused 'oci-idmap-hook/user: "postgres": expected UID[:GID] with numeric ids'
}

@test "a filesystem without idmapped mounts is refused with the way out" {
	mount -t ramfs ramfs "$DATA"
	chown 1000:1000 "$DATA"
	run_runc "$(bundle_asking /data)"
	umount "$DATA"
	assert_refused "/data: cannot idmap '$DATA' (ramfs): filesystem does not support idmapped mounts; use mode chown"
}

@test "under '*' a filesystem without idmapped mounts is left as it is" {
	mount -t ramfs ramfs "$DATA"
	chown 1000:1000 "$DATA"
	b=$(bundle_asking '*')
	bundle_args "$b" stat -c %u:%g /data
	run_runc "$b"
	umount "$DATA"
	[ "$status" -eq 0 ]
	[ "$output" = 65534:65534 ]
}

@test "a stage the hook does not serve is a usage error" {
	run "$HOOK" poststart </dev/null
	[ "$status" -eq 2 ]
	[[ "$output" == *"expected STAGE prestart, createRuntime or poststop, not 'poststart'"* ]]
}

@test "a bad option is one usage line and a pointer to --help, for the hook and every command" {
	run "$HOOK" --bogus prestart </dev/null
	[ "$status" -eq 2 ]
	[ "$output" = "$(printf "oci-idmap-hook: unknown option '--bogus'\nTry 'oci-idmap-hook --help'.")" ]
	run "$HOOK" --log
	[ "$status" -eq 2 ]
	[ "$output" = "$(printf "oci-idmap-hook: missing the value of '--log'\nTry 'oci-idmap-hook --help'.")" ]
	for cmd in doctor inject restore; do
		run "$HOOK" "$cmd" --bogus
		[ "$status" -eq 2 ]
		[ "$output" = "$(printf "oci-idmap-hook %s: unknown option '--bogus'\nTry 'oci-idmap-hook %s --help'." "$cmd" "$cmd")" ]
	done
	run "$HOOK" doctor --rootfs
	[ "$status" -eq 2 ]
	[ "$output" = "$(printf "oci-idmap-hook doctor: missing the value of '--rootfs'\nTry 'oci-idmap-hook doctor --help'.")" ]
}

@test "--help describes the stages, the annotations and the options" {
	run "$HOOK" --help
	[ "$status" -eq 0 ]
	[[ "$output" == *"Usage: oci-idmap-hook [OPTIONS] STAGE"* ]]
	[[ "$output" == *"oci-idmap-hook/mounts"* ]]
	[[ "$output" == *"oci-idmap-hook/user"* ]]
	[[ "$output" == *"--allow-host-root"* ]]
	# Every command, each with its own --help.
	[[ "$output" == *"  doctor                 explain why a container could not use its files"* ]]
	[[ "$output" == *"  inject BUNDLE          add this hook to a bundle's config.json"* ]]
	[[ "$output" == *"  restore                undo mode chown from its journal"* ]]
}

@test "garbage on stdin is refused with one line" {
	run "$HOOK" prestart <<<'{"id": "x", "bundle": '
	[ "$status" -eq 1 ]
	[[ "$output" == "oci-idmap-hook: container state on stdin is not valid JSON: "* ]]
	[ "${#lines[@]}" -eq 1 ]
}

@test "a config.json that is a FIFO is refused with one line by the hook, inject and the shim; none of them waits on it" {
	local b="$BATS_TEST_TMPDIR/fifo-bundle"
	mkdir -p "$b"
	mkfifo "$b/config.json"
	run timeout 10 "$HOOK" prestart \
		<<<"{\"ociVersion\": \"1.0.2\", \"id\": \"fifo\", \"status\": \"creating\", \"pid\": $$, \"bundle\": \"$b\"}"
	[ "$status" -eq 1 ]
	[ "$output" = "oci-idmap-hook: '$b/config.json' is not a regular file" ]
	run timeout 10 "$HOOK" inject "$b"
	[ "$status" -eq 1 ]
	[[ "$output" == *"'$b/config.json' is not a regular file" ]]
	[ "${#lines[@]}" -eq 1 ]
	run timeout 10 "$RUNTIME" --idmap-runtime /bin/false run --bundle "$b" fifo
	[ "$status" -eq 1 ]
	[[ "$output" == *"'$b/config.json' is not a regular file" ]]
	[ "${#lines[@]}" -eq 1 ]
}
