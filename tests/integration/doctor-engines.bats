#!/usr/bin/env bats
# The doctor on what the engines print, checked against what the engines
# then really do: a compose stack shaped like the Immich one of seed 000 (a
# database as 999:0, two services as 1000, one as the image's root, every
# bind volume owned by the host admin 1000) under a private dockerd with
# userns-remap, judged from `docker compose config --format json` and from
# `docker container inspect`; and a podman container with --uidmap, judged
# from `podman container inspect`.
#
# Compose v2 is Debian 13's docker-compose as a CLI plugin of Debian 12's
# docker 20.10 (scripts/install-deps puts it in build/docker-config).
# Docker 20.10 drops compose's annotations: (API 1.43), so the stack is
# brought up with the fix the doctor prints for Docker before 24, the same
# value in environment:, pasted as a second compose file.

load helpers
load docker_helpers

setup_file() {
	private_docker_dir
	# The shim by name only: a service without runtime: runs on plain runc.
	cat >"$D/daemon.json" <<-EOF
		{ "runtimes": { "oci-idmap": { "path": "$RUNTIME" } } }
	EOF
	start_private_dockerd
}

# The stack: each service writes a probe into its volume and prints its
# owner there; every volume is a host dir of the admin, 1000:1000 0755.
make_stack() {
	S="$BATS_TEST_TMPDIR/stack"
	mkdir -p "$S"
	for v in db upload cache ts; do make_host_dir "vol-$v" 1000:1000 0755 >/dev/null; done
	V="$BATS_TEST_TMPDIR"
	probe() { echo "[\"sh\", \"-c\", \"touch $1/probe && stat -c %u:%g $1/probe\"]"; }
	cat >"$S/compose.yml" <<-EOF
		services:
		  database:
		    image: oih-busybox:test
		    user: "999:0"
		    network_mode: none
		    volumes: ["$V/vol-db:/var/lib/postgresql/data"]
		    command: $(probe /var/lib/postgresql/data)
		  server:
		    image: oih-busybox:test
		    user: "1000:1000"
		    network_mode: none
		    volumes: ["$V/vol-upload:/usr/src/app/upload"]
		    command: $(probe /usr/src/app/upload)
		  machine-learning:
		    image: oih-busybox:test
		    user: "1000:1000"
		    network_mode: none
		    volumes: ["$V/vol-cache:/cache"]
		    command: $(probe /cache)
		  ts:
		    image: oih-busybox:test
		    network_mode: none
		    volumes: ["$V/vol-ts:/var/lib/tailscale"]
		    command: $(probe /var/lib/tailscale)
	EOF
	docker image inspect oih-busybox:test >"$S/images.json"
}

# doctor_stack FILES...: the doctor on `docker compose config --format json`
# of the compose FILES (in $S), for dockerd's --userns-remap=default.
doctor_stack() {
	local f=()
	for x in "$@"; do f+=(-f "$S/$x"); done
	docker compose -p oihstack "${f[@]}" config --format json >"$S/config.json"
	run "$HOOK" doctor --compose "$S/config.json" --image-inspect "$S/images.json" --userns-remap default
	_show_run doctor
}

# The verdict the doctor gave SERVICE: the verdict line of its section.
verdict_of() {
	awk -v s="service: $1" '$0 == s { on = 1 } on && /^verdict:/ { print; exit }' <<<"$output"
}

# up FILES...: bring the stack up (each service runs its probe and exits).
up() {
	local f=()
	for x in "$@"; do f+=(-f "$S/$x"); done
	run docker compose -p oihstack "${f[@]}" up --no-color
	_show_run "docker compose up"
}

# exit_of SERVICE: the container's exit code, from docker inspect.
exit_of() {
	docker inspect -f '{{.State.ExitCode}}' "oihstack-$1-1"
}

