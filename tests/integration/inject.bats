#!/usr/bin/env bats
# `oci-idmap-hook inject` for plain runc/crun bundles, and the runtime shim
# oci-idmap-runtime called the way engines call runc.

load helpers

setup() {
	setup_hook_test
	SHIM="$RUNTIME"
	# A bundle that asks for the hook but does not carry it.
	B=$(asking_bundle c)
}

teardown() {
	teardown_common
}

@test "inject, then runc run: the hook fixes /data" {
	run "$HOOK" inject "$B"
	[ "$status" -eq 0 ]
	run jq -c '.hooks.prestart' "$B/config.json"
	[ "$output" = "[{\"path\":\"$HOOK\",\"args\":[\"oci-idmap-hook\",\"prestart\"]}]" ]
	run_runc "$B"
	assert_fixed
}

@test "inject --stage createRuntime, then crun run: the hook fixes /data" {
	"$HOOK" inject --stage createRuntime "$B"
	[ "$(jq -r '.hooks.createRuntime[0].args[1]' "$B/config.json")" = createRuntime ]
	run_crun "$B"
	assert_fixed
}

@test "inject keeps every other field, unknown keys, number texts, mode and owner; a second inject writes nothing" {
	# Written as text: jq itself would turn 1e3 into 1000.
	update_config "$B" '.hooks.poststop = [{"path": "/bin/true"}]'
	sed -i '1s/^{/{"x-vendor": {"keep": [1, 2.50, 1e3, "caf\\u00e9"], "null": null},/' "$B/config.json"
	chown 1234:5678 "$B/config.json"
	chmod 0640 "$B/config.json"
	before=$(jq -S 'del(.hooks.prestart)' "$B/config.json")
	"$HOOK" inject "$B"
	[ "$(jq -S 'del(.hooks.prestart) | .hooks.poststop |= .[:1]' "$B/config.json")" = "$before" ]
	[ "$(jq -c '.hooks.poststop[1]' "$B/config.json")" = \
		"{\"path\":\"$HOOK\",\"args\":[\"oci-idmap-hook\",\"poststop\"]}" ]
	grep -q '\[1,2.50,1e3,"café"\]' <(tr -d ' \t\n' <"$B/config.json")
	[ "$(stat -c '%u:%g %a' "$B/config.json")" = "1234:5678 640" ]
	cp -p "$B/config.json" "$BATS_TEST_TMPDIR/first"
	"$HOOK" inject "$B"
	"$HOOK" inject --stage createRuntime "$B"
	cmp "$B/config.json" "$BATS_TEST_TMPDIR/first"
	[ "$(ls "$B")" = "$(printf 'config.json\nrootfs')" ]
}

@test "inject adds only the missing poststop when another wrapper added the hook under another path: the same entry at poststop" {
	ln -s "$HOOK" "$BATS_TEST_TMPDIR/vendor-idmap"
	bundle_hook "$B" createRuntime "$BATS_TEST_TMPDIR/vendor-idmap" createRuntime
	before=$(jq -S . "$B/config.json")
	"$HOOK" inject "$B"
	[ "$(jq -S 'del(.hooks.poststop)' "$B/config.json")" = "$before" ]
	vendor=$BATS_TEST_TMPDIR/vendor-idmap
	[ "$(jq -c '.hooks.poststop' "$B/config.json")" = "[{\"path\":\"$vendor\",\"args\":[\"$vendor\",\"poststop\"]}]" ]
	cp "$B/config.json" "$BATS_TEST_TMPDIR/before"
	"$HOOK" inject "$B"
	cmp "$B/config.json" "$BATS_TEST_TMPDIR/before"
}

@test "inject --remove takes the hook out, and the container is back to nobody's /data" {
	"$HOOK" inject "$B"
	"$HOOK" inject --remove "$B"
	[ "$(jq '[(.hooks // {})[][]] | length' "$B/config.json")" -eq 0 ]
	run_runc "$B"
	[ "$status" -ne 0 ]
	[ "${lines[0]}" = 65534:65534 ]
}

@test "inject refuses a config it cannot parse and leaves it as it was" {
	printf '{"ociVersion": "1.0.2", "hooks": ' >"$B/config.json"
	cp "$B/config.json" "$BATS_TEST_TMPDIR/before"
	run "$HOOK" inject "$B"
	[ "$status" -eq 1 ]
	[ "$output" = "oci-idmap-hook: $B/config.json is not valid JSON: parse error: premature EOF (offset 33)" ]
	cmp "$B/config.json" "$BATS_TEST_TMPDIR/before"
	[ "$(ls "$B")" = "$(printf 'config.json\nrootfs')" ]
}

