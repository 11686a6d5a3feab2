#!/usr/bin/env bats
# The image as an attacker, through its environment: config.json cannot tell
# an image's ENV from `docker run -e`, so by default a request that comes
# only from the environment may not change owners on the host nor pick the
# target user. The administrator opts in with the policy's "environment",
# the hook's --environment or the shim's --idmap-environment. And a FIFO at
# the --log or policy path, or a policy file someone else may change, is
# refused at once instead of hanging or obeying every container start.

load helpers
load chown_helpers

# The shim of the build under test (the old one with HOOK_UNDER_TEST).
SHIM="$(dirname "$HOOK")/oci-idmap-runtime"

# What the hook says when the environment asks for a mode that may chown
# (runc shows it with its quotes escaped; the log has it as it is).
ENV_CHOWN_REFUSED="refused: the container's environment, which its image sets as much as docker run -e does, cannot ask for a mode that may change owners on the host; ask with the annotation oci-idmap-hook/mounts, or let the environment ask:"
ENV_OPT_IN='"environment": "full" in the policy file, or the hook'"'"'s --environment full (oci-idmap-runtime --idmap-environment full)'

# log_has LINE: the hook's log has LINE, whole, after its time stamp.
log_has() {
	grep -qxF -- "$LINE" <(sed 's/^[^ ]* oci-idmap-hook\[[0-9]*\]\( container [^ :]*\)\{0,1\}: //' "$HOOK_LOG")
}

setup() {
	chown_setup
	POLICY_DIR="$BATS_TEST_TMPDIR/policy.d"
	mkdir -m 0755 "$POLICY_DIR"
	POLICY="$POLICY_DIR/policy.json"
}

