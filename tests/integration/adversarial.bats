#!/usr/bin/env bats
# One test per attack on the hook. Each checks that nothing outside what the
# hook may touch changed: a canary tree of files with many owners and modes,
# and the host source itself (idmapped mounts never change a host file's
# owner), compared as full owner/mode listings before and after.

load helpers

setup() {
	setup_hook_test
	CANARY="$BATS_TEST_TMPDIR/canary"
	mkdir -p "$CANARY/etc" "$CANARY/deep/er"
	echo secret >"$CANARY/etc/shadow"
	chmod 0600 "$CANARY/etc/shadow"
	touch "$CANARY/deep/er/file" "$CANARY/suid"
	chown 1234:4321 "$CANARY/deep/er/file"
	chmod 4755 "$CANARY/suid"
	touch "$DATA/owned" "$DATA/rootfile"
	chown 1000:1000 "$DATA/owned"
	BEFORE=$(listing)
}

teardown() {
	teardown_common
}

listing() {
	find "$CANARY" "$DATA" -printf '%p %U:%G %m %y\n' | sort
}

assert_nothing_changed() {
	diff <(echo "$BEFORE") <(listing)
}

# A user-namespaced container as 999 with $DATA at /data, the hook asked for MOUNTS.
attack_bundle() {
	local b
	b=$(userns_hook_bundle c)
	bundle_annotation "$b" oci-idmap-hook/mounts "$1"
	bundle_args "$b" sh -c 'exec 2>&1; echo STARTED'
	echo "$b"
}

# The hook run by hand on BUNDLE with the state naming PID.
run_hook_on() {
	run "$HOOK" prestart \
		<<<"{\"ociVersion\":\"1.0.2\",\"id\":\"attack\",\"status\":\"created\",\"pid\":$2,\"bundle\":\"$1\"}"
}

@test "a destination that the image made a symlink to another directory is refused, not followed" {
	b=$(attack_bundle /data)
	rmdir "$b/rootfs/data"
	ln -s /etc "$b/rootfs/data"
	run_runc "$b"
	[ "$status" -ne 0 ]
	[[ "$output" != *STARTED* ]]
	[[ "$output" == *"/data: not mounted at '$b/rootfs/data' in the container; the destination may be a symlink inside the image"* ]]
	assert_nothing_changed
}

@test "'..' in a destination is refused" {
	run_runc "$(attack_bundle /data/../etc)"
	[ "$status" -ne 0 ]
	[[ "$output" == *"oci-idmap-hook/mounts: \\\"/data/../etc\\\" contains \\\"..\\\""* ]]
	assert_nothing_changed
}

@test "a source that is a file is idmapped as a file, and nothing else changes" {
	b=$(attack_bundle /data/owned)
	bundle_bind "$b" "$DATA/owned" /data/owned
	bundle_args "$b" sh -c 'exec 2>&1; stat -c %u:%g /data/owned'
	run_runc "$b"
	[ "$status" -eq 0 ]
	[ "$output" = 999:999 ]
	assert_nothing_changed
}

@test "mapping extents that overflow 32 bits or overlap are refused" {
	b=$(attack_bundle /data)
	update_config "$b" '.linux.uidMappings = [{containerID: 0, hostID: 4294967000, size: 1000}]'
	sleep 60 & pid=$!
	run_hook_on "$b" "$pid"
	[ "$status" -eq 1 ]
	[ "$output" = "oci-idmap-hook: config.json linux.uidMappings: mapping 0:4294967000:1000 does not fit in 32-bit ids" ]
	update_config "$b" '.linux.uidMappings = [{containerID: 0, hostID: 100000, size: 10},
		{containerID: 5, hostID: 200000, size: 10}]'
	run_hook_on "$b" "$pid"
	kill "$pid"
	[ "$status" -eq 1 ]
	[ "$output" = "oci-idmap-hook: config.json linux.uidMappings: mapping lines 0:100000:10 and 5:200000:10 overlap" ]
	assert_nothing_changed
}

