#!/usr/bin/env bats
# The administrator's allowedModes against a container that asks for the
# mode it was not given: every mode, chown+restore too, obeys the list.

load helpers
load chown_helpers

setup() {
	chown_setup
	POLICY="$BATS_TEST_TMPDIR/policy.json"
}

teardown() {
	teardown_common
}

# A chown bundle whose hook (prestart and poststop) reads $POLICY.
policy_chown_bundle() {
	local b
	b=$(chown_bundle "$1" "$2")
	update_config "$b" '.hooks.prestart[0].args |= (.[:-1] + ["--policy", $p] + .[-1:])
		| .hooks.poststop[0].args |= (.[:-1] + ["--policy", $p] + .[-1:])' --arg p "$POLICY"
	echo "$b"
}

@test "allowedModes [idmap, nsmap] refuses chown+restore, and nothing on the host changes" {
	echo '{"allowedModes": ["idmap", "nsmap"]}' >"$POLICY"
	before=$(listing "$DATA"; listing "$OUTSIDE")
	run_runc "$(policy_chown_bundle c chown+restore)"
	[ "$status" -ne 0 ]
	[[ "$output" == *"/data: refused: mode chown+restore is not in allowedModes of '$POLICY'; ask for a mode it lists (idmap, nsmap), or add chown+restore to allowedModes in '$POLICY'"* ]]
	[ "$(listing "$DATA"; listing "$OUTSIDE")" = "$before" ]
	[ -z "$(ls -A "$JOURNALS" 2>/dev/null)" ]
}

@test "allowedModes with every other mode, chown among them, still refuses chown+restore" {
	echo '{"allowedModes": ["idmap", "nsmap", "chown", "auto"]}' >"$POLICY"
	before=$(listing "$DATA"; listing "$OUTSIDE")
	run_runc "$(policy_chown_bundle c chown+restore)"
	[ "$status" -ne 0 ]
	[[ "$output" == *"mode chown+restore is not in allowedModes of '$POLICY'; ask for a mode it lists (idmap, nsmap, chown, auto), or add chown+restore to allowedModes"* ]]
	[ "$(listing "$DATA"; listing "$OUTSIDE")" = "$before" ]
}

@test "allowedModes [chown+restore] is a valid policy: that mode runs and gives the tree back, chown is refused" {
	echo '{"allowedModes": ["chown+restore"]}' >"$POLICY"
	before=$(listing "$DATA"; listing "$OUTSIDE")
	outside=$(listing "$OUTSIDE")
	run_runc "$(policy_chown_bundle c chown)"
	[ "$status" -ne 0 ]
	[[ "$output" == *"/data: refused: mode chown is not in allowedModes of '$POLICY'; ask for a mode it lists (chown+restore), or add chown to allowedModes in '$POLICY'"* ]]
	[ "$(listing "$DATA"; listing "$OUTSIDE")" = "$before" ]
	run_runc "$(policy_chown_bundle c2 chown+restore)"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "/data 999:999" ]
	# poststop gave the tree back; outside, nothing changed.
	[ "$(listing "$OUTSIDE")" = "$outside" ]
	[ "$(host_owner "$DATA")" = 1000:1000 ]
	[ "$(host_owner "$DATA/sub/deep/b")" = 1000:1000 ]
	[ "$(host_owner "$DATA/other")" = 1234:1235 ]
}

@test "a denied tree bound again below an allowed path on the host is still denied under that name" {
	denied=$(mktemp -d /run/oih-test.XXXXXX)
	chown 1000:1000 "$denied"
	alias="$BATS_TEST_TMPDIR/alias"
	mkdir "$alias"
	mount --bind "$denied" "$alias"
	echo "{\"allowedSources\": [\"$BATS_TEST_TMPDIR\"]}" >"$POLICY"
	denied_before=$(listing "$denied")
	outside_before=$(listing "$OUTSIDE")
	b=$(make_bundle c)
	bundle_userns "$b" 0:100000:65536
	bundle_user "$b" 999 999
	bundle_bind "$b" "$alias" /data
	bundle_hook "$b" prestart "$HOOK" --policy "$POLICY" prestart
	bundle_annotation "$b" oci-idmap-hook/mounts /data
	bundle_args "$b" sh -c 'exec 2>&1; stat -c %u:%g /data; echo STARTED'
	run_runc "$b"
	umount "$alias"
	denied_after=$(listing "$denied")
	rmdir "$denied"
	[ "$status" -ne 0 ]
	[[ "$output" != *STARTED* ]]
	[[ "$output" == *"/data: refused: the source '$denied' is under /run (built-in deny list); list it in allowedSources of '$POLICY' to allow it, or use another source"* ]]
	[ "$denied_after" = "$denied_before" ]
	[ "$(listing "$OUTSIDE")" = "$outside_before" ]
}
