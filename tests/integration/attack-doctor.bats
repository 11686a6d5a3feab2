#!/usr/bin/env bats
# Attacks on what the hook and the doctor print (issue 14, findings 10b, 12,
# 14, 16): a bundle's strings (mount sources, destinations, root.path,
# annotations) and its file names must not forge a line, reach the terminal
# as a control sequence, or make --json invalid; and `doctor --untrusted`
# lists nothing of the host that the bundle points it at.

load helpers
load chown_helpers

setup() {
	chown_setup
	# A host directory only root may read: a bundle must not get its names.
	SECRET=$(make_host_dir secret 0:0 0700)
	touch "$SECRET/secret-name"
	chown 1000000:0 "$SECRET/secret-name"
	before_data=$(listing "$DATA")
	before_outside=$(listing "$OUTSIDE")
	before_secret=$(listing "$SECRET")
}

teardown() {
	teardown_common
}

# Nothing the doctor or the hook printed changed a file of the tree, of the
# canary or of the secret directory.
assert_nothing_changed() {
	[ "$(listing "$DATA")" = "$before_data" ]
	[ "$(listing "$OUTSIDE")" = "$before_outside" ]
	[ "$(listing "$SECRET")" = "$before_secret" ]
}

# FILE holds no byte a terminal takes as a control, and no bidi override:
# C0 but newline (00-09, 0b-1f), DEL, C1 in UTF-8 (c2 80-c2 9f), U+202E.
assert_no_controls() {
	local hex
	hex=$(od -An -tx1 -v "$1" | tr -s ' \n' '  ')
	echo "bytes: $hex" | head -c 2000
	echo
	! grep -Eq ' (0[0-9b-f]|1[0-9a-f]|7f) ' <<<" $hex "
	! grep -Eq ' c2 [89][0-9a-f] ' <<<" $hex "
	! grep -Eq ' e2 80 ae ' <<<" $hex "
}

# A bundle whose config.json forges a report: its mount source says a
# verdict and hides what follows (ESC[8m: invisible), its destination sets
# the terminal's title, an 8-bit CSI (U+009B) and a right-to-left override.
forged_bundle() {
	local b
	b=$(userns_hook_bundle c)
	update_config "$b" '.mounts |= map(if .destination == "/data" then
		.source = $s + "/x\nverdict: ok, the container will work as asked\u001b[8m\u009b8m\u202e"
		| .destination = "/data\r\u001b]0;owned\u0007" else . end)' --arg s "$DATA"
	bundle_annotation "$b" oci-idmap-hook/mounts $'/data\e[2J;/nope\xc2\x9b1m'
	# File names that are not UTF-8 at all, each owned by an id outside
	# the mapping so that the scan reports it: an overlong '/', a UTF-16
	# surrogate, a code point past U+10FFFF and a C1 control (NEL).
	local i=1 name
	for name in $'o\xc0\xafl' $'s\xed\xa0\x80g' $'h\xf4\x90\x80\x80i' $'c\xc2\x85one'; do
		touch "$b/rootfs/$name"
		chown "$((1000000 + i))" "$b/rootfs/$name"
		i=$((i + 1))
	done
	echo "$b"
}

@test "doctor: a forged source, destination and annotation print escaped, and the real verdict is the only one" {
	b=$(forged_bundle)
	run "$HOOK" doctor "$b"
	"$HOOK" doctor "$b" >"$BATS_TEST_TMPDIR/report" || true
	echo "$output"
	[ "$status" -eq 1 ]
	assert_no_controls "$BATS_TEST_TMPDIR/report"
	# One verdict line, the real one; the forged text is inside the source's line.
	[ "$(grep -c '^verdict' "$BATS_TEST_TMPDIR/report")" -eq 1 ]
	grep -qx 'verdict: the container will not work as asked ([0-9]* problems*)' "$BATS_TEST_TMPDIR/report"
	grep -qF "  source:  $DATA/x\\x0averdict: ok, the container will work as asked\\x1b[8m\\xc2\\x9b8m\\xe2\\x80\\xae: No such file or directory" \
		"$BATS_TEST_TMPDIR/report"
	grep -qxF 'mount /data\x0d\x1b]0;owned\x07' "$BATS_TEST_TMPDIR/report"
	grep -qF 'asks for /data\x1b[2J, which' "$BATS_TEST_TMPDIR/report"
	grep -qF 'asks for /nope\xc2\x9b1m, which' "$BATS_TEST_TMPDIR/report"
	# The file names: each byte that is not printable UTF-8 as \xNN.
	grep -qF '/o\xc0\xafl' "$BATS_TEST_TMPDIR/report"
	grep -qF '/s\xed\xa0\x80g' "$BATS_TEST_TMPDIR/report"
	grep -qF '/h\xf4\x90\x80\x80i' "$BATS_TEST_TMPDIR/report"
	grep -qF '/c\xc2\x85one' "$BATS_TEST_TMPDIR/report"
	assert_nothing_changed
}

