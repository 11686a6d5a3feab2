#!/usr/bin/env bats
# shellcheck disable=SC2016  # $names in single quotes are jq's and the container's.
# config.json as an attacker writes it: a comment that hides deep nesting
# from the depth cap (the hook, inject, the shim and doctor used to die of
# a stack overflow), and strings that a rewrite would not keep exact
# (\u0000, lone surrogates).  Each is refused in one line, with nothing on
# the host changed; what can be kept exact is, byte for byte as runc reads it.

load helpers
load chown_helpers

setup() {
	chown_setup
	# The shim beside the hook under test (HOOK_UNDER_TEST picks both).
	SHIM="$(dirname "$HOOK")/oci-idmap-runtime"
	LEVELS=1000000
}

teardown() {
	teardown_common
}

# hide_deep_nesting FILE: FILE (a JSON object) with one more member, a
# comment holding a '"' and then $LEVELS nested arrays; valid for a parser
# that takes comments, as yajl_tree_parse does.
hide_deep_nesting() {
	local f=$1 body
	body=$(jq -c . "$f")
	{
		printf '%s' "${body%\}}"
		printf ', "x": /* " */ '
		head -c "$LEVELS" /dev/zero | tr '\0' '['
		head -c "$LEVELS" /dev/zero | tr '\0' ']'
		printf '}\n'
	} >"$f.new"
	mv "$f.new" "$f"
}

# A bundle that asks for /data=chown (so a hook that went on would change
# owners), without our hook registered.
chown_asking_bundle() {
	asking_bundle "$1" /data=chown sh -c 'stat -c %u:%g /data'
}

snapshot() {
	listing "$DATA"
	listing "$OUTSIDE"
}

# Exit status of a program that refused its input: not a signal's.
refused() {
	[ "$status" -ne 0 ]
	[ "$status" -ne 139 ] && [ "$status" -ne 134 ] && [ "$status" -lt 128 ]
}

# inject_refuses BUNDLE WHY [AFTER]: inject fails with the one line
# "BUNDLE/config.json: WHY (offset N)AFTER" and leaves config.json byte for
# byte, with no temporary file beside it.
inject_refuses() {
	local b=$1
	cp "$b/config.json" "$BATS_TEST_TMPDIR/before"
	run "$HOOK" inject "$b"
	refused
	[[ "$output" =~ ^"oci-idmap-hook: $b/config.json: $2 (offset "[0-9]+")${3:-}"$ ]]
	cmp "$b/config.json" "$BATS_TEST_TMPDIR/before"
	[ "$(ls "$b")" = "$(printf 'config.json\nrootfs')" ]
}

@test "runc prestart: a config.json whose comment hides a million levels is refused in one line, nothing changes" {
	b=$(chown_asking_bundle c)
	cp "$b/config.json" "$b/evil.json"
	hide_deep_nesting "$b/evil.json"
	# runc parses config.json before the hooks run (and refuses comments);
	# a first prestart hook swaps it, as a bundle changed under runc would.
	bundle_hook "$b" prestart /bin/cp "$b/evil.json" "$b/config.json"
	update_config "$b" '.hooks.prestart += [{path: $h, args: ["oci-idmap-hook", "--journal-dir", $j, "prestart"]}]' \
		--arg h "$HOOK" --arg j "$JOURNALS"
	before=$(snapshot)
	run_runc "$b"
	[ "$status" -ne 0 ]
	[[ "$output" == *"oci-idmap-hook: config.json: comments are not JSON (offset "* ]]
	[[ "$output" != *"signal"* ]]
	[ "$(snapshot)" = "$before" ]
	[ -z "$(ls -A "$JOURNALS" 2>/dev/null)" ]
}

@test "the hook refuses a state on stdin whose comment hides deep nesting, without a crash" {
	# The state is capped at 1 MiB: 450000 levels fit.
	{
		printf '{"id": "x", "bundle": "/nonexistent", "a": /* " */ '
		head -c 450000 /dev/zero | tr '\0' '['
		head -c 450000 /dev/zero | tr '\0' ']'
		printf '}'
	} >"$BATS_TEST_TMPDIR/state.json"
	run "$HOOK" prestart <"$BATS_TEST_TMPDIR/state.json"
	refused
	[ "$output" = "oci-idmap-hook: container state on stdin: comments are not JSON (offset 43)" ]
}

