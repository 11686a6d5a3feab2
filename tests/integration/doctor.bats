#!/usr/bin/env bats
# oci-idmap-hook doctor: it names what will make a container fail, before
# it runs, and what it says is what really happens in the container.

load helpers

setup() {
	setup_hook_test
}

teardown() {
	teardown_common
}

# doctor ARG...: run the doctor, output and exit status in $output/$status.
doctor() {
	run "$HOOK" doctor "$@"
	printf 'doctor %s exited %s, output:\n%s\n' "$*" "$status" "$output"
}

# A user-namespaced (0:100000:65536) bundle running as 999:999, with $DATA at
# /data and the hook registered, but nothing asked of it yet.
plain_bundle() {
	local b
	b=$(userns_hook_bundle c)
	bundle_args "$b" sh -c 'stat -c %u:%g /data; echo hi > /data/new'
	echo "$b"
}

@test "a rootfs file owned by uid 1000000 under 0:100000:65536 is found and named" {
	make_rootfs "$BATS_TEST_TMPDIR/rootfs"
	mkdir "$BATS_TEST_TMPDIR/rootfs/opt"
	touch "$BATS_TEST_TMPDIR/rootfs/opt/big" "$BATS_TEST_TMPDIR/rootfs/opt/big2"
	chown 1000000:0 "$BATS_TEST_TMPDIR/rootfs/opt/big" "$BATS_TEST_TMPDIR/rootfs/opt/big2"
	doctor --rootfs "$BATS_TEST_TMPDIR/rootfs" --uidmap 0:100000:65536
	[ "$status" -eq 1 ]
	[[ "$output" == *"problem: rootfs: 2 files owned by uid 1000000, outside the mapping 0:100000:65536"* ]]
	[[ "$output" == *"uid 1000000 outside the mapping: 2 files: /opt/big"* ]]
	[[ "$output" != *"gid 0 outside"* ]]
	# A mapping wide enough for it: nothing to say.
	doctor --rootfs "$BATS_TEST_TMPDIR/rootfs" --uidmap 0:100000:1065536
	[ "$status" -eq 0 ]
	[[ "$output" == *"verdict: ok"* ]]
}

@test "a volume of host 1000 for container user 999: unwritable, the annotation suggested, and with it the container works" {
	b=$(plain_bundle)
	doctor --json "$b"
	[ "$status" -eq 1 ]
	[ "$(jq -r '.mounts[0].inside | "\(.uid):\(.gid) \(.access)"' <<<"$output")" = "65534:65534 r-x" ]
	[[ "$(jq -r '.mounts[0].problem' <<<"$output")" == "user 999 cannot write $DATA"* ]]
	annotation=$(jq -r .annotation <<<"$output")
	[ "$annotation" = /data ]
	# The doctor was right: without the annotation the container cannot write.
	run_runc "$b"
	[ "$status" -ne 0 ]
	[[ "$output" == *"Permission denied"* ]]

	bundle_annotation "$b" oci-idmap-hook/mounts "$annotation"
	doctor "$b"
	[ "$status" -eq 0 ]
	[[ "$output" == *"after:   999:999, user 999 can rwx"* ]]
	[[ "$output" == *"verdict: ok, the container will work as asked"* ]]
	run_runc "$b"
	[ "$status" -eq 0 ]
	[ "$output" = 999:999 ]
	[ "$(host_owner "$DATA/new")" = 1000:1000 ]
}

