#!/usr/bin/env bats
# The problem without the hook, on every runtime: user-namespaced
# containers cannot use a host dir, and root containers litter it with
# root-owned files. Also proves the harness runs real containers.

load helpers

setup() {
	setup_common
	DATA=$(make_host_dir data 1000:1000 0755)
}

teardown() {
	teardown_common
}

# A container mapped 0:100000:65536, running as 999, with the host dir at /data.
userns_bundle() {
	local b
	b=$(make_bundle "$1")
	bundle_userns "$b" 0:100000:65536
	bundle_user "$b" 999 999
	bundle_bind "$b" "$DATA" /data
	bundle_args "$b" sh -c 'exec 2>&1; stat -c %u /data; touch /data/x'
	echo "$b"
}

# Inside: /data is owned by the overflow uid and not writable.
# Outside: nothing was written.
assert_userns_denied() {
	[ "$status" -ne 0 ]
	[ "${lines[0]}" = 65534 ]
	[[ "$output" == *"/data/x: Permission denied"* ]]
	[ ! -e "$DATA/x" ]
	[ "$(host_owner "$DATA")" = 1000:1000 ]
}

@test "crun: a user-namespaced container sees a host dir as nobody's and cannot write to it" {
	run_crun "$(userns_bundle c)"
	assert_userns_denied
}

@test "runc: a user-namespaced container sees a host dir as nobody's and cannot write to it" {
	run_runc "$(userns_bundle c)"
	assert_userns_denied
}

@test "podman: a user-namespaced container sees a host dir as nobody's and cannot write to it" {
	run_podman --uidmap 0:100000:65536 --gidmap 0:100000:65536 \
		--user 999:999 -v "$DATA:/data" \
		sh -c 'exec 2>&1; stat -c %u /data; touch /data/x'
	assert_userns_denied
}

# As root without a user namespace, with the host dir at /data.
root_bundle() {
	local b
	b=$(make_bundle "$1")
	bundle_bind "$b" "$DATA" /data
	bundle_args "$b" sh -c 'exec 2>&1; id -u; touch /data/x && stat -c %u:%g /data/x'
	echo "$b"
}

@test "crun: a root container without a user namespace leaves root-owned files in a host dir" {
	run_crun "$(root_bundle c)"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 0 ]
	[ "${lines[1]}" = 0:0 ]
	[ "$(host_owner "$DATA/x")" = 0:0 ]
}

@test "runc: a root container without a user namespace leaves root-owned files in a host dir" {
	run_runc "$(root_bundle c)"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 0 ]
	[ "${lines[1]}" = 0:0 ]
	[ "$(host_owner "$DATA/x")" = 0:0 ]
}

@test "podman: its own :idmap volume shows a host dir owned by 1000 as 1000 and writes as 1000" {
	requires_idmap
	run_podman --uidmap 0:100000:65536 --gidmap 0:100000:65536 \
		--user 1000:1000 -v "$DATA:/data:idmap" \
		sh -c 'exec 2>&1; stat -c %u:%g /data; touch /data/x && stat -c %u:%g /data/x'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 1000:1000 ]
	[ "${lines[1]}" = 1000:1000 ]
	[ "$(host_owner "$DATA/x")" = 1000:1000 ]
}