@test "a container whose init died before the hook ran is refused" {
	b=$(attack_bundle /data)
	sh -c 'exit 0' & pid=$!
	wait "$pid"
	run_hook_on "$b" "$pid"
	[ "$status" -eq 1 ]
	[ "$output" = "oci-idmap-hook: the container's process $pid is gone: No such process; the container's init died before the hook ran" ]
	assert_nothing_changed
}

@test "a pid reused by a host process is refused, its mounts never entered" {
	b=$(attack_bundle /data)
	sleep 60 & pid=$!
	run_hook_on "$b" "$pid"
	kill "$pid"
	[ "$status" -eq 1 ]
	[ "$output" = "oci-idmap-hook: process $pid shares the hook's mount namespace, so it is not the container's init; the container's init may have died and its pid been reused" ]
	assert_nothing_changed
}

@test "a config.json that is a symlink is not followed" {
	b=$(attack_bundle /data)
	mv "$b/config.json" "$BATS_TEST_TMPDIR/real.json"
	ln -s "$BATS_TEST_TMPDIR/real.json" "$b/config.json"
	sleep 60 & pid=$!
	run_hook_on "$b" "$pid"
	kill "$pid"
	[ "$status" -eq 1 ]
	[ "$output" = "oci-idmap-hook: open '$b/config.json': Too many levels of symbolic links" ]
	assert_nothing_changed
}

@test "an oversized config.json and an oversized state are refused before parsing" {
	b=$(attack_bundle /data)
	head -c 9000000 /dev/zero | tr '\0' ' ' >>"$b/config.json"
	sleep 60 & pid=$!
	run_hook_on "$b" "$pid"
	kill "$pid"
	[ "$status" -eq 1 ]
	[ "$output" = "oci-idmap-hook: $b/config.json is larger than 8388608 bytes" ]
	run "$HOOK" prestart < <(head -c 2000000 /dev/zero | tr '\0' ' ')
	[ "$status" -eq 1 ]
	[ "$output" = "oci-idmap-hook: container state on stdin is larger than 1048576 bytes" ]
	assert_nothing_changed
}

@test "a mounts list of more than 256 items is refused" {
	run_runc "$(attack_bundle "$(printf '/d%d;' $(seq 300))")"
	[ "$status" -ne 0 ]
	[[ "$output" == *"oci-idmap-hook/mounts: more than 256 items"* ]]
	assert_nothing_changed
}

@test "the hook run for two containers at once on the same volume serves both and changes no host file" {
	b1=$(attack_bundle /data)
	b2=$(make_bundle c2)
	cp "$b1/config.json" "$b2/config.json"
	mkdir "$b2/rootfs/data"
	update_config "$b1" '.process.args = ["sh", "-c", "exec 2>&1; stat -c %u:%g /data; touch /data/one"]'
	update_config "$b2" '.process.args = ["sh", "-c", "exec 2>&1; stat -c %u:%g /data; touch /data/two"]'
	update_config "$b2" '.root.path = $r' --arg r "$b2/rootfs"
	runc --root "$RUNC_ROOT" run --bundle "$b1" "oih-race1-$$" >"$BATS_TEST_TMPDIR/out1" 2>&1 </dev/null &
	p1=$!
	runc --root "$RUNC_ROOT" run --bundle "$b2" "oih-race2-$$" >"$BATS_TEST_TMPDIR/out2" 2>&1 </dev/null &
	p2=$!
	s1=0 s2=0
	wait "$p1" || s1=$?
	wait "$p2" || s2=$?
	runc --root "$RUNC_ROOT" delete -f "oih-race1-$$" "oih-race2-$$" >/dev/null 2>&1 || true
	cat "$BATS_TEST_TMPDIR/out1" "$BATS_TEST_TMPDIR/out2"
	[ "$s1" -eq 0 ] && [ "$s2" -eq 0 ]
	[ "$(cat "$BATS_TEST_TMPDIR/out1")" = 999:999 ]
	[ "$(cat "$BATS_TEST_TMPDIR/out2")" = 999:999 ]
	[ "$(host_owner "$DATA/one")" = 1000:1000 ]
	[ "$(host_owner "$DATA/two")" = 1000:1000 ]
	rm "$DATA/one" "$DATA/two"
	assert_nothing_changed
}