@test "doctor --mount previews mode chown and chown+restore: the owner after the chown, and a real container sees just that" {
	local j="$BATS_TEST_TMPDIR/journal" rootfs="$BATS_TEST_TMPDIR/rootfs"
	make_rootfs "$rootfs"
	mkdir "$DATA/sub"
	chown 1000:1000 "$DATA/sub"
	doctor --json --rootfs "$rootfs" --uidmap 0:100000:65536 --user 999:999 --mount "$DATA:/data:chown+restore"
	[ "$status" -eq 0 ]
	[ "$(jq -r '.mounts[0].inside | "\(.uid):\(.gid) \(.access)"' <<<"$output")" = "65534:65534 r-x" ]
	[ "$(jq -r '.mounts[0].after_hook | "\(.uid):\(.gid) \(.access)"' <<<"$output")" = "999:999 rwx" ]
	[ "$(jq -r '.mounts[0] | "\(.hook) \(.chowns) \(.chown_uid):\(.chown_gid) \(.restored_at_stop)"' <<<"$output")" = \
		"chown+restore true 100999:100999 true" ]
	doctor --rootfs "$rootfs" --uidmap 0:100000:65536 --user 999:999 --mount "$DATA:/data:chown+restore"
	[ "$status" -eq 0 ]
	[[ "$output" == *"hook:    chown+restore: the tree would be chowned: the source and everything below it given to 100999:100999 on disk, journaled; restored when the container stops"* ]]
	[[ "$output" == *"after:   999:999, user 999 can rwx"* ]]
	doctor --rootfs "$rootfs" --uidmap 0:100000:65536 --user 999:999 --mount "$DATA:/data:ro,chown"
	[ "$status" -eq 0 ]
	[[ "$output" == *"hook:    chown: the tree would be chowned: the source and everything below it given to 100999:100999 on disk, journaled; it stays so (undo: oci-idmap-hook restore)"* ]]
	[[ "$output" == *"after:   999:999, user 999 can r-x"* ]]

	# The same container for real, asked in the same mode: what the doctor
	# said of its bundle is what the container sees, and what is on disk after.
	b=$(make_bundle c)
	bundle_userns "$b" 0:100000:65536
	bundle_user "$b" 999 999
	bundle_bind "$b" "$DATA" /data
	bundle_hook "$b" prestart "$HOOK" --journal-dir "$j" prestart
	bundle_hook "$b" poststop "$HOOK" --journal-dir "$j" poststop
	bundle_annotation "$b" oci-idmap-hook/mounts /data=chown+restore
	bundle_args "$b" sh -c 'stat -c %u:%g /data /data/sub; echo hi >/data/new && echo wrote'
	doctor --json "$b"
	[ "$status" -eq 0 ]
	[ "$(jq -r '.mounts[0].after_hook | "\(.uid):\(.gid) \(.access)"' <<<"$output")" = "999:999 rwx" ]
	[ "$(jq -r '.mounts[0] | "\(.chown_uid):\(.chown_gid) \(.restored_at_stop)"' <<<"$output")" = "100999:100999 true" ]
	run_runc "$b"
	[ "$status" -eq 0 ]
	[ "$output" = "$(printf '999:999\n999:999\nwrote')" ]
	# Restored at stop, as predicted: the tree is 1000's again, new files too.
	[ "$(host_owner "$DATA")" = 1000:1000 ]
	[ "$(host_owner "$DATA/sub")" = 1000:1000 ]
	[ "$(host_owner "$DATA/new")" = 1000:1000 ]

	# Mode chown stays: on disk the tree has the ids the doctor named.
	update_config "$b" '.annotations["oci-idmap-hook/mounts"] = "/data=chown"'
	doctor --json "$b"
	[ "$status" -eq 0 ]
	[ "$(jq -r '.mounts[0] | "\(.hook) \(.chown_uid):\(.chown_gid) \(.restored_at_stop)"' <<<"$output")" = "chown 100999:100999 false" ]
	run_runc "$b"
	[ "$status" -eq 0 ]
	[ "$(host_owner "$DATA")" = 100999:100999 ]
	[ "$(host_owner "$DATA/sub")" = 100999:100999 ]
	run "$HOOK" restore --dir "$j" --container "$(ls "$j" | sed -n 's/@.*//p' | head -1)"
	[ "$status" -eq 0 ]
	[ "$(host_owner "$DATA")" = 1000:1000 ]
}

@test "doctor warns when chown+restore is asked but config.json does not run the hook at poststop" {
	b=$(plain_bundle)
	bundle_annotation "$b" oci-idmap-hook/mounts /data=chown+restore
	doctor "$b"
	[ "$status" -eq 0 ]
	[[ "$output" == *"NOT restored when the container stops: config.json does not run the hook at poststop"* ]]
	[[ "$output" == *"warning: /data: mode chown+restore, but config.json does not run the hook at poststop"* ]]
}

