#!/usr/bin/env bats
# shellcheck disable=SC2154  # $status, $output and $lines are set by bats' `run`.
# shellcheck disable=SC2016  # $f in single quotes is the container shell's.
# Restore as an attacker would use it: the container owns the volume while
# it runs, and what it leaves there comes back to the source owner.  A
# privileged file (setuid, setgid, a file capability) that the container
# rewrote must not get its privilege back; a file the container made must
# not become a privileged program of the source owner; a container id with
# bytes the journal name escapes must still be restored.  Each test compares
# the full listing (owners, modes, xattrs) of the tree and of a canary
# outside it with what it must be, and the one line the user is told.

load helpers
load chown_helpers

setup() {
	chown_setup
	OUTSIDE_BEFORE=$(listing "$OUTSIDE")
	command -v setcap >/dev/null || skip "needs setcap (libcap2-bin)"
}

teardown() {
	teardown_common
}

# A setuid program, a setgid one, one with a capability, and one of each
# kind again that the container leaves alone; all the source owner's.
privileged_tree() {
	local f
	for f in suid sgid capped keep-suid keep-capped; do
		printf '#!/bin/sh\necho admin\n' >"$DATA/$f"
		chown 1000:1000 "$DATA/$f"
		chmod 0755 "$DATA/$f"
	done
	chmod 4755 "$DATA/suid" "$DATA/keep-suid"
	chmod 2755 "$DATA/sgid"
	setcap cap_net_raw+ep "$DATA/capped"
	setcap cap_net_raw+ep "$DATA/keep-capped"
	# The tree as it must be after the restore: rewritten files without
	# their privilege, the others as they are.
	EXPECT="$BATS_TEST_TMPDIR/expect"
	cp -a "$DATA" "$EXPECT"
	[ "$(listing "$EXPECT")" = "$(listing "$DATA")" ]
	chmod 0755 "$EXPECT/suid" "$EXPECT/sgid"
	setcap -r "$EXPECT/capped"
}

# What the container does to them: rewrite three in place (as their owner,
# without CAP_FSETID: the kernel drops the bits; then it puts the mtime
# back), and show what it sees.
REWRITE='exec 2>&1
for f in suid sgid capped; do
	printf "#!/bin/sh\necho owned\n" >/data/$f && touch -d "2020-01-01 00:00" /data/$f
done
stat -c "%n %u:%g %a" /data/suid /data/keep-suid'

tree_as_expected() {
	diff <(listing "$EXPECT") <(listing "$DATA")
	diff <(echo "$OUTSIDE_BEFORE") <(listing "$OUTSIDE")
}

# rewrite_at_poststop RUNNER: the container rewrites, poststop restores.
rewrite_at_poststop() {
	privileged_tree
	b=$(chown_bundle c chown+restore)
	bundle_args "$b" sh -c "$REWRITE"
	"$1" "$b"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "/data/suid 999:999 755" ]
	[ "${lines[1]}" = "/data/keep-suid 999:999 4755" ]
	tree_as_expected
	# One line for the mount, with the count, without --verbose too.
	run grep -c 'setuid/setgid or capability files given back' "$HOOK_LOG"
	[ "$output" = 1 ]
	grep -q '/data: .*; 3 setuid/setgid or capability files given back without that privilege (content changed since the chown)' "$HOOK_LOG"
}

@test "chown+restore: rewritten setuid, setgid and setcap files get their owner back without the privilege; untouched ones keep it" {
	rewrite_at_poststop run_runc
	[ "$(getcap "$DATA/keep-capped")" = "$DATA/keep-capped cap_net_raw=ep" ]
	[ -z "$(getcap "$DATA/capped")" ]
}

@test "crun too: rewritten privileged files get their owner back without the privilege at poststop" {
	rewrite_at_poststop run_crun
}

@test "--allow-host-root: a setuid-root file the container rewrote comes back root's, not setuid" {
	printf '#!/bin/sh\necho admin\n' >"$DATA/su"
	printf '#!/bin/sh\necho admin\n' >"$DATA/keep-su"
	chown 0:0 "$DATA/su" "$DATA/keep-su"
	chmod 4755 "$DATA/su" "$DATA/keep-su"
	before=$(listing "$DATA")
	b=$(chown_bundle c chown+restore)
	update_config "$b" '.hooks[][].args |= (.[:1] + ["--allow-host-root"] + .[1:])'
	bundle_args "$b" sh -c 'exec 2>&1; printf "#!/bin/sh\nid\n" >/data/su && stat -c "%n %u:%g %a" /data/su /data/keep-su'
	run_runc "$b"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "/data/su 999:999 755" ]
	[ "${lines[1]}" = "/data/keep-su 999:999 4755" ]
	diff <(echo "${before/.\/su 0:0 4755 f/.\/su 0:0 755 f}") <(listing "$DATA")
	diff <(echo "$OUTSIDE_BEFORE") <(listing "$OUTSIDE")
	grep -q '/data: .*; 1 setuid/setgid or capability files given back without that privilege' "$HOOK_LOG"
}

