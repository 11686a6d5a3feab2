#!/usr/bin/env bats
# shellcheck disable=SC2154  # $status, $output and $lines are set by bats' `run`.
# shellcheck disable=SC2016  # $names in single quotes are jq's, not ours.
# Modes chown, chown+restore and auto: owners on disk change, safely (by
# fd, never following a symlink, never leaving the source's mount), with a
# journal that restores the tree exactly, even after a SIGKILL.

load helpers
load chown_helpers

setup() {
	chown_setup
}

teardown() {
	teardown_common
}

@test "runc: chown gives the whole tree to the container user's host ids; inside the user owns and writes it" {
	run_runc "$(chown_bundle c chown)"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "/data 999:999" ]
	[ "${lines[1]}" = "/data/sub/deep/b 999:999" ]
	[ "${lines[2]}" = "/data/other 999:999" ]
	[ "${lines[3]}" = "999:999" ]
	run host_owners
	[ "$output" = "$(printf '%s\n' ". 100999:100999" "./other 100999:100999" "./sub 100999:100999" \
		"./sub/a 100999:100999" "./sub/deep 100999:100999" "./sub/deep/b 100999:100999" \
		"./sub/new 100999:100999")" ]
	[ "$(stat -c %a "$DATA/other")" = 640 ]
	[ "$(cat "$DATA/other")" = c ]
	grep -q "/data: chown $DATA (.*mode chown): 6 of 6 entries given to on-disk 100999:100999 by $(nproc) walkers (one per CPU on a local filesystem)" "$HOOK_LOG"
}

@test "crun: chown gives the tree to user 1000 of a user namespace" {
	run_crun "$(chown_bundle c chown 1000 1000)"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "/data 1000:1000" ]
	[ "${lines[2]}" = "/data/other 1000:1000" ]
	[ "$(host_owner "$DATA/sub/deep/b")" = 101000:101000 ]
	[ "$(host_owner "$DATA/sub/new")" = 101000:101000 ]
}