@test "the same diagnosis from flags, in podman's syntax" {
	make_rootfs "$BATS_TEST_TMPDIR/rootfs"
	doctor --rootfs "$BATS_TEST_TMPDIR/rootfs" --uidmap 0:100000:65536 --gidmap 0:100000:65536 \
		--user 999:999 --mount "$DATA:/data"
	[ "$status" -eq 1 ]
	[[ "$output" == *"problem: /data: user 999 cannot write $DATA"* ]]
	[[ "$output" == *"annotation: oci-idmap-hook/mounts=/data"* ]]
	doctor --rootfs "$BATS_TEST_TMPDIR/rootfs" --uidmap 0:100000:65536 --user 999:999 --mount "$DATA:/data:idmap"
	[ "$status" -eq 0 ]
	doctor --rootfs "$BATS_TEST_TMPDIR/rootfs" --uidmap 0:100000:65536 --user 999:999 --mount "$DATA:/data:ro"
	[ "$status" -eq 0 ]
}

@test "a PUID outside the map is named, and the hook really refuses it" {
	b=$(plain_bundle)
	bundle_user "$b" 0 0
	bundle_annotation "$b" oci-idmap-hook/mounts /data
	bundle_annotation "$b" oci-idmap-hook/user env
	bundle_env "$b" PUID=70000
	doctor "$b"
	[ "$status" -eq 1 ]
	[[ "$output" == *"problem: user: the target uid 70000 (from PUID/PGID) is not mapped in the container's user namespace (0:100000:65536)"* ]]
	[[ "$output" == *"problem: /data: the hook will refuse it, and the container will not start"* ]]
	run_runc "$b"
	[ "$status" -ne 0 ]
	[[ "$output" == *"70000"*"not mapped"* ]]
}

@test "a clean bundle: exit 0, and it says so" {
	chown 100999:100999 "$DATA"
	b=$(plain_bundle)
	doctor "$b"
	[ "$status" -eq 0 ]
	[[ "$output" == *"inside:  999:999, user 999 can rwx"* ]]
	[[ "$output" == *"verdict: ok, the container will work as asked"* ]]
	[[ "$output" != *problem* ]]
	run_runc "$b"
	[ "$status" -eq 0 ]
}

@test "--json is one JSON document with the same verdict" {
	b=$(plain_bundle)
	doctor --json "$b"
	[ "$status" -eq 1 ]
	jq -e . <<<"$output" >/dev/null
	[ "$(jq -r '.ok, .user.host_uid, .uid_mappings[0].hostID, (.problems | length)' <<<"$output" | tr '\n' ' ')" = \
		"false 100999 100000 1 " ]
	[ "$(jq -r '.problems[0].where' <<<"$output")" = /data ]
	chown 100999:100999 "$DATA"
	doctor --json "$b"
	[ "$status" -eq 0 ]
	[ "$(jq -r '.ok, .annotation, .rootfs_scan.done' <<<"$output" | tr '\n' ' ')" = "true null true " ]
}

@test "the scan never follows a symlink or enters another mount, and changes nothing" {
	rootfs="$BATS_TEST_TMPDIR/rootfs"
	make_rootfs "$rootfs"
	outside=$(make_host_dir outside 1000000:1000000 0755)
	touch "$outside/secret"
	chown 1000000:1000000 "$outside/secret"
	ln -s "$outside" "$rootfs/link"
	ln -s / "$rootfs/root-link"
	mkdir "$rootfs/mnt"
	mount -t tmpfs tmpfs "$rootfs/mnt"
	touch "$rootfs/mnt/other"
	chown 1000000:1000000 "$rootfs/mnt/other"
	before=$(find "$rootfs" "$outside" -printf '%p %U:%G %m %T@\n' | sort)
	doctor --json --rootfs "$rootfs" --uidmap 0:100000:65536
	[ "$status" -eq 0 ]
	# Every entry of the rootfs, without the tmpfs's contents.
	[ "$(jq -r .rootfs_scan.entries <<<"$output")" = "$(find "$rootfs" -xdev -mindepth 1 | wc -l)" ]
	[ "$(jq -r .rootfs_scan.other_mounts <<<"$output")" = 1 ]
	[ "$(jq -r '.rootfs_scan.unmapped_uids | length' <<<"$output")" = 0 ]
	[ "$(find "$rootfs" "$outside" -printf '%p %U:%G %m %T@\n' | sort)" = "$before" ]
}