@test "inject refuses a config.json whose comment hides deep nesting and leaves it byte for byte" {
	b=$(chown_asking_bundle c)
	hide_deep_nesting "$b/config.json"
	inject_refuses "$b" "comments are not JSON"
}

@test "oci-idmap-runtime run refuses a config.json whose comment hides deep nesting, and runs nothing" {
	b=$(chown_asking_bundle c)
	hide_deep_nesting "$b/config.json"
	cp "$b/config.json" "$BATS_TEST_TMPDIR/before"
	before=$(snapshot)
	id=$(_new_id runc)
	run timeout -k 5 "$CONTAINER_TIMEOUT" "$SHIM" --root "$RUNC_ROOT" run --bundle "$b" "$id" </dev/null
	refused
	[[ "$output" =~ ^"oci-idmap-runtime: config.json: comments are not JSON (offset "[0-9]+")"$ ]]
	cmp "$b/config.json" "$BATS_TEST_TMPDIR/before"
	[ "$(snapshot)" = "$before" ]
	run runc --root "$RUNC_ROOT" state "$id"
	[ "$status" -ne 0 ]
}

@test "doctor refuses a config.json whose comment hides deep nesting, in one line" {
	b=$(chown_asking_bundle c)
	hide_deep_nesting "$b/config.json"
	cp "$b/config.json" "$BATS_TEST_TMPDIR/before"
	before=$(snapshot)
	run "$HOOK" doctor "$b"
	refused
	[[ "$output" =~ ^"oci-idmap-hook: $b: config.json: comments are not JSON (offset "[0-9]+")"$ ]]
	cmp "$b/config.json" "$BATS_TEST_TMPDIR/before"
	[ "$(snapshot)" = "$before" ]
}

@test "inject refuses \\u0000 in an argument (it would cut the argument short) and leaves config.json as it was" {
	b=$(chown_asking_bundle c)
	update_config "$b" '.process.args = ["sh", "-c", "cat \"$1\"", "sh", "app.conf\u0000 --read-only"]'
	grep -q 'app.conf\\u0000 --read-only' "$b/config.json"
	inject_refuses "$b" 'a string holds the escape of U+0000, NUL' ', which cannot be passed on intact'
}

@test "inject refuses a lone surrogate (it would become '?') and a comment (it would vanish), config.json untouched" {
	b=$(chown_asking_bundle c)
	bundle_args "$b" sh -c 'echo "$1"' sh LONE
	sed -i 's/"LONE"/"x\\udc00y"/' "$b/config.json"
	inject_refuses "$b" 'a string holds the unpaired UTF-16 surrogate U+DC00'
	sed -i 's/"x\\udc00y"/"ok" \/* read-only *\//' "$b/config.json"
	inject_refuses "$b" "comments are not JSON"
}