@test "compose: the doctor predicts, per service, the failure that docker compose up then shows" {
	requires_compose_v2
	make_stack
	doctor_stack compose.yml
	[ "$status" -eq 1 ]
	[[ "$output" == *"engine mapping: from --userns-remap default"* ]]
	[[ "$output" == *"user:    999:0 (from process.user), host 100999:100000"* ]]
	for s in database server machine-learning ts; do
		[ "$(verdict_of $s)" = "verdict: the container will not work as asked (1 problem)" ]
	done
	# ts sets no user: its image's Config.User (empty: root) decides.
	[[ "$output" != *"it sets no user"* ]]
	[[ "$output" == *"  services:"*"    database:"*"      annotations:"*'        oci-idmap-hook/mounts: "/var/lib/postgresql/data"'* ]]
	[[ "$output" == *"stack: 4 services, not all will work as asked"* ]]
	up compose.yml
	for s in database server machine-learning ts; do
		[ "$(exit_of $s)" -ne 0 ]
	done
	[[ "$output" == *"touch: /var/lib/postgresql/data/probe: Permission denied"* ]]
	for v in db upload cache ts; do [ ! -e "$V/vol-$v/probe" ]; done
}

@test "compose: with the environment the doctor prints for Docker before 24, every service works, as it then predicts" {
	requires_compose_v2
	make_stack
	doctor_stack compose.yml
	# The fix as printed, pasted as a second compose file.
	awk '/^fix: with Docker before 24/ { on = 1; next } /^fix:/ { on = 0 } on { print substr($0, 3) }' \
		<<<"$output" >"$S/fix.yml"
	grep -q 'OCI_IDMAP_MOUNTS: "/var/lib/tailscale"' "$S/fix.yml"
	doctor_stack compose.yml fix.yml
	[ "$status" -eq 0 ]
	for s in database server machine-learning ts; do
		[ "$(verdict_of $s)" = "verdict: ok, the container will work as asked" ]
	done
	[[ "$output" == *"stack: 4 services, all will work as asked"* ]]
	up compose.yml fix.yml
	for s in database server machine-learning ts; do
		[ "$(exit_of $s)" -eq 0 ]
	done
	# Each user owns what it wrote; the host sees the admin's 1000.
	[[ "$output" == *"database"*"| 999:0"* ]]
	[[ "$output" == *"server"*"| 1000:1000"* ]]
	[[ "$output" == *"ts"*"| 0:0"* ]]
	for v in db upload cache ts; do [ "$(host_owner "$V/vol-$v/probe")" = 1000:1000 ]; done
}

@test "compose: the annotations: block the doctor prints is valid compose, and the doctor then judges it fixed" {
	requires_compose_v2
	make_stack
	doctor_stack compose.yml
	awk '/^fix: add to the compose file/ { on = 1; next } /^fix:/ { on = 0 } on { print substr($0, 3) }' \
		<<<"$output" >"$S/annotations.yml"
	doctor_stack compose.yml annotations.yml
	[ "$status" -eq 0 ]
	[[ "$output" == *"stack: 4 services, all will work as asked"* ]]
}

@test "docker inspect: the doctor's verdict on each created container matches how it ran" {
	requires_compose_v2
	make_stack
	# The database asks the hook through the shim: it works.  The server
	# asks nothing, and machine-learning asks but runs on plain runc (the
	# daemon's default here): both fail.
	cat >"$S/db-fix.yml" <<-EOF
		services:
		  database:
		    runtime: oci-idmap
		    environment: { OCI_IDMAP_MOUNTS: /var/lib/postgresql/data }
		  machine-learning:
		    environment: { OCI_IDMAP_MOUNTS: /cache }
	EOF
	up compose.yml db-fix.yml
	docker container inspect oihstack-database-1 oihstack-server-1 oihstack-machine-learning-1 >"$S/inspect.json"
	run "$HOOK" doctor --inspect "$S/inspect.json" --userns-remap default
	_show_run doctor
	[ "$status" -eq 1 ]
	[ "$(awk '$0 == "container: oihstack-database-1" { on = 1 } on && /^verdict:/ { print; exit }' <<<"$output")" = \
		"verdict: ok, the container will work as asked" ]
	[ "$(awk '$0 == "container: oihstack-server-1" { on = 1 } on && /^verdict:/ { print; exit }' <<<"$output")" = \
		"verdict: the container will not work as asked (1 problem)" ]
	[[ "$output" == *"fix: oihstack-server-1: docker run --runtime oci-idmap --annotation oci-idmap-hook/mounts=/usr/src/app/upload ... (Docker 24 and later; before: -e OCI_IDMAP_MOUNTS=/usr/src/app/upload)"* ]]
	[ "$(awk '$0 == "container: oihstack-machine-learning-1" { on = 1 } on && /^verdict:/ { print; exit }' <<<"$output")" = \
		"verdict: the container will not work as asked (1 problem)" ]
	[[ "$output" == *"problem: /cache: the container asks the hook for it, but runs on runc, not through the runtime shim: no hook will run"* ]]
	[ "$(exit_of database)" -eq 0 ]
	[ "$(exit_of server)" -ne 0 ]
	[ "$(exit_of machine-learning)" -ne 0 ]
	[ ! -e "$V/vol-cache/probe" ]
	# The same judgement as one JSON document, read from stdin.
	run "$HOOK" doctor --inspect - --json --userns-remap default <"$S/inspect.json"
	[ "$status" -eq 1 ]
	[ "$(jq -r '.engine, .ok, (.containers | length)' <<<"$output" | tr '\n' ' ')" = "docker false 3 " ]
}

