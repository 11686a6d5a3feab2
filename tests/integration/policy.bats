#!/usr/bin/env bats
# The administrator's policy: sources judged where the kernel really put
# them, the built-in deny list, allowedSources, allowedModes, defaultMounts.

load helpers

setup() {
	setup_hook_test
	# A host dir inside a denied tree (/run), owned by 1000.
	DENIED=$(mktemp -d /run/oih-test.XXXXXX)
	chown 1000:1000 "$DENIED"
	chmod 0755 "$DENIED"
	POLICY="$BATS_TEST_TMPDIR/policy.json"
}

teardown() {
	teardown_common
	rm -rf "$DENIED"
}

# A user-namespaced container as 999 with SRC at /data, the hook run with
# HOOK_ARGS, asking for MOUNTS (none if empty).
policy_bundle() {
	local src=$1 mounts=$2 b
	shift 2
	# Tests build several bundles: each gets a name of its own.
	b=$(make_bundle "$(basename "$(mktemp -u -p "$BATS_TEST_TMPDIR" c.XXXXXX)")")
	bundle_userns "$b" 0:100000:65536
	bundle_user "$b" 999 999
	bundle_bind "$b" "$src" /data
	bundle_hook "$b" prestart "$HOOK" "$@" prestart
	[ -z "$mounts" ] || bundle_annotation "$b" oci-idmap-hook/mounts "$mounts"
	bundle_args "$b" sh -c 'exec 2>&1; stat -c %u:%g /data; echo STARTED'
	echo "$b"
}

@test "a source under /run is refused by the built-in deny list, naming the rule" {
	run_runc "$(policy_bundle "$DENIED" /data)"
	[ "$status" -ne 0 ]
	[[ "$output" != *STARTED* ]]
	[[ "$output" == *"oci-idmap-hook: /data: refused: the source '$DENIED' is under /run (built-in deny list); list it in allowedSources of '/etc/oci-idmap-hook/policy.json' to allow it, or use another source"* ]]
}

@test "a symlinked source is judged where the kernel resolved it, not by its name" {
	ln -s "$DENIED" "$BATS_TEST_TMPDIR/innocent"
	run_runc "$(policy_bundle "$BATS_TEST_TMPDIR/innocent" /data)"
	[ "$status" -ne 0 ]
	[[ "$output" == *"/data: refused: the source '$DENIED' is under /run (built-in deny list)"* ]]
}

@test "under '*' a denied source is left alone and the container starts" {
	run_runc "$(policy_bundle "$DENIED" '*')"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 65534:65534 ]
}

@test "allowedSources: a path the admin lists inside a denied tree is served, others are refused" {
	echo "{\"allowedSources\": [\"$DENIED\"]}" >"$POLICY"
	run_runc "$(policy_bundle "$DENIED" /data --policy "$POLICY")"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 999:999 ]
	run_runc "$(policy_bundle "$DATA" /data --policy "$POLICY")"
	[ "$status" -ne 0 ]
	[[ "$output" == *"/data: refused: the source '$DATA' is not under any of allowedSources in '$POLICY'; add the directory to allowedSources in '$POLICY', or use a source under one it lists"* ]]
}

@test "allowedModes: a mode the admin does not allow is refused" {
	echo '{"allowedModes": ["idmap"]}' >"$POLICY"
	run_runc "$(policy_bundle "$DATA" /data=nsmap --policy "$POLICY")"
	[ "$status" -ne 0 ]
	[[ "$output" == *"/data: refused: mode nsmap is not in allowedModes of '$POLICY'; ask for a mode it lists (idmap), or add nsmap to allowedModes in '$POLICY'"* ]]
	run_runc "$(policy_bundle "$DATA" /data --policy "$POLICY")"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 999:999 ]
}

@test "allowHostRoot in the policy works like --allow-host-root" {
	chown 0:0 "$DATA"
	echo '{"allowHostRoot": true}' >"$POLICY"
	run_runc "$(policy_bundle "$DATA" /data --policy "$POLICY")"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 999:999 ]
}

@test "defaultMounts serves a container that asks for nothing" {
	echo '{"defaultMounts": "*"}' >"$POLICY"
	run_runc "$(policy_bundle "$DATA" "" --policy "$POLICY")"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 999:999 ]
}

@test "the runtime shim with --idmap-policy adds the hook to every container when the policy has defaultMounts" {
	echo '{"defaultMounts": "*"}' >"$POLICY"
	b=$(policy_bundle "$DATA" "")
	update_config "$b" 'del(.hooks)'
	id=$(_new_id runc)
	run "$RUNTIME" --idmap-policy "$POLICY" --root "$RUNC_ROOT" run --bundle "$b" "$id" </dev/null
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 999:999 ]
	run jq -c '.hooks.prestart[0].args' "$b/config.json"
	[ "$output" = "[\"oci-idmap-hook\",\"--policy\",\"$POLICY\",\"prestart\"]" ]
}

@test "a policy file that is not valid, or has an unknown key, stops the hook with one line" {
	echo '{"allowedSources": ["/srv"], "allowHostRooot": true}' >"$POLICY"
	run_runc "$(policy_bundle "$DATA" /data --policy "$POLICY")"
	[ "$status" -ne 0 ]
	[[ "$output" == *"oci-idmap-hook: $POLICY: unknown key \\\"allowHostRooot\\\""* ]]
	echo '{"allowedModes": "idmap"' >"$POLICY"
	run_runc "$(policy_bundle "$DATA" /data --policy "$POLICY")"
	[ "$status" -ne 0 ]
	[[ "$output" == *"oci-idmap-hook: $POLICY is not valid JSON"* ]]
	run_runc "$(policy_bundle "$DATA" /data --policy "$BATS_TEST_TMPDIR/missing.json")"
	[ "$status" -ne 0 ]
	[[ "$output" == *"oci-idmap-hook: open the policy file '$BATS_TEST_TMPDIR/missing.json': No such file or directory"* ]]
}
