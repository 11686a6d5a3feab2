#!/usr/bin/env bats
# Mode idmap on crun and runc: the owner of a host dir shows inside as the
# container's user, and what that user writes lands on the host as the owner.

load helpers

setup() {
	setup_hook_test
}

teardown() {
	teardown_common
}

# hooked_bundle NAME UID GID: user-namespaced (0:100000:65536), running as
# UID:GID, $DATA at /data, the hook at STAGE (default prestart), asked for /data.
hooked_bundle() {
	local b
	b=$(userns_hook_bundle "$1" "$2" "$3")
	bundle_annotation "$b" oci-idmap-hook/mounts /data
	bundle_args "$b" sh -c 'exec 2>&1; id -u; stat -c %u:%g /data; echo hi > /data/new && stat -c %u:%g /data/new'
	echo "$b"
}

# Inside, /data and the new file are UID:GID; outside, the file is 1000:1000.
assert_owned_by() {
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "$1" ]
	[ "${lines[1]}" = "$1:$2" ]
	[ "${lines[2]}" = "$1:$2" ]
	[ "$(host_owner "$DATA/new")" = 1000:1000 ]
	[ "$(cat "$DATA/new")" = hi ]
	[ "$(host_owner "$DATA")" = 1000:1000 ]
}

@test "crun: user 999 in a user namespace owns and writes a host dir owned by host uid 1000" {
	run_crun "$(hooked_bundle c 999 999)"
	assert_owned_by 999 999
}

@test "crun: user 1000 in a user namespace owns and writes a host dir owned by host uid 1000" {
	run_crun "$(hooked_bundle c 1000 1000)"
	assert_owned_by 1000 1000
}

@test "runc: user 999 in a user namespace owns and writes a host dir owned by host uid 1000" {
	run_runc "$(hooked_bundle c 999 999)"
	assert_owned_by 999 999
}

@test "runc: user 1000 in a user namespace owns and writes a host dir owned by host uid 1000" {
	run_runc "$(hooked_bundle c 1000 1000)"
	assert_owned_by 1000 1000
}

@test "crun: the hook works the same at the createRuntime stage" {
	STAGE=createRuntime
	run_crun "$(hooked_bundle c 999 999)"
	assert_owned_by 999 999
}

@test "runc: the hook works the same at the createRuntime stage" {
	STAGE=createRuntime
	run_runc "$(hooked_bundle c 999 999)"
	assert_owned_by 999 999
}

@test "a container that registers the hook but asks for nothing is left as it was" {
	b=$(hooked_bundle c 999 999)
	update_config "$b" 'del(.annotations["oci-idmap-hook/mounts"])'
	run_crun "$b"
	[ "$status" -ne 0 ]
	[ "${lines[1]}" = 65534:65534 ]
	[[ "$output" == *"Permission denied"* ]]
	[ ! -e "$DATA/new" ]
}

@test "no host file changes owner: other owners inside the dir, the rootfs and the dir's parent stay as they were" {
	mkdir "$DATA/sub"
	touch "$DATA/sub/mine" "$DATA/rootfile" "$DATA/other"
	chown 1000:1000 "$DATA/sub" "$DATA/sub/mine"
	chown 1234:1234 "$DATA/other"
	ln -s /etc/shadow "$DATA/link"
	b=$(hooked_bundle c 999 999)
	# Every file of the host dir and of the bundle (rootfs included), and their parent.
	owners() {
		find "$DATA" "$b" -printf '%p %U:%G %m\n' | sort
		stat -c '%n %u:%g %a' "$BATS_TEST_TMPDIR"
	}
	before=$(owners)
	bundle_args "$b" sh -c 'exec 2>&1; stat -c "%n %u:%g" /data/sub/mine /data/rootfile /data/other; touch /data/sub/mine'
	run_crun "$b"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "/data/sub/mine 999:999" ]
	[ "${lines[1]}" = "/data/rootfile 65534:65534" ]
	[ "${lines[2]}" = "/data/other 65534:65534" ]
	after=$(owners)
	diff <(echo "$before") <(echo "$after")
}

@test "without a user namespace, a root container writes files owned by the dir's owner" {
	b=$(make_bundle c)
	bundle_bind "$b" "$DATA" /data
	bundle_hook "$b" prestart "$HOOK" prestart
	bundle_annotation "$b" oci-idmap-hook/mounts /data
	bundle_args "$b" sh -c 'exec 2>&1; id -u; stat -c %u:%g /data; mkdir /data/build && touch /data/build/out.o'
	run_runc "$b"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 0 ]
	[ "${lines[1]}" = 0:0 ]
	[ "$(host_owner "$DATA/build")" = 1000:1000 ]
	[ "$(host_owner "$DATA/build/out.o")" = 1000:1000 ]
}

@test "a copy that shows files as owned by real root is mounted nosuid; a user-namespaced one is not" {
	b=$(make_bundle c)
	bundle_bind "$b" "$DATA" /data
	bundle_hook "$b" prestart "$HOOK" prestart
	bundle_annotation "$b" oci-idmap-hook/mounts /data
	bundle_args "$b" sh -c 'grep " /data " /proc/self/mountinfo | tail -n 1'
	run_runc "$b"
	[ "$status" -eq 0 ]
	[[ "$output" == *" /data "*nosuid*idmapped* ]]
	b=$(hooked_bundle userns 999 999)
	bundle_args "$b" sh -c 'grep " /data " /proc/self/mountinfo | tail -n 1'
	run_runc "$b"
	[ "$status" -eq 0 ]
	[[ "$output" == *idmapped* ]]
	[[ "$output" != *nosuid* ]]
}

