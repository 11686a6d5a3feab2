#!/usr/bin/env bats
# shellcheck disable=SC2154  # $status, $output and $lines are set by bats' `run`.
# Whose journals restore believes: a journal says which inodes get which
# owner back, so one planted by another user, or naming inodes outside the
# source, must change nothing.  And restore runs in the hook's sandbox.

load helpers
load chown_helpers

setup() {
	chown_setup
	SHIM="$(dirname "$HOOK")/oci-idmap-runtime"
}

teardown() {
	if [ -f "${D:-/nonexistent}/docker.pid" ]; then
		pid=$(cat "$D/docker.pid")
		kill "$pid"
		for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	fi
	# Journals of our $DATA a failed test left in the hook's default directory.
	grep -l -a -x -F "source $DATA" /var/lib/oci-idmap-hook/journal/*.journal 2>/dev/null | xargs -r rm -f
	teardown_common
}

# real_journal: $REAL, the journal of a real mode chown (which keeps it;
# the tree stays the container's), $ID its container, $PLANT a directory of
# root's (0700) for planted copies, and the listings before.
real_journal() {
	b=$(chown_bundle c chown)
	bundle_args "$b" true
	run_runc "$b"
	[ "$status" -eq 0 ]
	ID=$(awk '$1 == "runc" {print $2}' "$CONTAINERS_FILE")
	REAL=$(echo "$JOURNALS/$ID@%2Fdata.journal")
	[ -f "$REAL" ]
	NAME=$(basename "$REAL")
	PLANT=$(make_host_dir plant 0:0 0700)
	BEFORE=$(listing "$DATA"; listing "$OUTSIDE")
	OUTSIDE_BEFORE=$(listing "$OUTSIDE")
}

# plant KIND: a journal in $PLANT/$NAME as an unprivileged user could leave it.
plant() {
	case "$1" in
	nobody) cp "$REAL" "$PLANT/$NAME" && chown nobody "$PLANT/$NAME" ;;
	0666) cp "$REAL" "$PLANT/$NAME" && chmod 0666 "$PLANT/$NAME" ;;
	dir0777) cp "$REAL" "$PLANT/$NAME" && chmod 0777 "$PLANT" ;;
	symlink) ln -s "$REAL" "$PLANT/$NAME" ;;
	fifo) mkfifo "$PLANT/$NAME" ;;
	esac
}

# The one line each kind is refused with.
refusal() {
	local j="$PLANT/$NAME" hint="restore reads only journals that no one but uid 0 could have written"
	case "$1" in
	nobody) echo "oci-idmap-hook: $j: owned by uid 65534 with mode 0600 and 1 link, so someone else may have written it; $hint (the hook writes them 0600, one link, in its 0700 journal directory)" ;;
	0666) echo "oci-idmap-hook: $j: owned by uid 0 with mode 0666 and 1 link, so someone else may have written it; $hint (the hook writes them 0600, one link, in its 0700 journal directory)" ;;
	dir0777) echo "oci-idmap-hook: ${2:-}journal directory '$PLANT': owned by uid 0 with mode 0777, so others may have put journals in it; $hint: chown 0 '$PLANT' && chmod go-w '$PLANT', after checking what is in it" ;;
	symlink) echo "oci-idmap-hook: $j: not a journal: it is a symbolic link; journals are regular files that the hook writes; remove it" ;;
	fifo) echo "oci-idmap-hook: $j: not a journal: it is a FIFO; journals are regular files that the hook writes; remove it" ;;
	esac
}

assert_unchanged() {
	[ "$(listing "$DATA"; listing "$OUTSIDE")" = "$BEFORE" ]
	[ "$(host_owner "$DATA/sub/a")" = 100999:100999 ]
}

@test "restore --journal refuses a journal owned by nobody, mode 0666, in a 0777 directory, a symlink, a FIFO; nothing changes" {
	real_journal
	for kind in nobody 0666 dir0777 symlink fifo; do
		rm -f "$PLANT/$NAME"
		chmod 0700 "$PLANT"
		plant "$kind"
		run timeout 20 "$HOOK" restore --journal "$PLANT/$NAME"
		echo "$kind: $status: $output"
		[ "$status" -eq 1 ]
		[ "$output" = "$(refusal "$kind" "$PLANT/$NAME: ")" ]
		assert_unchanged
	done
}

@test "restore --dir D --container ID refuses the same journals; nothing changes" {
	real_journal
	for kind in nobody 0666 dir0777 symlink fifo; do
		rm -f "$PLANT/$NAME"
		chmod 0700 "$PLANT"
		plant "$kind"
		run timeout 20 "$HOOK" restore --dir "$PLANT" --container "$ID"
		echo "$kind: $status: $output"
		[ "$status" -eq 1 ]
		[ "$output" = "$(refusal "$kind")" ]
		assert_unchanged
	done
}

@test "the poststop hook refuses the same journals in its journal directory; nothing changes" {
	real_journal
	# A chown+restore journal: the poststop restores only those.
	sed -i 's/^restore-at-poststop no$/restore-at-poststop yes/' "$REAL"
	grep -q '^restore-at-poststop yes$' "$REAL"
	for kind in nobody 0666 dir0777 symlink fifo; do
		rm -f "$PLANT/$NAME"
		chmod 0700 "$PLANT"
		plant "$kind"
		run timeout 20 "$HOOK" --journal-dir "$PLANT" poststop \
			<<<"{\"ociVersion\":\"1.0.2\",\"id\":\"$ID\",\"status\":\"stopped\",\"bundle\":\"$BATS_TEST_TMPDIR\"}"
		echo "$kind: $status: $output"
		[ "$status" -eq 1 ]
		[ "$output" = "$(refusal "$kind"); run: oci-idmap-hook restore --dir '$PLANT' --container $ID" ]
		[ "${#lines[@]}" -eq 1 ]
		assert_unchanged
		[ -e "$PLANT/$NAME" ] || [ -L "$PLANT/$NAME" ]
	done
}

# handle_record PATH UID GID MODE: a journal record naming PATH's inode.
handle_record() {
	python3 - "$@" <<'PY'
import ctypes, os, struct, sys
path, uid, gid, mode = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4], 8)
libc = ctypes.CDLL(None, use_errno=True)
class FH(ctypes.Structure):
    _fields_ = [("bytes", ctypes.c_uint), ("type", ctypes.c_int), ("h", ctypes.c_ubyte * 64)]
fh, mnt = FH(64, 0), ctypes.c_int()
if libc.name_to_handle_at(-100, path.encode(), ctypes.byref(fh), ctypes.byref(mnt), 0) < 0:
    sys.exit("name_to_handle_at %s: %s" % (path, os.strerror(ctypes.get_errno())))
sys.stdout.buffer.write(struct.pack("<BBHiIII", fh.bytes, 0, 0, fh.type, uid, gid, mode) + bytes(fh.h[:fh.bytes]))
PY
}

@test "records whose handles name inodes outside the source's root change nothing there" {
	real_journal
	# The mount is a bind of a subdirectory of its filesystem: by handle,
	# root could open any inode of it.  Setuid root, and a world-writable dir.
	handle_record "$OUTSIDE/file" 0 0 104755 >>"$REAL"
	handle_record "$OUTSIDE" 0 0 40777 >>"$REAL"
	run "$HOOK" restore --journal "$REAL"
	[ "$(stat -c '%u:%g %a' "$OUTSIDE/file" "$OUTSIDE")" = "1234:1234 644
1234:1234 755" ]
	[ "$(listing "$OUTSIDE")" = "$OUTSIDE_BEFORE" ]
	[ "$status" -eq 0 ]
	[ "$output" = "$REAL: 6 of 8 journaled entries put back, 2 gone since; 0 files created since given back" ]
	[ "$(host_owner "$DATA/sub/a")" = 1000:1000 ]
}

@test "restore runs in the hook's sandbox: no_new_privs, seccomp, only the capabilities it needs, and still restores" {
	real_journal
	run "$HOOK" restore --verbose --journal "$REAL"
	[ "$status" -eq 0 ]
	# CHOWN DAC_READ_SEARCH FOWNER FSETID SYS_ADMIN SETFCAP
	[[ "$output" == *"sandbox: "*"CapPrm: 000000008020001d (cap_chown,cap_dac_read_search,cap_fowner,cap_fsetid,cap_sys_admin,cap_setfcap), CapEff: 000000008020001d (cap_chown,cap_dac_read_search,cap_fowner,cap_fsetid,cap_sys_admin,cap_setfcap), CapBnd: "*"NoNewPrivs: 1, Seccomp: 2"* ]]
	[ "${lines[-1]}" = "$REAL: 6 of 6 journaled entries put back, 0 gone since; 0 files created since given back" ]
	[ "$(host_owner "$DATA/sub/a")" = 1000:1000 ]
}

# A bundle that asks for chown+restore of $DATA and carries no hook.
restore_bundle() {
	local b
	b=$(make_bundle "$1")
	bundle_userns "$b" 0:100000:65536
	bundle_user "$b" 999 999
	bundle_bind "$b" "$DATA" /data
	bundle_annotation "$b" oci-idmap-hook/mounts /data=chown+restore
	bundle_args "$b" sh -c 'exec 2>&1; stat -c %u:%g /data /data/sub/a; echo hi >/data/sub/new'
	echo "$b"
}

# The tree is given back once the container is gone: the owners as before,
# the container's new file to the source's owner, no journal left.
assert_given_back() {
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 999:999 ]
	[ "${lines[1]}" = 999:999 ]
	[ "$(host_owner "$DATA/sub/new")" = 1000:1000 ]
	rm "$DATA/sub/new"
	[ "$(listing "$DATA"; listing "$OUTSIDE")" = "$BEFORE" ]
	[ -z "$(grep -l -a -x -F "source $DATA" /var/lib/oci-idmap-hook/journal/*.journal)" ]
}

@test "inject registers poststop too: runc with an injected bundle gives a chown+restore tree back when the container ends" {
	BEFORE=$(listing "$DATA"; listing "$OUTSIDE")
	b=$(restore_bundle c)
	"$HOOK" inject "$b"
	run_runc "$b"
	assert_given_back
	stages=$(jq -c '[.hooks | to_entries[] | {(.key): [.value[].args[-1]]}] | add' "$b/config.json")
	[ "$stages" = '{"prestart":["prestart"],"poststop":["poststop"]}' ]
}

@test "inject mirrors an existing start entry at poststop (same options: the same journal directory), and the tree comes back" {
	BEFORE=$(listing "$DATA"; listing "$OUTSIDE")
	b=$(restore_bundle c)
	bundle_hook "$b" prestart "$HOOK" --journal-dir "$BATS_TEST_TMPDIR/j" prestart
	update_config "$b" '.hooks.prestart[0].timeout = 30'
	"$HOOK" inject "$b"
	[ "$(jq -c '.hooks.poststop' "$b/config.json")" = \
		"[{\"path\":\"$HOOK\",\"args\":[\"$HOOK\",\"--journal-dir\",\"$BATS_TEST_TMPDIR/j\",\"poststop\"],\"timeout\":30}]" ]
	run_runc "$b"
	assert_given_back
	[ -z "$(ls -A "$BATS_TEST_TMPDIR/j")" ]
}

@test "the runtime shim registers poststop too: oci-idmap-runtime run over runc gives a chown+restore tree back" {
	BEFORE=$(listing "$DATA"; listing "$OUTSIDE")
	b=$(restore_bundle c)
	id=$(_new_id runc)
	run timeout -k 5 "$CONTAINER_TIMEOUT" "$SHIM" --root "$RUNC_ROOT" run --bundle "$b" "$id" </dev/null
	_show_run shim
	assert_given_back
}

@test "the runtime shim called as Docker and containerd call it (create, start, delete) gives a chown+restore tree back at delete" {
	BEFORE=$(listing "$DATA"; listing "$OUTSIDE")
	b=$(restore_bundle c)
	id=$(_new_id runc)
	"$SHIM" --root "$RUNC_ROOT" create --bundle "$b" "$id" </dev/null >"$BATS_TEST_TMPDIR/out" 2>&1
	"$SHIM" --root "$RUNC_ROOT" start "$id"
	for _ in $(seq 100); do
		[ "$(runc --root "$RUNC_ROOT" state "$id" | jq -r .status)" = stopped ] && break
		sleep 0.1
	done
	# Stopped, not yet deleted: the tree is still the container's.
	[ "$(host_owner "$DATA/sub/a")" = 100999:100999 ]
	"$SHIM" --root "$RUNC_ROOT" delete "$id"
	run cat "$BATS_TEST_TMPDIR/out"
	status=0
	assert_given_back
}

# A private dockerd with userns-remap whose runtime oci-idmap is the shim
# with the policy $POLICY (Docker 20.10 has no --annotation, and an
# administrator's defaultMounts is a request the environment cannot forge).
start_dockerd() {
	D="$BATS_TEST_TMPDIR/docker"
	mkdir -p "$D"
	printf '{"runtimes": {"oci-idmap": {"path": "%s", "runtimeArgs": ["--idmap-policy=%s"]}}}\n' \
		"$SHIM" "$POLICY" >"$D/daemon.json"
	dockerd --config-file "$D/daemon.json" -H "unix://$D/docker.sock" --data-root "$D/root" \
		--exec-root "$D/exec" --pidfile "$D/docker.pid" --userns-remap=default --iptables=false \
		--ip-forward=false --bridge=none --storage-driver=vfs >"$D/dockerd.log" 2>&1 &
	for _ in $(seq 150); do
		docker_cli info >/dev/null 2>&1 && break
		sleep 0.2
	done
	make_rootfs "$D/rootfs"
	tar -C "$D/rootfs" -c . | docker_cli import - oih-busybox:trust >/dev/null
}

docker_cli() {
	/usr/bin/docker -H "unix://$D/docker.sock" "$@"
}

@test "docker userns-remap through the shim: a chown+restore tree is given back when docker run --rm ends" {
	POLICY="$BATS_TEST_TMPDIR/policy.json"
	echo '{"defaultMounts": "/data=chown+restore"}' >"$POLICY"
	start_dockerd
	BEFORE=$(listing "$DATA"; listing "$OUTSIDE")
	run docker_cli run --rm --runtime oci-idmap --network=none --user 999:999 -v "$DATA:/data" oih-busybox:trust \
		sh -c 'exec 2>&1; stat -c %u:%g /data /data/sub/a; echo hi >/data/sub/new'
	_show_run docker
	assert_given_back
}