@test "inject keeps exotic strings exact: config.json is the original plus our hook, and runc runs the same arguments" {
	b=$(chown_asking_bundle c)
	bundle_annotation "$b" oci-idmap-hook/mounts /data
	bundle_args "$b" sh -c 'exec 2>&1; stat -c %u:%g /data; for a; do printf "[%s]\\n" "$a"; done' sh \
		"été ünï 日本" SLASH PAIR CTRL "a\\b\"c" $'\u2028'
	# Escapes jq would not write: an escaped '/', a surrogate pair, \t and \u001b.
	sed -i -e 's|"SLASH"|"\\/etc\\/app.conf"|' -e 's|"PAIR"|"\\ud83d\\ude00 \\uD834\\uDD1E"|' \
		-e 's|"CTRL"|"tab\\there\\u001b[0m"|' "$b/config.json"
	grep -q '\\ud83d\\ude00' "$b/config.json"
	cp "$b/config.json" "$BATS_TEST_TMPDIR/before"
	run "$HOOK" inject "$b"
	[ "$status" -eq 0 ]
	# Every member but hooks is what it was, in the same order; hooks is ours alone.
	[ "$(jq -c 'del(.hooks)' "$b/config.json")" = "$(jq -c 'del(.hooks)' "$BATS_TEST_TMPDIR/before")" ]
	[ "$(jq -c 'keys_unsorted' "$b/config.json")" = "$(jq -c 'keys_unsorted + ["hooks"]' "$BATS_TEST_TMPDIR/before")" ]
	[ "$(jq -c .hooks "$b/config.json")" = "{\"prestart\":[{\"path\":\"$HOOK\",\"args\":[\"oci-idmap-hook\",\"prestart\"]}],\
\"poststop\":[{\"path\":\"$HOOK\",\"args\":[\"oci-idmap-hook\",\"poststop\"]}]}" ]
	before=$(listing "$OUTSIDE")
	run_runc "$b"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 999:999 ]
	# What the container got, argument by argument, against jq's reading of the original.
	expected=$(jq -r '.process.args[4:][] | "[" + . + "]"' "$BATS_TEST_TMPDIR/before")
	[ "$(printf '%s\n' "${lines[@]:1}")" = "$expected" ]
	[ "${lines[2]}" = "[/etc/app.conf]" ]
	[ "${lines[3]}" = "[😀 𝄞]" ]
	[ "$(listing "$OUTSIDE")" = "$before" ]
}

@test "inject refuses a config whose hooks is not an object (it would add a second \"hooks\" key), config.json untouched" {
	b=$(chown_asking_bundle c)
	update_config "$b" '.hooks = "none"'
	cp "$b/config.json" "$BATS_TEST_TMPDIR/before"
	run "$HOOK" inject "$b"
	refused
	[ "$output" = "oci-idmap-hook: $b/config.json: \"hooks\" must be an object" ]
	cmp "$b/config.json" "$BATS_TEST_TMPDIR/before"
}

@test "inject refuses a config whose hooks.prestart is not a list (it would say it added the hook there), config.json untouched" {
	b=$(chown_asking_bundle c)
	update_config "$b" '.hooks = {prestart: "notalist"}'
	cp "$b/config.json" "$BATS_TEST_TMPDIR/before"
	run "$HOOK" inject "$b"
	refused
	[ "$output" = "oci-idmap-hook: $b/config.json: \"hooks\".\"prestart\" must be a list" ]
	cmp "$b/config.json" "$BATS_TEST_TMPDIR/before"
}

@test "oci-idmap-runtime's JSON log line stays valid JSON when its message quotes config.json's control characters" {
	b=$(chown_asking_bundle c)
	# A duplicate key with an escape sequence in it: the refusal quotes the key.
	sed -i 's/^{/{"k\\u001b[8m": 1, "k\\u001b[8m": 2, /' "$b/config.json"
	id=$(_new_id runc)
	run "$SHIM" --root "$RUNC_ROOT" --log "$BATS_TEST_TMPDIR/log.json" --log-format json run --bundle "$b" "$id" </dev/null
	refused
	[[ "$output" == *"appears twice in one object"* ]]
	run jq -r '.level + " " + .msg' "$BATS_TEST_TMPDIR/log.json"
	[ "$status" -eq 0 ]
	[[ "$output" == "error oci-idmap-runtime: config.json: the key \"k"*"[8m\" appears twice in one object" ]]
}

@test "a policy file with a comment is refused in one line (yajl_tree_parse took it), and nothing on the host changes" {
	POLICY="$BATS_TEST_TMPDIR/policy.json"
	printf '{"allowedModes": ["idmap", "chown"] /* "chown+restore" */}\n' >"$POLICY"
	chmod 0644 "$POLICY"
	b=$(chown_asking_bundle c)
	bundle_hook "$b" prestart "$HOOK" --policy "$POLICY" --journal-dir "$JOURNALS" prestart
	before=$(snapshot)
	run_runc "$b"
	[ "$status" -ne 0 ]
	[[ "$output" == *"oci-idmap-hook: $POLICY: comments are not JSON (offset 36)"* ]]
	[ "$(snapshot)" = "$before" ]
}