@test "nsmap: on-disk ids are container ids, and host root's files show as nobody" {
	chown 999:999 "$DATA"
	touch "$DATA/rootfile"
	b=$(hooked_bundle c 999 999)
	bundle_annotation "$b" oci-idmap-hook/mounts '/data=nsmap'
	run_crun "$b"
	[ "$status" -eq 0 ]
	[ "${lines[1]}" = 999:999 ]
	[ "${lines[2]}" = 999:999 ]
	[ "$(host_owner "$DATA/new")" = 999:999 ]
	bundle_args "$b" stat -c %u:%g /data/rootfile
	run_crun "$b"
	[ "$status" -eq 0 ]
	[ "$output" = 65534:65534 ]
}

@test "oci-idmap-hook/user=env takes PUID and PGID from the container's environment" {
	b=$(hooked_bundle c 0 0)
	bundle_annotation "$b" oci-idmap-hook/user env
	bundle_env "$b" PUID=1000
	bundle_env "$b" PGID=1001
	bundle_args "$b" stat -c %u:%g /data
	run_runc "$b"
	[ "$status" -eq 0 ]
	[ "$output" = 1000:1001 ]
}

@test "oci-idmap-hook/user=UID:GID names the user explicitly" {
	b=$(hooked_bundle c 0 0)
	bundle_annotation "$b" oci-idmap-hook/user 70:80
	bundle_args "$b" stat -c %u:%g /data
	run_crun "$b"
	[ "$status" -eq 0 ]
	[ "$output" = 70:80 ]
}

@test "engines without annotations: OCI_IDMAP_MOUNTS and OCI_IDMAP_USER in the environment work the same, with --environment full" {
	b=$(hooked_bundle c 0 0)
	# The opt-in: by default OCI_IDMAP_USER may not name another user than process.user.
	update_config "$b" 'del(.annotations["oci-idmap-hook/mounts"])
		| .hooks.prestart[0].args |= (.[:-1] + ["--environment", "full"] + .[-1:])'
	bundle_env "$b" OCI_IDMAP_MOUNTS=/data
	bundle_env "$b" OCI_IDMAP_USER=999:999
	bundle_args "$b" stat -c %u:%g /data
	run_runc "$b"
	[ "$status" -eq 0 ]
	[ "$output" = 999:999 ]
}

@test "an annotation wins over the environment variable" {
	b=$(hooked_bundle c 999 999)
	bundle_env "$b" OCI_IDMAP_MOUNTS=/nonexistent
	bundle_args "$b" stat -c %u:%g /data
	run_runc "$b"
	[ "$status" -eq 0 ]
	[ "$output" = 999:999 ]
}

@test "several mounts in one annotation, separated by ';' and spaces" {
	OTHER=$(make_host_dir other 2000:2000 0755)
	b=$(hooked_bundle c 999 999)
	bundle_bind "$b" "$OTHER" /other
	bundle_annotation "$b" oci-idmap-hook/mounts '/data; /other'
	bundle_args "$b" sh -c 'exec 2>&1; stat -c %u:%g /data /other; touch /other/x'
	run_crun "$b"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 999:999 ]
	[ "${lines[1]}" = 999:999 ]
	[ "$(host_owner "$OTHER/x")" = 2000:2000 ]
}

@test "'*' serves every bind mount of a directory and skips root-owned sources and files" {
	ROOTDIR=$(make_host_dir rootdir 0:0 0755)
	echo x >"$BATS_TEST_TMPDIR/file"
	chown 1000:1000 "$BATS_TEST_TMPDIR/file"
	b=$(hooked_bundle c 999 999)
	bundle_bind "$b" "$ROOTDIR" /rootdir
	bundle_bind "$b" "$BATS_TEST_TMPDIR/file" /file
	bundle_annotation "$b" oci-idmap-hook/mounts '*'
	bundle_args "$b" stat -c '%n %u:%g' /data /rootdir /file
	run_runc "$b"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "/data 999:999" ]
	[ "${lines[1]}" = "/rootdir 65534:65534" ]
	[ "${lines[2]}" = "/file 65534:65534" ]
}

@test "a bind mount below another one is idmapped along with it (rbind)" {
	mkdir "$DATA/inner"
	INNER=$(make_host_dir inner-src 1000:1000 0755)
	touch "$INNER/f"
	chown 1000:1000 "$INNER/f"
	mount --bind "$INNER" "$DATA/inner"
	b=$(hooked_bundle c 999 999)
	bundle_args "$b" stat -c %u:%g /data/inner/f
	# runc, not crun: crun 1.8.1 does not carry submounts into the container here.
	run_runc "$b"
	umount "$DATA/inner"
	[ "$status" -eq 0 ]
	[ "$output" = 999:999 ]
}

@test "--allow-host-root lets the administrator idmap a root-owned source" {
	chown 0:0 "$DATA"
	b=$(hooked_bundle c 999 999)
	update_config "$b" '.hooks.prestart[0].args = [$h, "--allow-host-root", "prestart"]' --arg h "$HOOK"
	run_runc "$b"
	[ "$status" -eq 0 ]
	[ "${lines[1]}" = 999:999 ]
	[ "$(host_owner "$DATA/new")" = 0:0 ]
}