@test "a symlinked or missing mount source is a problem" {
	ln -s "$DATA" "$BATS_TEST_TMPDIR/data-link"
	make_rootfs "$BATS_TEST_TMPDIR/rootfs"
	doctor --rootfs "$BATS_TEST_TMPDIR/rootfs" --mount "$BATS_TEST_TMPDIR/data-link:/data"
	[ "$status" -eq 1 ]
	[[ "$output" == *"problem: /data: source $BATS_TEST_TMPDIR/data-link is a symbolic link"* ]]
	doctor --rootfs "$BATS_TEST_TMPDIR/rootfs" --mount "$BATS_TEST_TMPDIR/nonexistent:/data"
	[ "$status" -eq 1 ]
	[[ "$output" == *"problem: /data: source $BATS_TEST_TMPDIR/nonexistent: No such file or directory"* ]]
}

@test "setuid files of an id that shows as nobody are a warning in a shifted rootfs" {
	rootfs="$BATS_TEST_TMPDIR/rootfs"
	make_rootfs "$rootfs"
	# Shifted as Docker userns-remap stores it: the container's root is host 100000.
	chown -R -h 100000:100000 "$rootfs"
	cp "$rootfs/bin/busybox" "$rootfs/bin/su"
	chown 0:0 "$rootfs/bin/su"
	chmod 4755 "$rootfs/bin/su"
	doctor --rootfs "$rootfs" --uidmap 0:100000:65536
	[ "$status" -eq 0 ]
	[[ "$output" == *"ids on disk read as host ids"* ]]
	[[ "$output" == *"warning: rootfs: 1 setuid or setgid file owned by an id that shows as nobody"*"/bin/su"* ]]
}

@test "bad usage exits 2" {
	doctor
	[ "$status" -eq 2 ]
	doctor --uidmap 0:100000:65536
	[ "$status" -eq 2 ]
	doctor --rootfs / --uidmap 0:100000
	[ "$status" -eq 2 ]
	[[ "$output" == *"expected CONTAINER_ID:HOST_ID:SIZE"* ]]
	doctor --rootfs / --mount /x:/y:bogus
	[ "$status" -eq 2 ]
	[[ "$output" == *'unknown option "bogus"; use ro or rw, and a mode: idmap, nsmap, chown, auto, chown+restore'* ]]
	doctor "$BATS_TEST_TMPDIR" --rootfs /
	[ "$status" -eq 2 ]
	doctor --help
	[ "$status" -eq 0 ]
	[[ "$output" == *"Usage: oci-idmap-hook doctor"* ]]
}

@test "a bundle that asks for a mount but does not run the hook is told to register it" {
	b=$(plain_bundle)
	update_config "$b" 'del(.hooks)'
	bundle_annotation "$b" oci-idmap-hook/mounts /data
	doctor "$b"
	[ "$status" -eq 1 ]
	[[ "$output" == *"warning: /data: the container asks the hook for it, but config.json does not run the hook"* ]]
	[[ "$output" == *"fix: ask the hook for it: oci-idmap-hook/mounts=/data, and register the hook at prestart"* ]]
	run_runc "$b"
	[ "$status" -ne 0 ]
	[[ "$output" == *"Permission denied"* ]]
}

@test "podman: the doctor takes podman's flags, predicts what podman shows, and its annotation works there" {
	hooks="$BATS_TEST_TMPDIR/hooks.d"
	mkdir -p "$hooks"
	jq -n --arg p "$HOOK" '{version: "1.0.0", hook: {path: $p, args: ["oci-idmap-hook", "prestart"]},
		when: {annotations: {"^oci-idmap-hook/mounts$": ".*"}}, stages: ["prestart"]}' >"$hooks/oci-idmap-hook.json"
	flags=(--uidmap 0:100000:65536 --gidmap 0:100000:65536 --user 999:999)
	make_rootfs "$BATS_TEST_TMPDIR/rootfs"
	doctor --json --rootfs "$BATS_TEST_TMPDIR/rootfs" "${flags[@]}" --mount "$DATA:/data"
	[ "$status" -eq 1 ]
	before=$(jq -r '.mounts[0].inside | "\(.uid):\(.gid)"' <<<"$output")
	annotation=$(jq -r .annotation <<<"$output")
	[ "$annotation" = /data ]
	doctor --json --rootfs "$BATS_TEST_TMPDIR/rootfs" "${flags[@]}" --mount "$DATA:/data:idmap"
	[ "$status" -eq 0 ]
	after=$(jq -r '.mounts[0].after_hook | "\(.uid):\(.gid)"' <<<"$output")

	run_podman --hooks-dir "$hooks" "${flags[@]}" -v "$DATA:/data" sh -c 'stat -c %u:%g /data; touch /data/new'
	[ "$status" -ne 0 ]
	[ "${lines[0]}" = "$before" ]
	run_podman --hooks-dir "$hooks" "${flags[@]}" -v "$DATA:/data" \
		--annotation "oci-idmap-hook/mounts=$annotation" sh -c 'stat -c %u:%g /data; touch /data/new'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "$after" ]
	[ "$(host_owner "$DATA/new")" = 1000:1000 ]
}