@test "restore --journal gives rewritten privileged files their owner only, and says how many" {
	privileged_tree
	b=$(chown_bundle c chown)
	bundle_args "$b" sh -c "$REWRITE"
	run_runc "$b"
	[ "$status" -eq 0 ]
	[ "$(host_owner "$DATA/suid")" = 100999:100999 ]
	journal=$(echo "$JOURNALS"/*@%2Fdata.journal)
	run "$HOOK" restore --journal "$journal"
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "${lines[0]}" == "$journal: "*"; 3 setuid/setgid or capability files given back without that privilege (content changed since the chown)"* ]]
	tree_as_expected
	[ "$(getcap "$DATA/keep-capped")" = "$DATA/keep-capped cap_net_raw=ep" ]
	# Again: nothing more to put back, the privilege still withheld.
	run "$HOOK" restore --journal "$journal"
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == "$journal: 0 of "*"; 3 setuid/setgid or capability files given back without"* ]]
	tree_as_expected
}

# as_old_journal FILE: rewrite FILE as the hook wrote journals before
# content digests (records with flags 0 and no digest).
as_old_journal() {
	python3 - "$1" <<-'EOF'
		import sys
		data = open(sys.argv[1], "rb").read()
		body = data.index(b"\n\n") + 2
		out, pos = bytearray(data[:body]), body
		while pos < len(data):
		    size = 20 + data[pos] + data[pos + 1]
		    digest = 40 if data[pos + 2] & 1 else 0
		    out += data[pos:pos + 2] + b"\0" + data[pos + 3:pos + size]
		    pos += size + digest
		open(sys.argv[1], "wb").write(out)
	EOF
}

@test "a journal from before content digests is restored, but gives no setuid, setgid or capability back, and says why" {
	privileged_tree
	b=$(chown_bundle c chown)
	bundle_args "$b" true
	run_runc "$b"
	[ "$status" -eq 0 ]
	journal=$(echo "$JOURNALS"/*@%2Fdata.journal)
	size=$(stat -c %s "$journal")
	as_old_journal "$journal"
	# Five privileged files: five digests (and their sizes) fewer.
	[ "$(stat -c %s "$journal")" -eq $((size - 5 * 40)) ]
	run "$HOOK" restore --journal "$journal"
	[ "$status" -eq 0 ]
	[[ "$output" == *"; 5 setuid/setgid or capability files given back without that privilege (the journal predates content digests);"* ]]
	# Even those the container left alone: nothing proves their content.
	chmod 0755 "$EXPECT/keep-suid"
	setcap -r "$EXPECT/keep-capped"
	tree_as_expected
}

@test "files the container made setuid and setgid (in a setgid directory too) are given to the source owner without those bits, counted" {
	b=$(chown_bundle c chown+restore)
	bundle_args "$b" sh -c 'exec 2>&1
		for f in new-6755 new-2755 new-2745 new-0755; do
			printf "#!/bin/sh\necho mine\n" >/data/$f
		done
		chmod 6755 /data/new-6755; chmod 2755 /data/new-2755; chmod 2745 /data/new-2745; chmod 0755 /data/new-0755
		mkdir /data/sd && chmod 2775 /data/sd && printf x >/data/sd/f && chmod 2755 /data/sd/f
		stat -c "%n %u:%g %a" /data/new-6755 /data/new-2755 /data/new-2745 /data/sd/f'
	before=$(listing "$DATA")
	run_runc "$b"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "/data/new-6755 999:999 6755" ]
	[ "${lines[1]}" = "/data/new-2755 999:999 2755" ]
	[ "${lines[2]}" = "/data/new-2745 999:999 2745" ]
	# The source owner's now, and none of them privileged.
	expect=$(printf '%s\n' "$before" ./new-0755\ 1000:1000\ 755\ f ./new-2745\ 1000:1000\ 745\ f \
		./new-2755\ 1000:1000\ 755\ f ./new-6755\ 1000:1000\ 755\ f \
		./sd\ 1000:1000\ 2775\ d ./sd/f\ 1000:1000\ 755\ f | sort)
	diff <(echo "$expect") <(listing "$DATA")
	diff <(echo "$OUTSIDE_BEFORE") <(listing "$OUTSIDE")
	grep -q '/data: .*; 6 files created since given back (4 without their setuid/setgid bits or capabilities)' "$HOOK_LOG"
}

@test "a file with a capability that container root made is given back without it" {
	b=$(chown_bundle c chown+restore 0 0)
	# setcap and what it needs, in the container.
	mkdir -p "$b/rootfs/lib/x86_64-linux-gnu" "$b/rootfs/lib64" "$b/rootfs/sbin"
	cp /usr/sbin/setcap "$b/rootfs/sbin/"
	cp /lib/x86_64-linux-gnu/libcap.so.2 /lib/x86_64-linux-gnu/libc.so.6 "$b/rootfs/lib/x86_64-linux-gnu/"
	cp /lib64/ld-linux-x86-64.so.2 "$b/rootfs/lib64/"
	bundle_args "$b" sh -c 'exec 2>&1
		printf "#!/bin/sh\n" >/data/new-capped && chmod 4755 /data/new-capped &&
		/sbin/setcap cap_net_raw+ep /data/new-capped && echo set'
	run_runc "$b"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = set ]
	[ "$(host_owner "$DATA/new-capped")" = 1000:1000 ]
	[ "$(stat -c %a "$DATA/new-capped")" = 755 ]
	[ -z "$(getfattr -n security.capability --only-values "$DATA/new-capped" 2>/dev/null)" ]
	diff <(echo "$OUTSIDE_BEFORE") <(listing "$OUTSIDE")
	grep -q '/data: .*files created since given back (1 without their setuid/setgid bits or capabilities)' "$HOOK_LOG"
}

@test "a container id with '+' and other escaped bytes is restored at poststop, and restore --container finds it" {
	before=$(listing "$DATA")
	b=$(chown_bundle c chown+restore)
	bundle_args "$b" sh -c 'stat -c "%n %u:%g" /data/sub/a'
	id="ci+build+1+2+3+$RANDOM"
	echo "runc $id" >>"$CONTAINERS_FILE"
	run _captured timeout -s KILL "$CONTAINER_TIMEOUT" runc --root "$RUNC_ROOT" run --bundle "$b" "$id"
	_show_run runc
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "/data/sub/a 999:999" ]
	diff <(echo "$before") <(listing "$DATA")
	diff <(echo "$OUTSIDE_BEFORE") <(listing "$OUTSIDE")
	# Restored, so its journal is gone.
	[ -z "$(ls -A "$JOURNALS")" ]
	run grep -c 'AddressSanitizer\|error' "$HOOK_LOG"
	[ "$output" = 0 ]

	# Mode chown keeps the journal: restore --container finds it by the id.
	b=$(chown_bundle c2 chown)
	bundle_args "$b" true
	run _captured timeout -s KILL "$CONTAINER_TIMEOUT" runc --root "$RUNC_ROOT" run --bundle "$b" "$id"
	_show_run runc
	[ "$status" -eq 0 ]
	[ "$(host_owner "$DATA/sub/a")" = 100999:100999 ]
	run "$HOOK" restore --dir "$JOURNALS" --container "$id"
	[ "$status" -eq 0 ]
	[ "$output" = "container $id: 1 journal restored" ]
	diff <(echo "$before") <(listing "$DATA")
}

@test "restore --journal escapes the names of what the container made in its one line (no terminal escapes reach stdout)" {
	b=$(chown_bundle c chown)
	bundle_args "$b" sh -c 'printf x >"/data/evil$(printf "\033]0;PWNED\007\033[2J")x" && ln /data/evil* /data/link'
	run_runc "$b"
	[ "$status" -eq 0 ]
	journal=$(echo "$JOURNALS"/*@%2Fdata.journal)
	"$HOOK" restore --journal "$journal" >"$BATS_TEST_TMPDIR/out"
	grep -q 'evil\\x1b]0;PWNED\\x07\\x1b\[2Jx' "$BATS_TEST_TMPDIR/out"
	! od -An -c "$BATS_TEST_TMPDIR/out" | grep -q '033\|\\a'
	[ "$(wc -l <"$BATS_TEST_TMPDIR/out")" -eq 1 ]
}