@test "doctor --json: with forged strings and file names that are not UTF-8, a strict reader and jq accept it" {
	b=$(forged_bundle)
	run "$HOOK" doctor --json "$b"
	"$HOOK" doctor --json "$b" >"$BATS_TEST_TMPDIR/report.json" || true
	echo "$output"
	[ "$status" -eq 1 ]
	# A strict reader: the bytes decoded as strict UTF-8 (surrogates,
	# overlongs and bytes past U+10FFFF fail), then parsed.  Not
	# json.load(sys.stdin): in the C locale Python reads stdin with
	# surrogateescape and accepts any byte; and jq turns bad bytes into U+FFFD.
	python3 -c 'import json,sys; json.loads(sys.stdin.buffer.read().decode("utf-8", "strict"))' \
		<"$BATS_TEST_TMPDIR/report.json"
	jq -e . "$BATS_TEST_TMPDIR/report.json" >/dev/null
	assert_no_controls "$BATS_TEST_TMPDIR/report.json"
	# Strings are the text report's escapes, so decoded they are safe to print too.
	dest=$(jq -r '.mounts[] | select(.destination | startswith("/data")) | .destination' "$BATS_TEST_TMPDIR/report.json")
	[ "$dest" = '/data\x0d\x1b]0;owned\x07' ]
	jq -r '.rootfs_scan.unmapped_uids[].paths[]' "$BATS_TEST_TMPDIR/report.json" >"$BATS_TEST_TMPDIR/paths"
	assert_no_controls "$BATS_TEST_TMPDIR/paths"
	grep -qxF '/s\xed\xa0\x80g' "$BATS_TEST_TMPDIR/paths"
	grep -qxF '/c\xc2\x85one' "$BATS_TEST_TMPDIR/paths"
	[ "$(jq -r .ok "$BATS_TEST_TMPDIR/report.json")" = false ]
	assert_nothing_changed
}

@test "hook: an annotation with terminal escapes gives one escaped line, on stderr through runc and in the --log file" {
	b=$(chown_bundle c chown)
	bundle_annotation "$b" oci-idmap-hook/mounts $'/data=\e[8mchown\xc2\x9b2J'
	bundle_args "$b" sh -c 'echo STARTED'
	run_runc "$b"
	[ "$status" -ne 0 ]
	[[ "$output" != *STARTED* ]]
	printf '%s' "$output" >"$BATS_TEST_TMPDIR/runc.out"
	assert_no_controls "$BATS_TEST_TMPDIR/runc.out"
	# runc quotes the hook's stderr: a quote shows as \", a backslash as \\.
	[[ "$output" == *'stderr: oci-idmap-hook: oci-idmap-hook/mounts: \"/data\": unknown mode \"\\x1b[8mchown\\xc2\\x9b2J\"; use one of'* ]]
	# The log file: one line for the refusal, escaped the same way.
	cat "$HOOK_LOG"
	assert_no_controls "$HOOK_LOG"
	[ "$(grep -c 'x1b\[8m' "$HOOK_LOG")" -eq 1 ]
	grep -qF 'oci-idmap-hook/mounts: "/data": unknown mode "\x1b[8mchown\xc2\x9b2J"' "$HOOK_LOG"
	[ "$(wc -l <"$HOOK_LOG")" -eq "$(grep -c ' oci-idmap-hook\[[0-9]*\]' "$HOOK_LOG")" ]
	assert_nothing_changed
	[ "$(host_owner "$DATA")" = 1000:1000 ]
}

