#!/usr/bin/env bats
# A request for /data idmaps every mount the runtime stacked below it too
# (open_tree and mount_setattr copy and map whole trees): a second volume
# from a denied tree, from outside allowedSources or owned by host root,
# mounted at /data/x, must not be served by asking for /data.

load helpers
load chown_helpers

setup() {
	chown_setup
	POLICY="$BATS_TEST_TMPDIR/policy.json"
	# Inside a denied tree (/run), owned by 1000 like $DATA.
	DENIED=$(mktemp -d /run/oih-test.XXXXXX)
	chown 1000:1000 "$DENIED"
	chmod 0755 "$DENIED"
	echo root-trusted >"$DENIED/conf"
	chown 1000:1000 "$DENIED/conf"
	# A volume that may be served, of another owner than $DATA's.
	OTHER=$(make_host_dir other 1234:1234 0755)
	echo f >"$OTHER/f"
	echo g >"$OTHER/g"
	chown 1234:1234 "$OTHER/f"
	chown 1235:1235 "$OTHER/g"
	# The runtime mounts /data/x inside $DATA: the mount point must exist
	# there (the runtime, in the user namespace, cannot make it).
	mkdir "$DATA/x"
	chown 1000:1000 "$DATA/x"
}

teardown() {
	teardown_common
	rm -rf "$DENIED"
}

# sub_bundle NAME SUBSOURCE MOUNTS [HOOK_ARG...]: as 999 in a user namespace,
# $DATA at /data and SUBSOURCE at /data/x, asking for MOUNTS.
sub_bundle() {
	local name=$1 src=$2 mounts=$3 b
	shift 3
	b=$(make_bundle "$name")
	bundle_userns "$b" 0:100000:65536
	bundle_user "$b" 999 999
	bundle_bind "$b" "$DATA" /data
	bundle_bind "$b" "$src" /data/x
	bundle_hook "$b" prestart "$HOOK" --verbose --log "$HOOK_LOG" "$@" prestart
	bundle_annotation "$b" oci-idmap-hook/mounts "$mounts"
	bundle_args "$b" sh -c 'exec 2>&1; stat -c "%n %u:%g" /data /data/x; echo STARTED'
	echo "$b"
}

# Every owner, mode and xattr of the volumes and of the canary.
listings() {
	listing "$DATA"
	listing "$DENIED"
	listing "$OTHER"
	listing "$OUTSIDE"
}

# refused RUNTIME BUNDLE LINE: the container does not start, LINE is the
# hook's one line (runc shows it; crun only says the hook failed: the log
# has it), and nothing on the host changed.
refused() {
	local before
	before=$(listings)
	"run_$1" "$2"
	[ "$status" -ne 0 ]
	[[ "$output" != *STARTED* ]]
	[ "$1" = crun ] || [[ "$output" == *"oci-idmap-hook: $3"* ]]
	[ "$(grep -cF "$3" "$HOOK_LOG")" -eq 1 ]
	[ "$(grep -c "refused\|cannot" "$HOOK_LOG")" -eq 1 ]
	[ "$(listings)" = "$before" ]
}

@test "runc: a submount from /run below a requested /data is refused, naming it and the rule" {
	refused runc "$(sub_bundle c "$DENIED" /data)" \
		"/data: refused: '/data/x', mounted below it from '$DENIED', would be idmapped with it: the source '$DENIED' is under /run (built-in deny list); list it in allowedSources of '/etc/oci-idmap-hook/policy.json' to allow it, or use another source"
}

@test "crun: a submount from /run below a requested /data is refused, naming it and the rule" {
	refused crun "$(sub_bundle c "$DENIED" /data)" \
		"/data: refused: '/data/x', mounted below it from '$DENIED', would be idmapped with it: the source '$DENIED' is under /run (built-in deny list)"
}

@test "runc and crun: a submount from outside allowedSources is refused under a policy" {
	echo "{\"allowedSources\": [\"$DATA\"]}" >"$POLICY"
	for rt in runc crun; do
		: >"$HOOK_LOG"
		refused $rt "$(sub_bundle "c-$rt" "$OTHER" /data --policy "$POLICY")" \
			"/data: refused: '/data/x', mounted below it from '$OTHER', would be idmapped with it: the source '$OTHER' is not under any of allowedSources in '$POLICY'; add the directory to allowedSources"
	done
}