@test "a re-run on a tree that is already right changes nothing and keeps no journal" {
	run_runc "$(chown_bundle c chown)"
	[ "$status" -eq 0 ]
	rm -rf "${JOURNALS:?}"/* "$DATA/sub/new"
	ctime_before=$(stat -c %Z "$DATA/sub/deep/b")
	sleep 1.1
	run_runc "$(chown_bundle d chown)"
	[ "$status" -eq 0 ]
	grep -q "/data: chown $DATA (.*): 0 of 6 entries given" "$HOOK_LOG"
	[ "$(stat -c %Z "$DATA/sub/deep/b")" = "$ctime_before" ]
	[ -z "$(ls -A "$JOURNALS")" ]
}

@test "a symlink to a file outside is changed itself; its target is not" {
	ln -s "$OUTSIDE/file" "$DATA/link"
	ln -s "$OUTSIDE" "$DATA/dirlink"
	chown -h 1000:1000 "$DATA/link" "$DATA/dirlink"
	run_runc "$(chown_bundle c chown)"
	[ "$status" -eq 0 ]
	[ "$(stat -c %u:%g "$OUTSIDE/file")" = 1234:1234 ]
	[ "$(stat -c %u:%g "$OUTSIDE")" = 1234:1234 ]
	[ "$(stat -c %u:%g "$DATA/link")" = 100999:100999 ]
	[ "$(stat -c %u:%g "$DATA/dirlink")" = 100999:100999 ]
}

@test "a hard link to a file outside is left as it is and reported" {
	ln "$OUTSIDE/file" "$DATA/hardlink"
	run_runc "$(chown_bundle c chown)"
	[ "$status" -eq 0 ]
	[ "$(stat -c %u:%g "$OUTSIDE/file")" = 1234:1234 ]
	grep -q "/data: chown $DATA: 1 hard-linked files left as they are (--chown-hard-links to change them) (hardlink)" "$HOOK_LOG"
	[ "$(host_owner "$DATA/sub/a")" = 100999:100999 ]
}

@test "setuid/setgid bits and file capabilities survive the chown" {
	cp /bin/busybox "$DATA/suid"
	cp /bin/busybox "$DATA/caps"
	chown 1000:1000 "$DATA/suid" "$DATA/caps"
	chmod 6755 "$DATA/suid"
	setcap cap_net_raw+ep "$DATA/caps"
	before=$(getcap "$DATA/caps")
	run_runc "$(chown_bundle c chown)"
	[ "$status" -eq 0 ]
	[ "$(stat -c '%u:%g %a' "$DATA/suid")" = "100999:100999 6755" ]
	[ "$(host_owner "$DATA/caps")" = 100999:100999 ]
	[ -n "$before" ]
	[ "$(getcap "$DATA/caps")" = "$before" ]
}

@test "files of host root are left as they are and counted" {
	echo r >"$DATA/rootfile"
	chown 0:0 "$DATA/rootfile"
	run_runc "$(chown_bundle c chown)"
	[ "$status" -eq 0 ]
	[ "$(host_owner "$DATA/rootfile")" = 0:0 ]
	grep -q "/data: chown $DATA: 1 owned by host root left as they are (--allow-host-root to give them away)" "$HOOK_LOG"
}

@test "a mount below the source is not entered, and is named" {
	mkdir "$DATA/mnt"
	mount -t tmpfs tmpfs "$DATA/mnt"
	echo x >"$DATA/mnt/f"
	chown 1234:1234 "$DATA/mnt/f" "$DATA/mnt"
	run_runc "$(chown_bundle c chown)"
	[ "$status" -eq 0 ]
	[ "$(stat -c %u:%g "$DATA/mnt/f")" = 1234:1234 ]
	[ "$(stat -c %u:%g "$DATA/mnt")" = 1234:1234 ]
	grep -q "/data: chown $DATA: 1 mounts below the source not entered (mnt)" "$HOOK_LOG"
}

@test "a read-only source is refused with one clear line and nothing changes" {
	before=$(listing "$DATA")
	b=$(chown_bundle c chown)
	update_config "$b" '(.mounts[] | select(.destination == "/data") | .options) = ["rbind", "ro"]'
	run_runc "$b"
	[ "$status" -ne 0 ]
	[[ "$output" == *"oci-idmap-hook: /data: '$DATA': Read-only file system; the mount is read-only, nothing was changed; mount it read-write or use mode idmap"* ]]
	[ "$(listing "$DATA")" = "$before" ]
	[ -z "$(ls -A "$JOURNALS")" ]
}

# make_tree DIR DIRS FILES: DIRS directories of FILES files each, owned by
# 1000:1000, plus a setuid file and a file with capabilities in each.
make_tree() {
	local i
	mkdir -p "$1"
	for i in $(seq 1 "$2"); do
		mkdir "$1/d$i"
		(cd "$1/d$i" && seq 1 "$3" | xargs touch)
		echo x >"$1/d$i/suid"
		chmod 4755 "$1/d$i/suid"
	done
	chown -R 1000:1000 "$1"
	for i in $(seq 1 "$2"); do
		chmod 4755 "$1/d$i/suid"
		echo x >"$1/d$i/caps"
		chown 1000:1000 "$1/d$i/caps"
		setcap cap_net_raw+ep "$1/d$i/caps"
	done
}

@test "restore --journal puts back every owner, mode bit and capability, and is idempotent" {
	cp /bin/busybox "$DATA/caps"
	chown 1000:1000 "$DATA/caps"
	setcap cap_net_raw+ep "$DATA/caps"
	cp /bin/busybox "$DATA/suid"
	chown 1234:1000 "$DATA/suid"
	chmod 2755 "$DATA/suid"
	ln -s other "$DATA/rel"
	chown -h 1234:1234 "$DATA/rel"
	before=$(listing "$DATA")
	b=$(chown_bundle c chown)
	bundle_args "$b" true
	run_runc "$b"
	[ "$status" -eq 0 ]
	[ "$(listing "$DATA")" != "$before" ]
	journal=$(echo "$JOURNALS"/*@%2Fdata.journal)
	[ -f "$journal" ]
	[ "$(stat -c %a "$JOURNALS")" = 700 ]
	run "$HOOK" restore --journal "$journal"
	[ "$status" -eq 0 ]
	[ "$output" = "$journal: 9 of 9 journaled entries put back, 0 gone since; 0 files created since given back" ]
	[ "$(listing "$DATA")" = "$before" ]
	run "$HOOK" restore --journal "$journal"
	[ "$status" -eq 0 ]
	[ "$output" = "$journal: 0 of 9 journaled entries put back, 0 gone since; 0 files created since given back" ]
	[ "$(listing "$DATA")" = "$before" ]
}

@test "restore --container finds the journals of a container; files it created go back to the source's owner" {
	before=$(listing "$DATA")
	b=$(chown_bundle c chown)
	bundle_args "$b" sh -c 'mkdir /data/made && echo x >/data/made/f && echo y >/data/sub/g'
	run_runc "$b"
	[ "$status" -eq 0 ]
	[ "$(host_owner "$DATA/made/f")" = 100999:100999 ]
	id=$(awk '$1 == "runc" {print $2}' "$CONTAINERS_FILE")
	run "$HOOK" restore --dir "$JOURNALS" --container "$id"
	[ "$status" -eq 0 ]
	[ "$output" = "container $id: 1 journal restored" ]
	[ "$(host_owner "$DATA/made")" = 1000:1000 ]
	[ "$(host_owner "$DATA/made/f")" = 1000:1000 ]
	[ "$(host_owner "$DATA/sub/g")" = 1000:1000 ]
	rm -r "$DATA/made" "$DATA/sub/g"
	[ "$(listing "$DATA")" = "$before" ]
	run "$HOOK" restore --dir "$JOURNALS" --container nosuch
	[ "$status" -eq 1 ]
	[ "$output" = "oci-idmap-hook: no journal of container nosuch in '$JOURNALS'" ]
}

@test "runc: chown+restore gives the tree back at poststop, and what the container created to the source's owner" {
	before=$(listing "$DATA")
	run_runc "$(chown_bundle c chown+restore)"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "/data 999:999" ]
	[ "${lines[3]}" = "999:999" ]
	[ "$(host_owner "$DATA/sub/new")" = 1000:1000 ]
	rm "$DATA/sub/new"
	[ "$(listing "$DATA")" = "$before" ]
	[ -z "$(ls -A "$JOURNALS")" ]
}

@test "crun: chown+restore gives the tree back at poststop" {
	before=$(listing "$DATA")
	run_crun "$(chown_bundle c chown+restore)"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "/data 999:999" ]
	rm "$DATA/sub/new"
	[ "$(listing "$DATA")" = "$before" ]
	[ -z "$(ls -A "$JOURNALS")" ]
}

# kill_mid_walk BUNDLE: run BUNDLE with runc, the prestart hook wrapped so
# that its pid is known; SIGKILL it once its journal holds a few batches.
kill_mid_walk() {
	local b=$1 wrapper="$BATS_TEST_TMPDIR/hook-wrapper" pidfile="$BATS_TEST_TMPDIR/hook.pid" id i size
	printf '#!/bin/sh\necho $$ >%s\nexec %s "$@"\n' "$pidfile" "$HOOK" >"$wrapper"
	chmod +x "$wrapper"
	update_config "$b" '.hooks.prestart = [{path: $w, args: ["hook", "--chown-threads", "1",
		"--journal-dir", $j, "prestart"]}] | del(.hooks.poststop)' --arg w "$wrapper" --arg j "$JOURNALS"
	id=$(_new_id runc)
	runc --root "$RUNC_ROOT" run --bundle "$b" "$id" >"$BATS_TEST_TMPDIR/runc.out" 2>&1 </dev/null &
	for i in $(seq 1 2000); do
		size=$(stat -c %s "$JOURNALS"/*.journal 2>/dev/null || echo 0)
		[ "$size" -lt 120000 ] || break
		sleep 0.005
	done
	kill -9 "$(cat "$pidfile")"
	wait || true
	runc --root "$RUNC_ROOT" delete -f "$id" >/dev/null 2>&1 || true
}

# Entries of $DATA that the walk gave to 100999 / left as they were.
count_owned() {
	find "$DATA" -user "$1" | wc -l
}

@test "after a SIGKILL in the middle of the walk, restore gives back exactly the tree as it was" {
	make_tree "$DATA/big" 40 1000
	before=$(listing "$DATA")
	kill_mid_walk "$(chown_bundle c chown)"
	# The kill came in the middle: some entries changed, many not.
	[ "$(count_owned 100999)" -gt 0 ]
	[ "$(count_owned 1000)" -gt 1000 ]
	run "$HOOK" restore --journal "$(echo "$JOURNALS"/*.journal)"
	[ "$status" -eq 0 ]
	[ "$(listing "$DATA")" = "$before" ]
}

@test "after a SIGKILL in the middle of the walk, a re-run completes it and restore still gives back the tree" {
	make_tree "$DATA/big" 40 1000
	before=$(listing "$DATA")
	b=$(chown_bundle c chown)
	bundle_args "$b" true
	kill_mid_walk "$b"
	[ "$(count_owned 100999)" -gt 0 ]
	[ "$(count_owned 1000)" -gt 1000 ]
	# Same container id: the re-run appends to the killed run's journal.
	id=$(awk '$1 == "runc" {id = $2} END {print id}' "$CONTAINERS_FILE")
	update_config "$b" '.hooks.prestart[0].path = $h' --arg h "$HOOK"
	run _captured timeout -s KILL 60 runc --root "$RUNC_ROOT" run --bundle "$b" "$id"
	[ "$status" -eq 0 ]
	[ "$(count_owned 1000)" -eq 0 ]
	[ "$(find "$DATA/big" -perm -4000 | wc -l)" -eq 40 ]
	run "$HOOK" restore --journal "$(echo "$JOURNALS"/*.journal)"
	[ "$status" -eq 0 ]
	[ "$(listing "$DATA")" = "$before" ]
}

@test "directories swapped for symlinks and files for hard links to outside during the walk: nothing outside changes" {
	make_tree "$DATA/race" 20 20
	chown 1000:1000 "$DATA/race"
	mkdir -p "$OUTSIDE/deep"
	echo s >"$OUTSIDE/deep/f"
	chown -R 1234:1234 "$OUTSIDE"
	outside_before=$(listing "$OUTSIDE")
	stop="$BATS_TEST_TMPDIR/stop"
	# The attacker: swap each directory for a symlink to $OUTSIDE and back,
	# and a file for a hard link to a file outside, as fast as it can.
	perl -e '
		my ($dir, $target, $stop) = @ARGV;
		until (-e $stop) {
			for my $i (1 .. 20) {
				rename "$dir/d$i", "$dir/.d$i" or die "rename: $!";
				symlink $target, "$dir/d$i" or die "symlink: $!";
				unlink "$dir/d$i";
				rename "$dir/.d$i", "$dir/d$i" or die "rename back: $!";
				# And a file for a hard link to a file outside.
				rename "$dir/d$i/1", "$dir/.f$i" or die "rename file: $!";
				link "$target/file", "$dir/d$i/1" or die "link: $!";
				rename "$dir/.f$i", "$dir/d$i/1" or die "rename file back: $!";
			}
		}' "$DATA/race" "$OUTSIDE" "$stop" &
	attacker=$!
	# Alternate users, so that every run changes every owner.  A number of
	# runs, not a time window: on a loaded machine a window holds too few.
	runs=0
	while [ "$runs" -lt "${RACE_RUNS:-6}" ]; do
		user=$((999 + runs % 2))
		b=$(chown_bundle "r$runs" chown "$user" "$user")
		bundle_args "$b" true
		run_runc "$b"
		[ "$status" -eq 0 ]
		runs=$((runs + 1))
	done
	touch "$stop"
	wait "$attacker" # the attacker raced every run and never failed
	diff <(echo "$outside_before") <(listing "$OUTSIDE")
}

@test "auto idmaps a filesystem that can (no owner changes on disk) and says which only with --verbose" {
	b=$(chown_bundle c auto)
	run_runc "$b"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "/data 999:999" ]
	[ "$(host_owner "$DATA/sub/deep/b")" = 1000:1000 ]
	[ "$(host_owner "$DATA/sub/new")" = 1000:1000 ]
	grep -q "/data: idmapped $DATA (ext4)" "$HOOK_LOG"
	[ -z "$(ls -A "$JOURNALS")" ]
	# Without --verbose, nothing is said.
	: >"$HOOK_LOG"
	update_config "$b" '.hooks |= map_values(map(.args -= ["--verbose"]))'
	rm "$DATA/sub/new"
	run_runc "$b"
	[ "$status" -eq 0 ]
	[ ! -s "$HOOK_LOG" ]
}

@test "auto changes owners on a filesystem without idmapped mounts (FUSE)" {
	local lower="$BATS_TEST_TMPDIR/lower" upper="$BATS_TEST_TMPDIR/upper" work="$BATS_TEST_TMPDIR/work"
	mkdir -p "$lower" "$upper" "$work"
	cp -a "$DATA/." "$lower/"
	fuse-overlayfs -o "lowerdir=$lower,upperdir=$upper,workdir=$work,allow_other" "$DATA"
	chown 1000:1000 "$DATA"
	run_runc "$(chown_bundle c auto)"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "/data 999:999" ]
	[ "${lines[1]}" = "/data/sub/deep/b 999:999" ]
	[ "$(host_owner "$DATA/sub/deep/b")" = 100999:100999 ]
	grep -q "/data: $DATA (fuse.fuse-overlayfs) cannot be idmapped: mode auto changes owners instead" "$HOOK_LOG"
	# A FUSE walk is bound by round trips to the daemon, not by the CPU.
	grep -q "/data: chown $DATA (fuse.fuse-overlayfs, mode auto): .* by 64 walkers (FUSE (and virtiofs): each operation is a round trip to the daemon)" "$HOOK_LOG"
	# --chown-threads still decides when given.
	chown -R 1000:1000 "$DATA"
	: >"$HOOK_LOG"
	b=$(chown_bundle c2 auto)
	update_config "$b" '.hooks.prestart[0].args |= (.[:-1] + ["--chown-threads", "3"] + .[-1:])'
	run_runc "$b"
	[ "$status" -eq 0 ]
	grep -q "/data: chown $DATA (fuse.fuse-overlayfs, mode auto): .* by 3 walkers (as --chown-threads asks)" "$HOOK_LOG"
}

# assert_chown_refused SRC: $DATA is SRC through a filesystem that answers
# root's chown with EPERM: mode chown stops the start with the hook's one
# line, and SRC is as it was.
assert_chown_refused() {
	local before
	before=$(listing "$1")
	run_runc "$(chown_bundle c chown)"
	[ "$status" -ne 0 ]
	[[ "$output" == *"oci-idmap-hook: /data: "*"root may not change owners there (NFS with root_squash?); chown on the server or use mode idmap"* ]]
	[[ "$output" != *"/data 999:999"* ]]
	[ "$(listing "$1")" = "$before" ]
}

# latencyfs (tests/latencyfs): a FUSE passthrough of SRC on MNT that waits
# DELAY_US before each operation, as a network filesystem's round trip does.
mount_latencyfs() {
	make -s -C "$REPO" latencyfs >/dev/null
	"$REPO/build/latencyfs" --delay-us "$3" "${@:4}" "$1" "$2" -o max_threads=64
}

@test "auto changes owners on a filesystem of round trips (latencyfs, 0.2 ms each) with 64 walkers" {
	local src="$BATS_TEST_TMPDIR/remote"
	cp -a "$DATA" "$src"
	mount_latencyfs "$src" "$DATA" 200
	run_runc "$(chown_bundle c auto)"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "/data 999:999" ]
	[ "${lines[1]}" = "/data/sub/deep/b 999:999" ]
	[ "${lines[3]}" = 999:999 ]
	[ "$(stat -c %u:%g "$src/sub/deep/b")" = 100999:100999 ]
	[ "$(stat -c %u:%g "$src/sub/new")" = 100999:100999 ]
	grep -q "/data: $DATA (fuse.latencyfs) cannot be idmapped: mode auto changes owners instead" "$HOOK_LOG"
	grep -q "/data: chown $DATA (fuse.latencyfs, mode auto): 6 of 6 entries given to on-disk 100999:100999 by 64 walkers (FUSE" "$HOOK_LOG"
}

@test "a low open-file limit lowers the default walker count, and the walk succeeds" {
	local src="$BATS_TEST_TMPDIR/remote" b i
	cp -a "$DATA" "$src"
	# 2000 files in 8 directories: far more than 400 open files if each of
	# 64 walkers held its 32 pending changes.
	for i in $(seq 8); do
		mkdir "$src/d$i"
		touch "$src/d$i/f"{1..250}
	done
	chown -R 1000:1000 "$src"
	mount_latencyfs "$src" "$DATA" 200
	b=$(chown_bundle c auto)
	# The hook runs under prlimit: 400 open files, soft and hard.  64 walkers
	# need about 780; (400 - 256) / 12 = 12 fit.
	update_config "$b" '.hooks.prestart[0] |= {path: "/usr/bin/prlimit", args: (["prlimit", "--nofile=400:400", .path] + .args[1:])}'
	run_runc "$b"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "/data 999:999" ]
	grep -q "/data: chown $DATA (fuse.latencyfs, mode auto): 2014 of 2014 entries given to on-disk 100999:100999 by 12 walkers (FUSE (and virtiofs): each operation is a round trip to the daemon; no more for the open-file limit of 400)" "$HOOK_LOG"
	[ "$(find "$src" ! -user 100999 | wc -l)" = 0 ]
}

@test "chown+restore on a filesystem of round trips (latencyfs): the tree is given back at poststop" {
	local src="$BATS_TEST_TMPDIR/remote"
	cp -a "$DATA" "$src"
	before=$(listing "$src")
	mount_latencyfs "$src" "$DATA" 200
	run_runc "$(chown_bundle c chown+restore)"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "/data 999:999" ]
	[ "${lines[3]}" = 999:999 ]
	rm "$src/sub/new"
	[ "$(listing "$src")" = "$before" ]
}

@test "a filesystem of round trips that refuses root's chown (latencyfs --chown-deny) stops the start with one line; nothing changes" {
	local src="$BATS_TEST_TMPDIR/squashed"
	cp -a "$DATA" "$src"
	mount_latencyfs "$src" "$DATA" 200 --chown-deny
	assert_chown_refused "$src"
}

@test "a filesystem that refuses root's chown (as NFS with root_squash does) stops the start with one line; nothing changes" {
	# No NFS in this kernel: bindfs --chown-deny answers chown with EPERM, as a squashing server does.
	local src="$BATS_TEST_TMPDIR/squashed"
	cp -a "$DATA" "$src"
	bindfs --chown-deny -o allow_other,nonempty "$src" "$DATA"
	assert_chown_refused "$src"
}

@test "--help lists the chown modes, their options and the restore command" {
	run "$HOOK" --help
	[ "$status" -eq 0 ]
	[[ "$output" == *"chown+restore  chown, undone at poststop"* ]]
	[[ "$output" == *"--journal-dir DIR"* ]]
	[[ "$output" == *"--chown-hard-links"* ]]
	[[ "$output" == *"oci-idmap-hook restore --journal FILE | --container ID [--dir DIR]"* ]]
}

@test "restore --help and bad usage" {
	run "$HOOK" restore --help
	[ "$status" -eq 0 ]
	[[ "$output" == *"Usage: oci-idmap-hook restore --journal FILE"* ]]
	run "$HOOK" restore
	[ "$status" -eq 2 ]
	[[ "$output" == *"give one of --journal FILE, --container ID or --all"* ]]
	run "$HOOK" restore --journal /nonexistent
	[ "$status" -eq 1 ]
	[ "$output" = "oci-idmap-hook: open '/nonexistent': No such file or directory" ]
}

@test "podman: the installed hooks.d file runs chown+restore at prestart and poststop" {
	local prefix="$BATS_TEST_TMPDIR/prefix" hooks="$BATS_TEST_TMPDIR/hooks.d"
	make -s -C "$REPO" install PREFIX="$prefix" HOOKSDIR="$hooks" HOOKLOG="$HOOK_LOG" >/dev/null
	# Keep the journals in the test's dir, not in /var/lib.
	jq '.hook.args |= (.[:-1] + ["--journal-dir", $j, "--verbose"] + .[-1:])' --arg j "$JOURNALS" \
		"$hooks/oci-idmap-hook.json" >"$hooks/new" && mv "$hooks/new" "$hooks/oci-idmap-hook.json"
	before=$(listing "$DATA")
	run_podman --hooks-dir "$hooks" --uidmap 0:100000:65536 --gidmap 0:100000:65536 --user 999:999 \
		-v "$DATA:/data" --annotation 'oci-idmap-hook/mounts=/data=chown+restore' \
		sh -c 'stat -c %u:%g /data/sub/deep/b; touch /data/made'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 999:999 ]
	[ "$(host_owner "$DATA/made")" = 1000:1000 ]
	rm "$DATA/made"
	[ "$(listing "$DATA")" = "$before" ]
	[ -z "$(ls -A "$JOURNALS")" ]
	grep -q "/data: chown $DATA (ext4, mode chown+restore): 6 of 6 entries given" "$HOOK_LOG"
}

@test "with --chown-hard-links a hard-linked file is changed too" {
	echo h >"$DATA/own"
	chown 1000:1000 "$DATA/own"
	ln "$DATA/own" "$DATA/own2"
	b=$(chown_bundle c chown)
	update_config "$b" '.hooks.prestart[0].args |= (.[:1] + ["--chown-hard-links"] + .[1:])'
	run_runc "$b"
	[ "$status" -eq 0 ]
	[ "$(host_owner "$DATA/own")" = 100999:100999 ]
	! grep -q "hard-linked" "$HOOK_LOG"
}

@test "a full journal filesystem stops the walk, which undoes itself: one clear line, nothing changed" {
	make_tree "$DATA/big" 4 300
	before=$(listing "$DATA")
	mkdir -p "$JOURNALS"
	chmod 0700 "$JOURNALS"
	mount -t tmpfs -o size=8k,mode=0700 tmpfs "$JOURNALS"
	run_runc "$(chown_bundle c chown)"
	[ "$status" -ne 0 ]
	[[ "$output" == *"oci-idmap-hook: /data: $DATA: write the journal '$JOURNALS/"*"': No space left on device; free space there or pass --journal-dir DIR on another filesystem; nothing was left changed: the "*" changes made were undone from the journal"* ]]
	[ "$(listing "$DATA")" = "$before" ]
}

@test "crun: a mount the runtime idmapped is given to the on-disk ids its mapping shows as the user" {
	b=$(chown_bundle c chown)
	# On-disk id N shows as host 100000+N: the container's own mapping, as podman's :idmap.
	update_config "$b" '(.mounts[] | select(.destination == "/data"))
		|= (.uidMappings = [{containerID: 0, hostID: 100000, size: 65536}]
		| .gidMappings = [{containerID: 0, hostID: 100000, size: 65536}] | .options += ["idmap"])'
	run_crun "$b"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "/data 999:999" ]
	[ "${lines[1]}" = "/data/sub/deep/b 999:999" ]
	[ "${lines[3]}" = "999:999" ]
	[ "$(host_owner "$DATA/sub/deep/b")" = 999:999 ]
	[ "$(host_owner "$DATA/sub/new")" = 999:999 ]
}

@test "when a later mount fails, the chown of an earlier one is undone" {
	before=$(listing "$DATA")
	other=$(make_host_dir other 1000:1000 0755)
	b=$(chown_bundle c chown)
	bundle_bind "$b" "$other" /other rbind ro
	bundle_annotation "$b" oci-idmap-hook/mounts "/data=chown /other=chown"
	run_runc "$b"
	[ "$status" -ne 0 ]
	[[ "$output" == *"oci-idmap-hook: /other: '$other': Read-only file system; the mount is read-only, nothing was changed"* ]]
	# /data was changed first, then put back.
	grep -q "/data: chown $DATA (ext4, mode chown): 6 of 6 entries given" "$HOOK_LOG"
	[[ "$output" == *"; the chown of '/data' was undone"* ]]
	[ "$(listing "$DATA")" = "$before" ]
	[ -z "$(ls -A "$JOURNALS")" ]
}

@test "a root container without a user namespace is not given the tree as host root" {
	before=$(listing "$DATA")
	b=$(make_bundle c)
	bundle_bind "$b" "$DATA" /data
	bundle_hook "$b" prestart "$HOOK" --journal-dir "$JOURNALS" prestart
	bundle_annotation "$b" oci-idmap-hook/mounts /data=chown
	run_runc "$b"
	[ "$status" -ne 0 ]
	[[ "$output" == *"oci-idmap-hook: /data: cannot chown '$DATA': chown would give the tree to on-disk id 0:0, host root's; run the container in a user namespace or as another user, or let the administrator pass --allow-host-root"* ]]
	[ "$(listing "$DATA")" = "$before" ]
}

@test "podman :idmap: chown gives the tree to the on-disk ids that the container's own mapping shows as the user" {
	local prefix="$BATS_TEST_TMPDIR/prefix" hooks="$BATS_TEST_TMPDIR/hooks.d"
	make -s -C "$REPO" install PREFIX="$prefix" HOOKSDIR="$hooks" HOOKLOG="$HOOK_LOG" >/dev/null
	jq '.hook.args |= (.[:-1] + ["--journal-dir", $j] + .[-1:])' --arg j "$JOURNALS" \
		"$hooks/oci-idmap-hook.json" >"$hooks/new" && mv "$hooks/new" "$hooks/oci-idmap-hook.json"
	# podman 4.3 writes a bare "idmap" option: crun maps on-disk N to container N.
	run_podman --hooks-dir "$hooks" --uidmap 0:100000:65536 --gidmap 0:100000:65536 --user 999:999 \
		-v "$DATA:/data:idmap" --annotation 'oci-idmap-hook/mounts=/data=chown' \
		sh -c 'stat -c %u:%g /data/sub/deep/b; touch /data/made && stat -c %u:%g /data/made'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 999:999 ]
	[ "${lines[1]}" = 999:999 ]
	[ "$(host_owner "$DATA/sub/deep/b")" = 999:999 ]
	[ "$(host_owner "$DATA/made")" = 999:999 ]
}