teardown() {
	# The old hook blocks in open() on a FIFO: one open for both ends lets it go.
	for f in "$BATS_TEST_TMPDIR"/*.fifo "$POLICY_DIR"/*.fifo; do
		[ -p "$f" ] && timeout 5 sh -c 'exec 3<>"$1"' sh "$f"
	done
	stop_dockerd
	teardown_common
}

# Debian's client that matches the daemon.
DOCKER_CLI=/usr/bin/docker

docker() {
	"$DOCKER_CLI" -H "unix://$D/docker.sock" "$@"
}

# A private dockerd with userns-remap, as in docker.bats, with the shim
# twice: as it comes, and trusting the environment. Its image sets the
# request in its ENV, as an image from a registry could.
start_dockerd() {
	D="$BATS_TEST_TMPDIR/docker"
	mkdir -p "$D"
	# The remapped root must reach the volume and the image's layers.
	chmod o+x "$BATS_RUN_TMPDIR" "$BATS_RUN_TMPDIR/test" "$BATS_TEST_TMPDIR"
	cat >"$D/daemon.json" <<-EOF
		{ "runtimes": {
		    "oci-idmap": { "path": "$SHIM" },
		    "oci-idmap-env": { "path": "$SHIM", "runtimeArgs": ["--idmap-environment=full"] } } }
	EOF
	dockerd --config-file "$D/daemon.json" -H "unix://$D/docker.sock" --data-root "$D/root" \
		--exec-root "$D/exec" --pidfile "$D/docker.pid" --userns-remap=default --iptables=false \
		--ip-forward=false --bridge=none --storage-driver=vfs >"$D/dockerd.log" 2>&1 &
	for _ in $(seq 100); do
		docker info >/dev/null 2>&1 && break
		sleep 0.2
	done
	docker info >/dev/null || {
		tail -20 "$D/dockerd.log"
		return 1
	}
	make_rootfs "$D/rootfs"
	tar -C "$D/rootfs" -c . |
		docker import --change 'ENV OCI_IDMAP_MOUNTS="*=chown" OCI_IDMAP_USER=1234' - oih-env:test >/dev/null
}

stop_dockerd() {
	local pid
	[ -f "${D:-}/docker.pid" ] || return 0
	docker ps -aq 2>/dev/null | xargs -r "$DOCKER_CLI" -H "unix://$D/docker.sock" rm -f >/dev/null 2>&1
	pid=$(cat "$D/docker.pid")
	kill "$pid" 2>/dev/null
	for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	umount_below "$D"
}

# env_bundle NAME MOUNTS [HOOK ARG...]: the chown bundle (999:999 in
# 0:100000:65536, $DATA at /data, our log and journals), asking only by the
# image's environment: OCI_IDMAP_MOUNTS=MOUNTS and OCI_IDMAP_USER=1234.
env_bundle() {
	local b name=$1 mounts=$2
	shift 2
	b=$(chown_bundle "$name" chown)
	_jq_list "$@"
	update_config "$b" 'del(.annotations["oci-idmap-hook/mounts"])
		| .hooks.prestart[0].args |= (.[:-1] + '"$JQ_LIST"' + .[-1:])
		| .hooks.poststop[0].args |= (.[:-1] + '"$JQ_LIST"' + .[-1:])' "${JQ_LIST_ARGS[@]}"
	bundle_env "$b" "OCI_IDMAP_MOUNTS=$mounts"
	bundle_env "$b" OCI_IDMAP_USER=1234
	bundle_args "$b" sh -c 'exec 2>&1; stat -c "%n %u:%g" /data /data/sub/deep/b /data/other'
	echo "$b"
}

snapshot() {
	listing "$DATA"
	listing "$OUTSIDE"
}

@test "an image's OCI_IDMAP_MOUNTS with chown, auto or chown+restore changes no owner on the host: refused with one line" {
	before=$(snapshot)
	for mode in chown auto chown+restore; do
		run_runc "$(env_bundle "c-$mode" "*=$mode")"
		[ "$status" -ne 0 ]
		[[ "$output" != *"/data 1234"* ]]
		[[ "$output" == *"oci-idmap-hook: OCI_IDMAP_MOUNTS: *=$mode: $ENV_CHOWN_REFUSED"* ]]
		LINE="OCI_IDMAP_MOUNTS: *=$mode: $ENV_CHOWN_REFUSED $ENV_OPT_IN" log_has
		[ "$(snapshot)" = "$before" ]
	done
	[ -z "$(ls -A "$JOURNALS" 2>/dev/null)" ]
}

@test "an image's OCI_IDMAP_USER cannot pick the target user against process.user; process.user itself is fine" {
	before=$(snapshot)
	run_crun "$(env_bundle c /data)"
	[ "$status" -ne 0 ]
	LINE="OCI_IDMAP_USER=1234 names 1234:1234, not process.user 999:999: refused: the container's environment, which its image sets as much as docker run -e does, cannot pick the target user; run the container as that user, set the annotation oci-idmap-hook/user, or let the environment ask: $ENV_OPT_IN" log_has
	[ "$(snapshot)" = "$before" ]
	# LinuxServer style: OCI_IDMAP_USER=env takes PUID, the image's too.
	b=$(env_bundle c2 /data)
	bundle_env "$b" OCI_IDMAP_USER=env
	bundle_env "$b" PUID=1234
	run_crun "$b"
	[ "$status" -ne 0 ]
	grep -qF "OCI_IDMAP_USER=env names 1234:1234, not process.user 999:999: refused" "$HOOK_LOG"
	# The environment's idmap request with the user the engine runs it as.
	b=$(env_bundle c3 /data)
	bundle_env "$b" OCI_IDMAP_USER=999
	run_crun "$b"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "/data 999:999" ]
	[ "${lines[1]}" = "/data/sub/deep/b 999:999" ]
	[ "$(snapshot)" = "$before" ]
}

@test "policy \"environment\": \"full\" lets the environment chown, to OCI_IDMAP_USER, as before" {
	echo '{"environment": "full"}' >"$POLICY"
	outside=$(listing "$OUTSIDE")
	run_runc "$(env_bundle c '*=chown' --policy "$POLICY")"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "/data 1234:1234" ]
	[ "$(host_owner "$DATA")" = 101234:101234 ]
	[ "$(host_owner "$DATA/sub/deep/b")" = 101234:101234 ]
	[ "$(listing "$OUTSIDE")" = "$outside" ]
}

@test "policy \"environment\": \"off\" reads no environment; an unknown level is refused" {
	echo '{"environment": "off"}' >"$POLICY"
	before=$(snapshot)
	run_runc "$(env_bundle c '*=chown' --policy "$POLICY")"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "/data 65534:65534" ]
	[ "$(snapshot)" = "$before" ]
	echo '{"environment": "yes"}' >"$POLICY"
	run_runc "$(env_bundle c2 /data --policy "$POLICY")"
	[ "$status" -ne 0 ]
	LINE="$POLICY: \"environment\" must be one of off, idmap, full, not \"yes\"" log_has
	[ "$(snapshot)" = "$before" ]
}

@test "the hook's --environment full opts in too; an annotation still may chown without it" {
	outside=$(listing "$OUTSIDE")
	run_runc "$(env_bundle c '*=chown' --environment full)"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "/data 1234:1234" ]
	[ "$(host_owner "$DATA/sub/deep/b")" = 101234:101234 ]
	[ "$(listing "$OUTSIDE")" = "$outside" ]
	run_runc "$(chown_bundle c2 chown)"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "/data 999:999" ]
	[ "$(host_owner "$DATA/sub/deep/b")" = 100999:100999 ]
	[ "$(listing "$OUTSIDE")" = "$outside" ]
}

# The shim, as dockerd calls it, with the real runtime runc.
run_shim() {
	local id
	id=$(_new_id runc)
	run _captured timeout -s KILL "$CONTAINER_TIMEOUT" \
		"$SHIM" --idmap-runtime "$(command -v runc)" "$@" --root "$RUNC_ROOT" run --bundle "$b" "$id"
	_show_run oci-idmap-runtime
	runc --root "$RUNC_ROOT" delete -f "$id" >/dev/null 2>&1 || true
}

# A bundle as Docker 20.10 gives the shim: no hook, the request in the env.
shim_bundle() {
	b=$(env_bundle "$1" '*=chown')
	update_config "$b" 'del(.hooks)'
}

@test "oci-idmap-runtime: by default the environment's chown is refused; --idmap-environment full passes the opt-in to the hook" {
	before=$(snapshot)
	outside=$(listing "$OUTSIDE")
	shim_bundle c
	run_shim
	[ "$status" -ne 0 ]
	[[ "$output" == *"oci-idmap-hook: OCI_IDMAP_MOUNTS: *=chown: $ENV_CHOWN_REFUSED"* ]]
	[ "$(snapshot)" = "$before" ]
	shim_bundle c2
	run_shim --idmap-environment sometimes
	[ "$status" -ne 0 ]
	[[ "$output" == *"oci-idmap-runtime: --idmap-environment expects off, idmap or full, not 'sometimes'"* ]]
	[ "$(snapshot)" = "$before" ]
	shim_bundle c3
	run_shim --idmap-environment=full
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "/data 1234:1234" ]
	[ "$(jq -c '.hooks.prestart[0].args[1:]' "$b/config.json")" = '["--environment","full","prestart"]' ]
	[ "$(host_owner "$DATA/sub/deep/b")" = 101234:101234 ]
	[ "$(listing "$OUTSIDE")" = "$outside" ]
}

@test "inject --environment full registers the opt-in for plain runc; a bad level is refused" {
	outside=$(listing "$OUTSIDE")
	shim_bundle c
	run "$HOOK" inject --environment sometimes "$b"
	[ "$status" -eq 2 ]
	[[ "$output" == *"oci-idmap-hook inject: --environment expects off, idmap or full, not 'sometimes'"* ]]
	run "$HOOK" inject --environment full "$b"
	[ "$status" -eq 0 ]
	[ "$(jq -c '.hooks.prestart[0].args[1:]' "$b/config.json")" = '["--environment","full","prestart"]' ]
	run_runc "$b"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "/data 1234:1234" ]
	[ "$(host_owner "$DATA/sub/deep/b")" = 101234:101234 ]
	[ "$(listing "$OUTSIDE")" = "$outside" ]
}

@test "podman: an env-only '*=chown' with a hook that always runs changes no owner on the host" {
	mkdir -p "$BATS_TEST_TMPDIR/hooks.d"
	jq -n --arg p "$HOOK" --arg log "$HOOK_LOG" --arg j "$JOURNALS" '{version: "1.0.0",
		hook: {path: $p, args: ["oci-idmap-hook", "--log", $log, "--journal-dir", $j, "prestart"]},
		when: {always: true}, stages: ["prestart"]}' >"$BATS_TEST_TMPDIR/hooks.d/oci-idmap-hook.json"
	before=$(snapshot)
	run_podman --hooks-dir "$BATS_TEST_TMPDIR/hooks.d" --uidmap 0:100000:65536 --gidmap 0:100000:65536 \
		--user 999:999 -e 'OCI_IDMAP_MOUNTS=*=chown' -e OCI_IDMAP_USER=1234 -v "$DATA:/data" \
		stat -c %u:%g /data
	[ "$status" -ne 0 ]
	[[ "$output" != 1234:1234 ]]
	LINE="OCI_IDMAP_MOUNTS: *=chown: $ENV_CHOWN_REFUSED $ENV_OPT_IN" log_has
	[ "$(snapshot)" = "$before" ]
	[ -z "$(ls -A "$JOURNALS" 2>/dev/null)" ]
}

@test "docker 20.10 userns-remap: an image's ENV cannot chown the operator's -v; the shim's --idmap-environment=full lets it" {
	start_dockerd
	before=$(snapshot)
	outside=$(listing "$OUTSIDE")
	run docker run --rm --runtime oci-idmap --network=none --user 999:999 -v "$DATA:/data" oih-env:test \
		stat -c %u:%g /data
	_show_run docker
	[ "$status" -ne 0 ]
	[[ "$output" != *1234:1234* ]]
	[[ "$output" == *"oci-idmap-hook: OCI_IDMAP_MOUNTS: *=chown: $ENV_CHOWN_REFUSED"* ]]
	[ "$(snapshot)" = "$before" ]
	# What the same image may still ask by its ENV: idmap, for --user.
	run docker run --rm --runtime oci-idmap --network=none --user 999:999 -e OCI_IDMAP_MOUNTS=/data \
		-e OCI_IDMAP_USER=999:999 -v "$DATA:/data" oih-env:test stat -c %u:%g /data
	_show_run docker
	[ "$status" -eq 0 ]
	[ "$output" = 999:999 ]
	[ "$(snapshot)" = "$before" ]
	run docker run --rm --runtime oci-idmap-env --network=none --user 999:999 -v "$DATA:/data" oih-env:test \
		stat -c %u:%g /data
	_show_run docker
	[ "$status" -eq 0 ]
	[ "$output" = 1234:1234 ]
	uid=$(awk -F: '$1 == "dockremap" { print $2 + 1234; exit }' /etc/subuid)
	gid=$(awk -F: '$1 == "dockremap" { print $2 + 1234; exit }' /etc/subgid)
	[ "$(host_owner "$DATA/sub/deep/b")" = "$uid:$gid" ]
	[ "$(listing "$OUTSIDE")" = "$outside" ]
}

# annotated_bundle NAME HOOK ARG...: /data asked for by annotation (idmap).
annotated_bundle() {
	local b
	b=$(make_bundle "$1")
	shift
	bundle_userns "$b" 0:100000:65536
	bundle_user "$b" 999 999
	bundle_bind "$b" "$DATA" /data
	bundle_hook "$b" prestart "$HOOK" "$@" prestart
	bundle_annotation "$b" oci-idmap-hook/mounts /data
	bundle_args "$b" stat -c %u:%g /data
	echo "$b"
}

@test "a FIFO at --log fails the container at once with one line; nothing waits for a reader" {
	mkfifo "$BATS_TEST_TMPDIR/hook.fifo"
	before=$(snapshot)
	CONTAINER_TIMEOUT=20 run_runc "$(annotated_bundle c --log "$BATS_TEST_TMPDIR/hook.fifo")"
	[ "$status" -ne 137 ]
	[ "$status" -ne 0 ]
	[[ "$output" == *"oci-idmap-hook: the log file '$BATS_TEST_TMPDIR/hook.fifo' is a FIFO or socket, not a regular file"* ]]
	[ "$(snapshot)" = "$before" ]
}

@test "a --log file planted by another user (who could hold a lease on it, and read the log) is refused with one line" {
	: >"$BATS_TEST_TMPDIR/planted.log"
	chown nobody "$BATS_TEST_TMPDIR/planted.log"
	# nobody takes a read lease: any other open for writing would fail (EWOULDBLOCK) for as long as it likes.
	runuser -u nobody -- python3 -c '
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDONLY)
fcntl.fcntl(fd, 1024, fcntl.F_RDLCK)  # F_SETLEASE
open(sys.argv[2], "w").close()
time.sleep(30)' "$BATS_TEST_TMPDIR/planted.log" "$BATS_TEST_TMPDIR/leased" &
	holder=$!
	while [ ! -e "$BATS_TEST_TMPDIR/leased" ] && kill -0 "$holder" 2>/dev/null; do sleep 0.1; done
	before=$(snapshot)
	CONTAINER_TIMEOUT=20 run_runc "$(annotated_bundle c --log "$BATS_TEST_TMPDIR/planted.log")"
	kill "$holder" 2>/dev/null || true
	[ "$status" -ne 0 ]
	[[ "$output" == *"oci-idmap-hook: the log file '$BATS_TEST_TMPDIR/planted.log' is owned by uid 65534 with 1 links, not the hook's own file; remove it, and keep the log in a directory only root can write"* ]]
	[ ! -s "$BATS_TEST_TMPDIR/planted.log" ]
	[ "$(snapshot)" = "$before" ]
}

@test "a FIFO at the policy path fails the container at once with one line; nothing waits for a writer" {
	mkfifo "$POLICY_DIR/policy.fifo"
	CONTAINER_TIMEOUT=20 run_runc "$(annotated_bundle c --policy "$POLICY_DIR/policy.fifo")"
	[ "$status" -ne 137 ]
	[ "$status" -ne 0 ]
	[[ "$output" == *"oci-idmap-hook: the policy file '$POLICY_DIR/policy.fifo' is not a regular file; put the policy in a regular file owned by root"* ]]
}

@test "a policy file owned by nobody, writable by others, or in a directory others may write is refused" {
	echo '{}' >"$POLICY"
	chmod 0644 "$POLICY"
	run_runc "$(annotated_bundle c --policy "$POLICY")"
	[ "$status" -eq 0 ]
	[ "$output" = 999:999 ]
	chown 65534:65534 "$POLICY"
	run_runc "$(annotated_bundle c2 --policy "$POLICY")"
	[ "$status" -ne 0 ]
	[[ "$output" == *"oci-idmap-hook: the policy file '$POLICY' is owned by uid 65534 with mode 0644: it must be owned by root and not writable by group or others; chown root '$POLICY' && chmod go-w '$POLICY'"* ]]
	chown 0:0 "$POLICY"
	chmod 0666 "$POLICY"
	run_runc "$(annotated_bundle c3 --policy "$POLICY")"
	[ "$status" -ne 0 ]
	[[ "$output" == *"oci-idmap-hook: the policy file '$POLICY' is owned by uid 0 with mode 0666: it must be owned by root"* ]]
	chmod 0644 "$POLICY"
	chmod 0777 "$POLICY_DIR"
	run_runc "$(annotated_bundle c4 --policy "$POLICY")"
	[ "$status" -ne 0 ]
	[[ "$output" == *"oci-idmap-hook: the policy's directory '$POLICY_DIR' is owned by uid 0 with mode 0777: it must be owned by root and not writable by group or others; chown root '$POLICY_DIR' && chmod go-w '$POLICY_DIR'"* ]]
	[ "$(host_owner "$DATA")" = 1000:1000 ]
}