# A bundle whose root.path is ROOT (and nothing else to say).
rootfs_bundle() {
	local b
	b=$(make_bundle c)
	bundle_userns "$b" 0:100000:65536
	update_config "$b" '.root.path = $r' --arg r "$1"
	echo "$b"
}

@test "doctor lists what root.path names with its caller's rights; --untrusted refuses a root.path that is a symlink out of the bundle" {
	b=$(rootfs_bundle secret-link)
	ln -s "$SECRET" "$b/secret-link"
	# Trusted (the default): the doctor runs as its caller, root here, and
	# reads the 0700 directory the bundle points at.  This is documented.
	run "$HOOK" doctor "$b"
	echo "$output"
	[[ "$output" == *secret-name* ]]
	run "$HOOK" doctor --untrusted "$b"
	echo "$output"
	[ "$status" -eq 2 ]
	[[ "$output" != *secret-name* ]]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == "oci-idmap-hook: --untrusted: open root.path 'secret-link' below the bundle '$b': Too many levels of symbolic links; it leaves the bundle or goes through a symlink"* ]]
	# A symlink to / is refused the same way.
	ln -sfn / "$b/secret-link"
	run "$HOOK" doctor --untrusted --json "$b"
	echo "$output"
	[ "$status" -eq 2 ]
	[[ "$output" == "oci-idmap-hook: --untrusted: open root.path 'secret-link' below the bundle '$b': Too many levels"* ]]
	assert_nothing_changed
}

@test "doctor --untrusted refuses an absolute root.path and one with '..', and scans one inside the bundle" {
	b=$(rootfs_bundle "$SECRET")
	run "$HOOK" doctor --untrusted "$b"
	echo "$output"
	[ "$status" -eq 2 ]
	[[ "$output" != *secret-name* ]]
	[[ "$output" == "oci-idmap-hook: --untrusted: open root.path '$SECRET' below the bundle '$b': Invalid cross-device link; it leaves the bundle"* ]]
	update_config "$b" '.root.path = "../secret"'
	run "$HOOK" doctor --untrusted "$b"
	echo "$output"
	[ "$status" -eq 2 ]
	[[ "$output" != *secret-name* ]]
	[[ "$output" == *"--untrusted: open root.path '../secret' below the bundle"* ]]
	# The bundle's own rootfs is scanned as usual.
	update_config "$b" '.root.path = "rootfs"'
	touch "$b/rootfs/far-id"
	chown 1000000 "$b/rootfs/far-id"
	run "$HOOK" doctor --untrusted "$b"
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"uid 1000000 outside the mapping: 1 file: /far-id"* ]]
	# --untrusted is about a bundle: with --rootfs the paths are the caller's own.
	run "$HOOK" doctor --untrusted --rootfs "$b/rootfs"
	[ "$status" -eq 2 ]
	[[ "$output" == *"--untrusted is for a BUNDLE"* ]]
	assert_nothing_changed
}

@test "runtime shim: an annotation key with ESC gives a valid JSON line in the engine's --log, escaped" {
	b=$(make_bundle c)
	update_config "$b" '.annotations = {"oci-idmap-hook/mounts": "/data", "x\u001b[8m\u009b": 1}'
	log="$BATS_TEST_TMPDIR/runtime.log"
	# The shim next to the hook under test (HOOK_UNDER_TEST).
	run "${HOOK%/*}/oci-idmap-runtime" --log "$log" --log-format json create --bundle "$b" shim-esc
	echo "$output"
	cat "$log"
	[ "$status" -ne 0 ]
	[ "$(wc -l <"$log")" -eq 1 ]
	python3 -c 'import json,sys; json.loads(sys.stdin.buffer.read().decode("utf-8", "strict"))' <"$log"
	assert_no_controls "$log"
	[ "$(jq -r .msg "$log")" = 'oci-idmap-runtime: config.json annotations: value of "x\x1b[8m\xc2\x9b" must be a string' ]
	assert_nothing_changed
}
