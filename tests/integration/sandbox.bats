#!/usr/bin/env bats
# The hook's least privilege: inherited fds closed, a fixed environment,
# no_new_privs, only the capabilities the mount work needs, and a seccomp
# allow list that stops anything else with a clear message.

load helpers

setup() {
	setup_hook_test
}

teardown() {
	teardown_common
}

# SYS_ADMIN(21) SYS_CHROOT(18) SYS_PTRACE(19) SETUID(7) SETGID(6) SETFCAP(31)
# DAC_OVERRIDE(1) DAC_READ_SEARCH(2): what the idmap modes keep; mode chown
# also CHOWN(0) FOWNER(3) FSETID(4), dropped once a request needs no chown.
KEPT_CAPS=00000000802c00df
IDMAP_CAPS=00000000802c00c6
# The same sets by name, as the hook prints them next to the masks.
KEPT_NAMES=cap_chown,cap_dac_override,cap_dac_read_search,cap_fowner,cap_fsetid,cap_setgid,cap_setuid,cap_sys_chroot,cap_sys_ptrace,cap_sys_admin,cap_setfcap
IDMAP_NAMES=cap_dac_override,cap_dac_read_search,cap_setgid,cap_setuid,cap_sys_chroot,cap_sys_ptrace,cap_sys_admin,cap_setfcap
KEPT="$KEPT_CAPS ($KEPT_NAMES)"
IDMAP="$IDMAP_CAPS ($IDMAP_NAMES)"

@test "--check-sandbox: reduced capability sets, no_new_privs, seccomp, no inherited fds, a fixed environment" {
	run env FOO=bar "$HOOK" --check-sandbox 7</dev/null 8>"$BATS_TEST_TMPDIR/x"
	# It ran and showed the sandbox: that is success.
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "CapInh: 0000000000000000 (none), CapPrm: $KEPT, CapEff: $KEPT, CapBnd: $KEPT, CapAmb: 0000000000000000 (none), NoNewPrivs: 1, Seccomp: 2" ]
	[ "${lines[1]}" = "fds: 0 1 2" ]
	[ "${lines[2]}" = "environment: PATH=/usr/sbin:/usr/bin:/sbin:/bin" ]
}

@test "--check-sandbox: a system call the hook never makes (socket) is stopped with one clear line" {
	run "$HOOK" --check-sandbox
	[ "$status" -eq 0 ]
	# 41 is socket(2) on x86_64.
	[ "${lines[3]}" = "seccomp: stopped system call 41 (socket), which the hook never makes" ]
	[ "${#lines[@]}" -eq 4 ]
	[[ "$output" != *"let a forbidden system call"* ]]
}

@test "the hook fixes a real container from inside that sandbox" {
	b=$(make_bundle c)
	bundle_userns "$b" 0:100000:65536
	bundle_user "$b" 999 999
	bundle_bind "$b" "$DATA" /data
	bundle_hook "$b" prestart "$HOOK" --verbose prestart
	bundle_annotation "$b" oci-idmap-hook/mounts /data
	bundle_annotation "$b" run.oci.hooks.stderr "$BATS_TEST_TMPDIR/hook.err"
	bundle_args "$b" stat -c %u:%g /data
	run_crun "$b"
	[ "$status" -eq 0 ]
	[ "$output" = 999:999 ]
	run cat "$BATS_TEST_TMPDIR/hook.err"
	# Asked for idmap only: the chown capabilities are gone before any tree is touched.
	[ "${lines[0]}" = "oci-idmap-hook: sandbox: CapInh: 0000000000000000 (none), CapPrm: $IDMAP, CapEff: $IDMAP, CapBnd: $KEPT, CapAmb: 0000000000000000 (none), NoNewPrivs: 1, Seccomp: 2" ]
	[[ "${lines[1]}" == "oci-idmap-hook: /data: idmapped $DATA ("*"): on-disk owner 1000:1000 shows as container user 999:999"* ]]
}