@test "inject refuses a bad stage and a missing bundle with usage errors" {
	run "$HOOK" inject --stage poststop "$B"
	[ "$status" -eq 2 ]
	[[ "$output" == *"expected --stage prestart or createRuntime, not 'poststop'"* ]]
	run "$HOOK" inject
	[ "$status" -eq 2 ]
	run "$HOOK" inject "$BATS_TEST_TMPDIR/nowhere"
	[ "$status" -eq 1 ]
	[[ "$output" == "oci-idmap-hook: open '$BATS_TEST_TMPDIR/nowhere/config.json': No such file or directory" ]]
}

@test "oci-idmap-runtime over runc: 'run --bundle B' adds the hook and the container owns /data" {
	run_shim --root "$RUNC_ROOT" --log-format json run --bundle "$B"
	assert_fixed
	[ "$(jq '.hooks.prestart | length' "$B/config.json")" -eq 1 ]
}

@test "oci-idmap-runtime finds the bundle as -b B, --bundle=B and the current directory" {
	run_shim --root "$RUNC_ROOT" run -b "$B"
	assert_fixed
	"$HOOK" inject --remove "$B" && rm "$DATA/new"
	run_shim --root "$RUNC_ROOT" run "--bundle=$B"
	assert_fixed
	"$HOOK" inject --remove "$B" && rm "$DATA/new"
	cd "$B"
	run_shim --root "$RUNC_ROOT" run
	assert_fixed
}

@test "oci-idmap-runtime over crun (--idmap-runtime crun) works the same" {
	local id
	id=$(_new_id crun)
	run _cgroup2 timeout -k 5 "$CONTAINER_TIMEOUT" "$SHIM" --idmap-runtime crun --root "$CRUN_ROOT" \
		--cgroup-manager=disabled run --bundle "$B" "$id" </dev/null
	_cgroup2 crun --root "$CRUN_ROOT" delete -f "$id" >/dev/null 2>&1 || true
	assert_fixed
}

@test "oci-idmap-runtime leaves a container that asks for nothing byte for byte alone" {
	update_config "$B" 'del(.annotations)'
	cp "$B/config.json" "$BATS_TEST_TMPDIR/before"
	run_shim --root "$RUNC_ROOT" run --bundle "$B"
	[ "$status" -ne 0 ]
	[ "${lines[0]}" = 65534:65534 ]
	cmp "$B/config.json" "$BATS_TEST_TMPDIR/before"
}

@test "oci-idmap-runtime passes other commands straight to the real runtime" {
	run "$SHIM" --version
	[ "$status" -eq 0 ]
	[[ "$output" == "runc version"* ]]
	OCI_IDMAP_RUNTIME=crun run "$SHIM" --version
	[[ "$output" == "crun version"* ]]
}

@test "oci-idmap-runtime refuses to run itself as the real runtime, and says so in the engine's log" {
	run "$SHIM" --idmap-runtime "$SHIM" --log "$BATS_TEST_TMPDIR/log.json" --log-format json state x
	[ "$status" -eq 1 ]
	[[ "$output" == "oci-idmap-runtime: the real runtime '$SHIM' is this shim itself; set --idmap-runtime or OCI_IDMAP_RUNTIME to runc or crun" ]]
	run jq -r '.level + " " + .msg' "$BATS_TEST_TMPDIR/log.json"
	[[ "$output" == "error oci-idmap-runtime: the real runtime '$SHIM' is this shim itself"* ]]
}

@test "oci-idmap-runtime called back by its real runtime (a wrapper that runs the shim) stops with one line instead of looping" {
	local wrap="$BATS_TEST_TMPDIR/wrap"
	printf '#!/bin/sh\nexec %s --idmap-runtime=%s "$@"\n' "$SHIM" "$wrap" >"$wrap"
	chmod +x "$wrap"
	run timeout 10 "$wrap" --log "$BATS_TEST_TMPDIR/log.json" --log-format json state x
	[ "$status" -eq 1 ]
	[ "$output" = "oci-idmap-runtime: called again by its own real runtime '$wrap' (a wrapper that runs oci-idmap-runtime?); set --idmap-runtime or OCI_IDMAP_RUNTIME to runc or crun itself" ]
}