@test "a file name with a newline or bytes that are not UTF-8 neither splits a line nor breaks the JSON" {
	make_rootfs "$BATS_TEST_TMPDIR/rootfs"
	odd="$BATS_TEST_TMPDIR/rootfs/tmp/$(printf 'a\nb\xff')"
	touch "$odd"
	chown 1000000:0 "$odd"
	doctor --rootfs "$BATS_TEST_TMPDIR/rootfs" --uidmap 0:100000:65536
	[ "$status" -eq 1 ]
	[[ "$output" == *"problem: rootfs: 1 file owned by uid 1000000, outside the mapping 0:100000:65536"*"e.g. /tmp/a\\x0ab\\xff; fix:"* ]]
	doctor --json --rootfs "$BATS_TEST_TMPDIR/rootfs" --uidmap 0:100000:65536
	[ "$status" -eq 1 ]
	[ "$(jq -r '.rootfs_scan.unmapped_uids[0].paths[0]' <<<"$output")" = '/tmp/a\x0ab\xff' ]
}

@test "an annotation the hook cannot parse is named, and the hook really refuses the container" {
	b=$(plain_bundle)
	bundle_annotation "$b" oci-idmap-hook/mounts '/data,/other'
	doctor "$b"
	[ "$status" -eq 1 ]
	[[ "$output" == *"problem: annotation: the hook will refuse the container: oci-idmap-hook/mounts: \"/data,/other\": separate items with ';' or spaces, not ','"* ]]
	run_runc "$b"
	[ "$status" -ne 0 ]
	[[ "$output" == *"separate items with"* ]]
}

@test "the administrator's policy: a source it refuses is named with the rule, and the hook really refuses it" {
	denied=$(mktemp -d /run/oih-doctor.XXXXXX)
	chown 1000:1000 "$denied"
	b=$(make_bundle c)
	bundle_userns "$b" 0:100000:65536
	bundle_user "$b" 999 999
	bundle_bind "$b" "$denied" /data
	bundle_hook "$b" prestart "$HOOK" prestart
	bundle_annotation "$b" oci-idmap-hook/mounts /data
	bundle_args "$b" sh -c 'exec 2>&1; stat -c %u:%g /data'
	doctor "$b"
	[ "$status" -eq 1 ]
	[[ "$output" == *"policy:  no policy file"* ]]
	[[ "$output" == *"the hook will refuse it, and the container will not start: refused: the source '$denied' is under /run (built-in deny list)"* ]]
	run_runc "$b"
	[ "$status" -ne 0 ]
	[[ "$output" == *"refused: the source '$denied' is under /run (built-in deny list)"* ]]
	# A policy that lists it: the doctor and the hook agree it works.
	echo "{\"allowedSources\": [\"$denied\"]}" >"$BATS_TEST_TMPDIR/policy.json"
	doctor --policy "$BATS_TEST_TMPDIR/policy.json" "$b"
	rm -rf "$denied"
	[ "$status" -eq 0 ]
	[[ "$output" == *"policy:  $BATS_TEST_TMPDIR/policy.json"* ]]
}