@test "podman inspect: a --uidmap container without the annotation is judged failing, with it working, as podman then runs it" {
	PREFIX="$BATS_TEST_TMPDIR/prefix"
	HOOKS_DIR="$BATS_TEST_TMPDIR/hooks.d"
	make -s -C "$REPO" install PREFIX="$PREFIX" HOOKSDIR="$HOOKS_DIR" HOOKLOG="$BATS_TEST_TMPDIR/hook.log" >/dev/null
	PODMAN_ROOTFS="$BATS_TEST_TMPDIR/podman-rootfs"
	make_rootfs "$PODMAN_ROOTFS"
	mkdir -p "$PODMAN_ROOTFS/data"
	for a in none asked; do
		ann=()
		[ $a = none ] || ann=(--annotation oci-idmap-hook/mounts=/data)
		_podman --hooks-dir "$HOOKS_DIR" create --network=none --cgroups=disabled --name "oih-doctor-$a-$$" \
			--uidmap 0:100000:65536 --gidmap 0:100000:65536 --user 999:999 -v "$DATA:/data" "${ann[@]}" \
			--rootfs "$PODMAN_ROOTFS" true >/dev/null
		_podman container inspect "oih-doctor-$a-$$" >"$BATS_TEST_TMPDIR/$a.json"
		_podman rm -f "oih-doctor-$a-$$" >/dev/null
	done
	run "$HOOK" doctor --inspect "$BATS_TEST_TMPDIR/none.json"
	_show_run doctor
	[ "$status" -eq 1 ]
	[[ "$output" == *"mapping: uids 0:100000:65536; gids 0:100000:65536"* ]]
	[[ "$output" == *"user 999 cannot write $DATA"* ]]
	[[ "$output" == *"fix: oih-doctor-none-$$: podman run --annotation oci-idmap-hook/mounts=/data ..."* ]]
	run "$HOOK" doctor --inspect "$BATS_TEST_TMPDIR/asked.json"
	_show_run doctor
	[ "$status" -eq 0 ]
	[[ "$output" == *"after:   999:999, user 999 can rwx"* ]]
	# What podman really does, without and with the annotation the doctor printed.
	run_podman --hooks-dir "$HOOKS_DIR" --uidmap 0:100000:65536 --gidmap 0:100000:65536 --user 999:999 \
		-v "$DATA:/data" sh -c 'touch /data/none'
	[ "$status" -ne 0 ]
	run_podman --hooks-dir "$HOOKS_DIR" --uidmap 0:100000:65536 --gidmap 0:100000:65536 --user 999:999 \
		-v "$DATA:/data" --annotation oci-idmap-hook/mounts=/data sh -c 'touch /data/asked && stat -c %u:%g /data/asked'
	[ "$status" -eq 0 ]
	[ "$output" = 999:999 ]
	[ "$(host_owner "$DATA/asked")" = 1000:1000 ]
}

@test "doctor --compose: a bad field is one line naming the file, the service and the field; exit 2" {
	printf '{"services":{"db":{"volumes":[{"type":"bind","source":7,"target":"/d"}]}}}' >"$BATS_TEST_TMPDIR/c.json"
	run "$HOOK" doctor --compose "$BATS_TEST_TMPDIR/c.json"
	[ "$status" -eq 2 ]
	[ "$output" = "oci-idmap-hook: $BATS_TEST_TMPDIR/c.json: service db: volumes[0]: \"source\" must be a string" ]
	run "$HOOK" doctor --compose "$BATS_TEST_TMPDIR/c.json" --inspect x
	[ "$status" -eq 2 ]
	[[ "$output" == *"give --compose or --inspect, not both"* ]]
}