@test "runc and crun: a submount whose top is owned by host root is refused" {
	chown 0:0 "$OTHER"
	for rt in runc crun; do
		: >"$HOOK_LOG"
		refused $rt "$(sub_bundle "c-$rt" "$OTHER" /data)" \
			"/data: refused: '/data/x', mounted below it from '$OTHER', would be idmapped with it: its top directory is owned by host root (0:0); chown it to the host user and group who should own the data"
	done
}

@test "runc and crun: a submount that passes every check gets its own owner's mapping" {
	outside=$(listing "$DATA"; listing "$DENIED"; listing "$OUTSIDE")
	for rt in runc crun; do
		b=$(sub_bundle "c-$rt" "$OTHER" /data)
		bundle_args "$b" sh -c 'exec 2>&1; stat -c "%n %u:%g" /data /data/x /data/x/f /data/x/g
			echo new >/data/x/new-'$rt' && echo WROTE'
		"run_$rt" "$b"
		[ "$status" -eq 0 ]
		[ "${lines[0]}" = "/data 999:999" ]
		[ "${lines[1]}" = "/data/x 999:999" ]
		[ "${lines[2]}" = "/data/x/f 999:999" ]
		# Not its owner's: shown as nobody, as in a request for /data/x.
		[ "${lines[3]}" = "/data/x/g 65534:65534" ]
		[ "${lines[4]}" = WROTE ]
		[ "$(host_owner "$OTHER/new-$rt")" = 1234:1234 ]
		grep -qF "/data/x: idmapped $OTHER, mounted below /data (ext4): on-disk owner 1234:1234 shows as container user 999:999" "$HOOK_LOG"
	done
	[ "$(host_owner "$OTHER/g")" = 1235:1235 ]
	[ "$(listing "$DATA"; listing "$DENIED"; listing "$OUTSIDE")" = "$outside" ]
}

@test "under '*' a denied submount is left as the runtime made it, and said so" {
	# One from config.json, denied by its source; one the host mounted
	# below the source (rbind brings it along), owned by host root.
	mkdir "$DATA/y"
	mount -t tmpfs -o mode=0755 tmpfs "$DATA/y"
	for rt in runc crun; do
		: >"$HOOK_LOG"
		before=$(listings)
		b=$(sub_bundle "c-$rt" "$DENIED" '*')
		bundle_args "$b" sh -c 'exec 2>&1; stat -c "%n %u:%g" /data /data/x /data/y /data/x/conf
			echo hacked >/data/x/conf || echo REFUSED'
		"run_$rt" "$b"
		[ "$status" -eq 0 ]
		[ "${lines[0]}" = "/data 999:999" ]
		[ "${lines[1]}" = "/data/x 65534:65534" ]
		[ "${lines[2]}" = "/data/y 65534:65534" ]
		[ "${lines[3]}" = "/data/x/conf 65534:65534" ]
		[[ "$output" == *REFUSED* ]]
		[ "$(cat "$DENIED/conf")" = root-trusted ]
		[ "$(listings)" = "$before" ]
		grep -qF "/data/x: left as it is ($DENIED): refused by the administrator's policy" "$HOOK_LOG"
		# crun 1.8 does not carry the host's mounts below a bind's source.
		[ "$rt" = crun ] || grep -qF "/data/y: left as it is, mounted below /data ($DATA/y): owned by host root" "$HOOK_LOG"
	done
}