@test "supplementary groups count: additionalGids and --group-add, checked against runc" {
	# Owned by container 1234:2000, mode 0770: only a member of group 2000 may write.
	chown 101234:102000 "$DATA"
	chmod 0770 "$DATA"
	b=$(plain_bundle)
	doctor "$b"
	[ "$status" -eq 1 ]
	[[ "$output" == *"inside:  1234:2000, user 999 can ---"* ]]
	run_runc "$b"
	[ "$status" -ne 0 ]
	[[ "$output" == *"Permission denied"* ]]

	update_config "$b" '.process.user.additionalGids = [5, 2000]'
	doctor "$b"
	[ "$status" -eq 0 ]
	[[ "$output" == *"groups:  5, 2000 (supplementary)"* ]]
	[[ "$output" == *"inside:  1234:2000, user 999 can rwx"* ]]
	[[ "$output" == *"verdict: ok"* ]]
	run_runc "$b"
	[ "$status" -eq 0 ]
	[ "$output" = 1234:2000 ]
	[ "$(host_owner "$DATA/new")" = 100999:100999 ]
	doctor --json "$b"
	[ "$(jq -c .user.groups <<<"$output")" = "[5,2000]" ]

	# The same from flags, in podman's syntax.
	make_rootfs "$BATS_TEST_TMPDIR/rootfs"
	doctor --rootfs "$BATS_TEST_TMPDIR/rootfs" --uidmap 0:100000:65536 --user 999:999 --group-add 2000 \
		--mount "$DATA:/data"
	[ "$status" -eq 0 ]
	[[ "$output" == *"user 999 can rwx"* ]]
	doctor --rootfs "$BATS_TEST_TMPDIR/rootfs" --uidmap 0:100000:65536 --user 999:999 --group-add wheel \
		--mount "$DATA:/data"
	[ "$status" -eq 2 ]
	[[ "$output" == *"--group-add wheel: give a numeric group id"* ]]
}

@test "a POSIX ACL on the source counts: a named user and the mask, checked against runc" {
	# Host 1000:1000 0755, and an ACL entry for container user 999 (host 100999).
	setfacl -m u:100999:rwx "$DATA"
	b=$(plain_bundle)
	doctor "$b"
	[ "$status" -eq 0 ]
	[[ "$output" == *"source:  $DATA, directory owned by host 1000:1000, mode 0775 with an ACL"* ]]
	[[ "$output" == *"inside:  65534:65534 (unmapped: nobody), user 999 can rwx"* ]]
	run_runc "$b"
	[ "$status" -eq 0 ]
	[ "$(host_owner "$DATA/new")" = 100999:100999 ]

	# The mask takes write away from every named entry.
	rm "$DATA/new"
	setfacl -m m::rx "$DATA"
	doctor "$b"
	[ "$status" -eq 1 ]
	[[ "$output" == *"problem: /data: user 999 cannot write $DATA: it shows as owned by 65534:65534 (an unmapped id), mode 0755 with an ACL (r-x for the user)"* ]]
	run_runc "$b"
	[ "$status" -ne 0 ]
	[[ "$output" == *"Permission denied"* ]]
	doctor --json "$b"
	[ "$(jq -r '.mounts[0].source_acl' <<<"$output")" = true ]
}

@test "a mount crun idmaps itself is judged through its mapping, and so is the hook's chown of it, checked against crun" {
	b=$(plain_bundle)
	# podman's :idmap: on-disk id N shows as host 100000+N, the container's own mapping.
	update_config "$b" '(.mounts[] | select(.destination == "/data"))
		|= (.uidMappings = [{containerID: 0, hostID: 100000, size: 65536}]
		| .gidMappings = [{containerID: 0, hostID: 100000, size: 65536}] | .options += ["idmap"])'
	doctor "$b"
	[ "$status" -eq 1 ]
	[[ "$output" == *"runtime: idmaps it itself (on-disk uids 0:100000:65536; gids 0:100000:65536)"* ]]
	[[ "$output" == *"inside:  1000:1000, user 999 can r-x"* ]]
	[[ "$output" == *"problem: /data: user 999 cannot write $DATA: it shows as owned by 1000:1000, mode 0755"* ]]
	run_crun "$b"
	[ "$status" -ne 0 ]
	[ "${lines[0]}" = 1000:1000 ]
	[[ "$output" == *"Permission denied"* ]]

	# Asked to chown it, the hook gives it to the on-disk ids that show as 999.
	update_config "$b" '.hooks.prestart[0].args = [$h, "--journal-dir", $j, "prestart"]' \
		--arg h "$HOOK" --arg j "$BATS_TEST_TMPDIR/journal"
	bundle_annotation "$b" oci-idmap-hook/mounts /data=chown
	doctor "$b"
	[ "$status" -eq 0 ]
	[[ "$output" == *"after:   999:999, user 999 can rwx"* ]]
	run_crun "$b"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 999:999 ]
	[ "$(host_owner "$DATA")" = 999:999 ]
	[ "$(host_owner "$DATA/new")" = 999:999 ]
	# Now on disk 999: the doctor sees the mount work as it is.
	doctor "$b"
	[[ "$output" == *"inside:  999:999, user 999 can rwx"* ]]
	doctor --json "$b"
	[ "$(jq -c '.mounts[] | select(.destination == "/data") | .runtime_uid_mappings' <<<"$output")" = \
		'[{"containerID":0,"hostID":100000,"size":65536}]' ]
}

