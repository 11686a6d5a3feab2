#!/usr/bin/env bats
# shellcheck disable=SC2154  # $status, $output and $lines are set by bats' `run`.
# Mode chown on trees built to hurt a recursive walk: special files, names
# that break lines and terminals, a tree 10,000 levels deep, a million
# entries in one directory.  Each runs the hook in a real runc container and
# checks the tree on the host, inside the container, and that nothing outside
# the source changed.  (The races are in chown.bats and, played at the worst
# instant every time, in tests/unit/test_chown_walk.c.)

load helpers
load chown_helpers

setup() {
	chown_setup
	OUTSIDE_BEFORE=$(listing "$OUTSIDE")
}

teardown() {
	teardown_common
}

# as_user1000 CMD...: run CMD as host user 1000, as a tenant of the volume would.
as_user1000() {
	setpriv --reuid=1000 --regid=1000 --clear-groups "$@"
}

# Entries of $DATA (top included) and how many the user's host id owns.
count_all() { find "$DATA" | wc -l; }
count_owned() { find "$DATA" -user "$1" | wc -l; }

# chown_and_stat PATH...: run the container (mode chown); it stats each PATH,
# which must show as the user's, 999:999.
chown_and_stat() {
	local b p
	b=$(chown_bundle c chown)
	bundle_args "$b" sh -c 'exec 2>&1; stat -c "%u:%g" "$@"' sh "$@"
	run_runc "$b"
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq $# ]
	for p in "${lines[@]}"; do [ "$p" = 999:999 ]; done
}

outside_unchanged() {
	diff <(echo "$OUTSIDE_BEFORE") <(listing "$OUTSIDE")
}

@test "FIFOs and sockets are given to the user and nothing blocks; device nodes are left and named" {
	mkfifo "$DATA/fifo"
	python3 -c 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$DATA/sock"
	mknod "$DATA/null" c 1 3
	mknod "$DATA/loop" b 7 0
	chown -h 1000:1000 "$DATA/fifo" "$DATA/sock" "$DATA/null" "$DATA/loop"
	b=$(chown_bundle c chown)
	bundle_args "$b" sh -c 'exec 2>&1; stat -c "%n %u:%g %F" /data/fifo /data/sock /data/null /data/loop'
	run timeout -s KILL 60 runc --root "$RUNC_ROOT" run --bundle "$b" "$(_new_id runc)"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "/data/fifo 999:999 fifo" ]
	[ "${lines[1]}" = "/data/sock 999:999 socket" ]
	# Device nodes keep the host owner, which the container sees as nobody.
	[ "${lines[2]}" = "/data/null 65534:65534 character special file" ]
	[ "${lines[3]}" = "/data/loop 65534:65534 block special file" ]
	[ "$(host_owner "$DATA/null")" = 1000:1000 ]
	[ "$(host_owner "$DATA/loop")" = 1000:1000 ]
	grep -Eq "/data: chown $DATA: 2 device nodes left as they are \((null, loop|loop, null)\)" "$HOOK_LOG"
	outside_unchanged
}

@test "names with newlines, terminal escapes and invalid UTF-8 are changed, and messages stay one line" {
	local n
	for n in $'new\nline' $'bad\xff\xfeutf8' $'esc\e[31mred' $'tab\there'; do
		echo x >"$DATA/$n"
		chown 1000:1000 "$DATA/$n"
		# A hard link from outside under each name, so that the hook names it.
		ln "$OUTSIDE/file" "$DATA/link-$n"
	done
	run_runc "$(chown_bundle c chown)"
	[ "$status" -eq 0 ]
	[ "$(host_owner "$DATA/"$'new\nline')" = 100999:100999 ]
	[ "$(host_owner "$DATA/"$'bad\xff\xfeutf8')" = 100999:100999 ]
	[ "$(host_owner "$DATA/"$'esc\e[31mred')" = 100999:100999 ]
	grep -q '4 hard-linked files left as they are' "$HOOK_LOG"
	grep -q 'link-new\\x0aline' "$HOOK_LOG"
	# No line of the log is a piece of a name, and no raw escape or bad byte is in it.
	! grep -q '^line' "$HOOK_LOG"
	! grep -q $'\e' "$HOOK_LOG"
	! LC_ALL=C grep -q $'\xff' "$HOOK_LOG"
	outside_unchanged
}

@test "a tree 10,000 levels deep, below more directories than the walk queues, is given away whole" {
	# 300 directories side by side; below the one readdir lists last (walked
	# once the walk's queue is full), a chain of 10,000 more.
	as_user1000 perl -e '
		my ($top) = @ARGV;
		chdir $top or die "$top: $!";
		mkdir "w$_" or die "w$_: $!" for 1 .. 300;
		opendir my $d, "." or die; my @names = grep { !/^\./ } readdir $d; closedir $d;
		chdir $names[-1] or die;
		for (1 .. 10000) { mkdir "d" or die "mkdir: $!"; chdir "d" or die "chdir: $!"; }
		open my $f, ">", "bottom" or die "bottom: $!";' "$DATA"
	total=$(count_all)
	[ "$total" -gt 10300 ]
	chown_and_stat /data /data/w1
	[ "$(count_owned 100999)" -eq "$total" ]
	[ "$(find "$DATA" -name bottom -user 100999 | wc -l)" -eq 1 ]
	outside_unchanged
}

@test "a million entries in one directory are given away, with a journal that restores them" {
	mkdir "$DATA/wide"
	chown 1000:1000 "$DATA/wide"
	as_user1000 perl -e 'chdir $ARGV[0] or die; for (1 .. 1000000) { open my $f, ">", $_ or die "$_: $!" }' "$DATA/wide"
	[ "$(find "$DATA/wide" -maxdepth 1 | wc -l)" -eq 1000001 ]
	chown_and_stat /data/wide/1 /data/wide/1000000
	[ "$(find "$DATA/wide" -user 100999 | wc -l)" -eq 1000001 ]
	run "$HOOK" restore --journal "$(echo "$JOURNALS"/*.journal)"
	[ "$status" -eq 0 ]
	[ "$(find "$DATA/wide" -user 1000 | wc -l)" -eq 1000001 ]
	outside_unchanged
}