@test "both /data and /data/x asked for: each is served by its own request" {
	before=$(listings)
	for rt in runc crun; do
		b=$(sub_bundle "c-$rt" "$OTHER" '/data;/data/x')
		bundle_args "$b" sh -c 'exec 2>&1; stat -c "%n %u:%g" /data /data/x /data/x/f'
		"run_$rt" "$b"
		[ "$status" -eq 0 ]
		[ "${lines[0]}" = "/data 999:999" ]
		[ "${lines[1]}" = "/data/x 999:999" ]
		[ "${lines[2]}" = "/data/x/f 999:999" ]
		grep -qF "/data/x: idmapped $OTHER (ext4): on-disk owner 1234:1234 shows as container user 999:999" "$HOOK_LOG"
	done
	[ "$(listings)" = "$before" ]
	# Its own mode too: nsmap shows on-disk ids through the container's mapping.
	chown 999:999 "$OTHER/f"
	b=$(sub_bundle c-nsmap "$OTHER" '/data;/data/x=nsmap')
	bundle_args "$b" sh -c 'exec 2>&1; stat -c "%n %u:%g" /data /data/x /data/x/f'
	run_runc "$b"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "/data 999:999" ]
	[ "${lines[1]}" = "/data/x 1234:1234" ]
	[ "${lines[2]}" = "/data/x/f 999:999" ]
	# Mode chown for the one below: its own walk, and the outer copy shows it.
	sub=$(listing "$OTHER")
	b=$(sub_bundle c-chown "$OTHER" '/data;/data/x=chown' --journal-dir "$JOURNALS")
	bundle_args "$b" sh -c 'exec 2>&1; stat -c "%n %u:%g" /data /data/x /data/x/f'
	run_runc "$b"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "/data 999:999" ]
	[ "${lines[1]}" = "/data/x 999:999" ]
	[ "${lines[2]}" = "/data/x/f 999:999" ]
	[ "$(host_owner "$OTHER/f")" = 100999:100999 ]
	[ "$(host_owner "$DATA/sub/a")" = 1000:1000 ]
	# Its summary to /dev/null: stdio asks whether that is a terminal.
	for j in "$JOURNALS"/*; do "$HOOK" restore --journal "$j" >/dev/null; done
	[ "$(listing "$OTHER")" = "$sub" ]
	# A denied one asked for by itself is refused by its own rule.
	: >"$HOOK_LOG"
	refused runc "$(sub_bundle c-denied "$DENIED" '/data;/data/x')" \
		"/data/x: refused: the source '$DENIED' is under /run (built-in deny list)"
}

@test "mode chown does not enter a submount: its tree is unchanged and the report counts it" {
	for rt in runc crun; do
		: >"$HOOK_LOG"
		sub=$(listing "$OTHER")
		denied=$(listing "$DENIED")
		outside=$(listing "$OUTSIDE")
		b=$(sub_bundle "c-$rt" "$OTHER" /data=chown --journal-dir "$JOURNALS")
		bundle_args "$b" sh -c 'exec 2>&1; stat -c "%n %u:%g" /data /data/sub/a /data/x /data/x/f'
		"run_$rt" "$b"
		[ "$status" -eq 0 ]
		[ "${lines[0]}" = "/data 999:999" ]
		[ "${lines[1]}" = "/data/sub/a 999:999" ]
		[ "${lines[2]}" = "/data/x 65534:65534" ]
		[ "${lines[3]}" = "/data/x/f 65534:65534" ]
		[ "$(listing "$OTHER")" = "$sub" ]
		[ "$(listing "$DENIED")" = "$denied" ]
		[ "$(listing "$OUTSIDE")" = "$outside" ]
		grep -qF "/data: chown $DATA: 1 mounts below the source not entered (x)" "$HOOK_LOG"
		# Give the tree back for the next runtime.
		chown -R 1000:1000 "$DATA"
		chown 1234:1235 "$DATA/other"
	done
}

@test "a denied mount covered by another one below /data is left as it is; the one on top is served" {
	before=$(listing "$DENIED"; listing "$OUTSIDE")
	b=$(sub_bundle c "$DENIED" /data)
	bundle_bind "$b" "$OTHER" /data/x
	bundle_args "$b" sh -c 'exec 2>&1; stat -c "%n %u:%g" /data /data/x /data/x/f; ls /data/x'
	run_runc "$b"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "/data 999:999" ]
	[ "${lines[1]}" = "/data/x 999:999" ]
	[ "${lines[2]}" = "/data/x/f 999:999" ]
	[[ "$output" != *conf* ]]
	grep -qF "/data/x: left as it is, mounted below /data ($DENIED): covered by another mount" "$HOOK_LOG"
	grep -qF "/data/x: idmapped $OTHER, mounted below /data (ext4)" "$HOOK_LOG"
	[ "$(listing "$DENIED"; listing "$OUTSIDE")" = "$before" ]
}

@test "crun: a mount below /data that the runtime idmapped itself keeps the runtime's mapping" {
	before=$(listings)
	b=$(sub_bundle c "$OTHER" /data)
	update_config "$b" '.mounts[-1].options += ["idmap"]'
	bundle_args "$b" sh -c 'exec 2>&1; stat -c "%n %u:%g" /data /data/x /data/x/f'
	run_crun "$b"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "/data 999:999" ]
	# crun's idmap option maps it with the container's own mapping.
	[ "${lines[1]}" = "/data/x 1234:1234" ]
	[ "${lines[2]}" = "/data/x/f 1234:1234" ]
	grep -qF "/data/x: left as it is, mounted below /data ($OTHER): the runtime idmapped it" "$HOOK_LOG"
	[ "$(listings)" = "$before" ]
}