# run_shim BUNDLE SHIM_ARG...: run BUNDLE with runc through the runtime shim,
# given SHIM_ARG... (as daemon.json's runtimeArgs give them); the shim adds
# the hook entry to BUNDLE/config.json, where it stays for the doctor.
run_shim() {
	local b=$1 id
	shift
	id=$(_new_id runc)
	run _captured timeout -s KILL "$CONTAINER_TIMEOUT" "$RUNTIME" "$@" --root "$RUNC_ROOT" run --bundle "$b" "$id"
	_show_run shim
	runc --root "$RUNC_ROOT" delete -f "$id" >/dev/null 2>&1 || true
}

# A bundle as plain_bundle's, but without the hook: the shim adds it.
shim_bundle() {
	local b
	b=$(plain_bundle)
	update_config "$b" 'del(.hooks)'
	bundle_args "$b" sh -c 'exec 2>&1; stat -c %u:%g /data; echo hi >/data/new && echo wrote'
	echo "$b"
}

@test "the shim with --idmap-policy and defaultMounts '*': the doctor reads the policy of the bundle's hook entry, and the container gets /data as 999" {
	policy="$BATS_TEST_TMPDIR/policy.json"
	echo '{"defaultMounts": "*"}' >"$policy"
	b=$(shim_bundle)
	run_shim "$b" --idmap-policy "$policy"
	[ "$status" -eq 0 ]
	[ "$output" = "$(printf '999:999\nwrote')" ]
	[ "$(host_owner "$DATA")" = 1000:1000 ]
	[ "$(host_owner "$DATA/new")" = 1000:1000 ]
	# The entry the shim wrote runs the hook with --policy: the doctor reads it.
	doctor "$b"
	[ "$status" -eq 0 ]
	[[ "$output" == *"policy:  $policy (the hook entry's --policy)"* ]]
	[[ "$output" == *"asks:    from defaultMounts of '$policy' (the container asks for nothing itself)"* ]]
	[[ "$output" == *"hook:    idmap"* ]]
	[[ "$output" == *"after:   999:999, user 999 can rwx"* ]]
	[[ "$output" == *"verdict: ok, the container will work as asked"* ]]
	[[ "$output" != *"not asked"* ]]
	doctor --json "$b"
	[ "$(jq -r '.policy, .policy_from, .request_from_policy, .mounts[0].hook, .ok' <<<"$output" | tr '\n' ' ')" = \
		"$policy the hook entry's --policy true idmap true " ]
	# --policy naming another file: the entry's still decides, and it is said.
	echo '{}' >"$BATS_TEST_TMPDIR/other.json"
	doctor --policy "$BATS_TEST_TMPDIR/other.json" "$b"
	[ "$status" -eq 0 ]
	[[ "$output" == *"warning: policy: --policy '$BATS_TEST_TMPDIR/other.json' is not what the hook reads: its entry in config.json runs it with --policy '$policy'"* ]]
	[[ "$output" == *"hook:    idmap"* ]]
}

@test "a policy whose allowedModes forbid the mode defaultMounts asks for: the doctor says refused, and the real run is refused" {
	policy="$BATS_TEST_TMPDIR/policy.json"
	echo '{"defaultMounts": "/data", "allowedModes": ["nsmap"]}' >"$policy"
	b=$(shim_bundle)
	run_shim "$b" --idmap-policy "$policy"
	[ "$status" -ne 0 ]
	[[ "$output" != *wrote* ]]
	[[ "$output" == *"/data: refused: mode idmap is not in allowedModes of '$policy'"* ]]
	[ ! -e "$DATA/new" ]
	doctor "$b"
	[ "$status" -eq 1 ]
	[[ "$output" == *"policy:  $policy (the hook entry's --policy)"* ]]
	[[ "$output" == *"hook:    refuses"* ]]
	[[ "$output" == *"problem: /data: the hook will refuse it, and the container will not start: refused: mode idmap is not in allowedModes of '$policy'"* ]]

	# "*" in a mode not allowed refuses the container as well ...
	echo '{"defaultMounts": "*", "allowedModes": ["nsmap"]}' >"$policy"
	doctor "$b"
	[ "$status" -eq 1 ]
	[[ "$output" == *"problem: /data: the hook will refuse it, and the container will not start: refused: mode idmap is not in allowedModes of '$policy'"* ]]
	run_shim "$b" --idmap-policy "$policy"
	[ "$status" -ne 0 ]
	[[ "$output" != *wrote* ]]
	[[ "$output" == *"*: refused: mode idmap is not in allowedModes of '$policy'"* ]]
	# ... but under "*" a source not allowed is left alone: the container starts, and cannot write.
	echo '{"defaultMounts": "*", "allowedSources": ["/srv"]}' >"$policy"
	doctor "$b"
	[ "$status" -eq 1 ]
	[[ "$output" == *"hook:    left as it is: refused by the administrator's policy"* ]]
	[[ "$output" == *"problem: /data: user 999 cannot write $DATA"* ]]
	run_shim "$b" --idmap-policy "$policy"
	[ "$status" -ne 0 ]
	[ "${lines[0]}" = 65534:65534 ]
	[[ "$output" == *"Permission denied"* ]]
}

@test "OCI_IDMAP_MOUNTS through the shim: at environment level off the doctor says it is not read, at idmap that it works, each as the real run" {
	policy="$BATS_TEST_TMPDIR/policy.json"
	echo '{"environment": "off"}' >"$policy"
	b=$(shim_bundle)
	bundle_env "$b" OCI_IDMAP_MOUNTS=/data
	run_shim "$b" --idmap-policy "$policy"
	[ "$status" -ne 0 ]
	[ "${lines[0]}" = 65534:65534 ]
	[[ "$output" == *"Permission denied"* ]]
	doctor "$b"
	[ "$status" -eq 1 ]
	[[ "$output" == *"environment: off (\"environment\" of the policy): the container's environment is not read"* ]]
	[[ "$output" == *"warning: environment: OCI_IDMAP_MOUNTS is in the container's environment, but the hook's environment level is off"* ]]
	[[ "$output" == *"hook:    not asked"* ]]
	[[ "$output" == *"problem: /data: user 999 cannot write $DATA"* ]]

	echo '{"environment": "idmap"}' >"$policy"
	doctor "$b"
	[ "$status" -eq 0 ]
	[[ "$output" == *"asks:    from OCI_IDMAP_MOUNTS"* ]]
	[[ "$output" == *"after:   999:999, user 999 can rwx"* ]]
	run_shim "$b" --idmap-policy "$policy"
	[ "$status" -eq 0 ]
	[ "$output" = "$(printf '999:999\nwrote')" ]
	[ "$(host_owner "$DATA/new")" = 1000:1000 ]

	# At idmap the environment may not ask for a chown; the entry's --environment full may.
	rm "$DATA/new"
	bundle_env "$b" OCI_IDMAP_MOUNTS=/data=chown
	doctor "$b"
	[ "$status" -eq 1 ]
	[[ "$output" == *"problem: annotation: the hook will refuse the container: OCI_IDMAP_MOUNTS: /data=chown: refused"* ]]
	run_shim "$b" --idmap-policy "$policy"
	[ "$status" -ne 0 ]
	[[ "$output" == *"OCI_IDMAP_MOUNTS: /data=chown: refused"* ]]
	[ "$(host_owner "$DATA")" = 1000:1000 ]
	update_config "$b" '.hooks.prestart[0].args |= (.[:-1] + ["--environment", "full", "--journal-dir", $j] + .[-1:])' \
		--arg j "$BATS_TEST_TMPDIR/journal"
	doctor "$b"
	[ "$status" -eq 0 ]
	[[ "$output" == *"environment: full (the hook entry's --environment)"* ]]
	[[ "$output" == *"hook:    chown: the tree would be chowned"* ]]
}
