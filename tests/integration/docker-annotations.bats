#!/usr/bin/env bats
# How a Docker container asks the hook, per Docker version, through the
# runtime shim with userns-remap: `docker run --annotation` and compose's
# `annotations:` (Docker 24 and later, API 1.43: they reach config.json, so
# no OCI_IDMAP_* variable is needed), the environment (every Docker; the
# only channel before 24) and what each of them does on the other versions.
# The Debian 12 lane runs Docker 20.10 and compose 1.29 (plus compose 2.26 as
# a CLI plugin, from scripts/install-deps), the Debian 13 lane Docker 26 and
# compose 2.26.

load helpers
load docker_helpers

setup_file() {
	private_docker_dir
	# The shim as it comes, and as the README advises where Docker has
	# annotations: the environment not read at all.
	cat >"$D/daemon.json" <<-EOF
		{
		  "runtimes": {
		    "oci-idmap": { "path": "$RUNTIME" },
		    "oci-idmap-noenv": { "path": "$RUNTIME", "runtimeArgs": ["--idmap-environment=off"] }
		  }
		}
	EOF
	start_private_dockerd
}

setup() {
	setup_hook_test
	S="$BATS_TEST_TMPDIR/stack"
	mkdir -p "$S"
}

teardown() {
	[ -f "$S/compose.yml" ] && compose down >/dev/null 2>&1
	teardown_common
}

# compose ARGS...: compose v2 on $S/compose.yml.
compose() {
	docker compose -p oihann -f "$S/compose.yml" "$@"
}

# The probe every container runs: who owns /data, then a file written there.
# compose_file RUNTIME KEY VALUE: a one-service stack through RUNTIME whose
# request is KEY (annotations or environment) VALUE, as user 999 (the
# probe's $ written as compose's $$).
compose_file() {
	cat >"$S/compose.yml" <<-EOF
		services:
		  app:
		    image: oih-busybox:test
		    runtime: $1
		    user: "999:999"
		    network_mode: none
		    $2:
		      $3
		    volumes: ["$DATA:/data"]
		    command: ["sh", "-c", '${PROBE//\$/\$\$}']
	EOF
}

@test "docker run --annotation: Docker 24+ carries it into config.json; the 20.10 client refuses the flag" {
	run_docker run -d --runtime oci-idmap --network=none --user 999:999 \
		--annotation oci-idmap-hook/mounts=/data -v "$DATA:/data" oih-busybox:test sleep 600
	if [ "$(docker_major)" -lt 24 ]; then
		[ "$status" -ne 0 ]
		[[ "$output" == *"unknown flag: --annotation"* ]]
		run_docker ps -aq
		[ -z "$output" ]
		return
	fi
	[ "$status" -eq 0 ]
	id=$output
	b=$(bundle_of "$id")
	# What the shim then saw: the annotation, and the hook it added because of it.
	[ "$(jq -r '.annotations["oci-idmap-hook/mounts"]' "$b/config.json")" = /data ]
	[ "$(jq -r '.hooks.prestart[-1].args[-1]' "$b/config.json")" = prestart ]
	[ "$(jq -r '[.process.env[] | select(startswith("OCI_IDMAP_"))] | length' "$b/config.json")" = 0 ]
	docker rm -f "$id" >/dev/null
}

@test "docker run --annotation, userns-remap, the shim not reading the environment: user 999 owns /data, the host sees 1000" {
	requires_docker 24 "docker run --annotation"
	run_docker run --rm --runtime oci-idmap-noenv --network=none --user 999:999 \
		--annotation oci-idmap-hook/mounts=/data -v "$DATA:/data" oih-busybox:test sh -c "$PROBE"
	assert_probe_served
}

@test "docker run --annotation may ask for chown+restore, which the environment may not: the host dir is the remapped 999's, then given back" {
	requires_docker 24 "docker run --annotation"
	run_docker run -d --runtime oci-idmap --network=none --user 999:999 \
		--annotation 'oci-idmap-hook/mounts=/data=chown+restore' -v "$DATA:/data" oih-busybox:test \
		sh -c "$PROBE; sleep 600"
	[ "$status" -eq 0 ]
	id=$output
	# dockremap's first subordinate id is the container's 0.
	u=$(awk -F: '$1 == "dockremap" { print $2; exit }' /etc/subuid)
	g=$(awk -F: '$1 == "dockremap" { print $2; exit }' /etc/subgid)
	[ "$(host_owner "$DATA")" = "$((u + 999)):$((g + 999))" ]
	run_docker exec "$id" sh -c 'stat -c %u:%g /data /data/new'
	[ "$output" = "999:999
999:999" ]
	docker rm -f "$id" >/dev/null
	# Given back at poststop: the dir and what the container made there.
	[ "$(host_owner "$DATA")" = 1000:1000 ]
	[ "$(host_owner "$DATA/new")" = 1000:1000 ]
}

@test "docker: through the shim with --idmap-environment=off, -e OCI_IDMAP_MOUNTS is not read, on every Docker" {
	run_docker run --rm --runtime oci-idmap-noenv --network=none --user 999:999 -e OCI_IDMAP_MOUNTS=/data \
		-v "$DATA:/data" oih-busybox:test sh -c "$PROBE"
	[ "$status" -eq 1 ]
	[ "${lines[0]}" = "owner 65534:65534" ]
	[[ "${lines[1]}" == *"/data/new: Permission denied"* ]]
	[ ! -e "$DATA/new" ]
}

@test "docker: the environment channel as it comes, on every Docker: idmap is served, chown refused with the hook's line" {
	run_docker run --rm --runtime oci-idmap --network=none --user 999:999 -e OCI_IDMAP_MOUNTS=/data \
		-v "$DATA:/data" oih-busybox:test sh -c "$PROBE"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "owner 999:999" ]
	[ "$(host_owner "$DATA/new")" = 1000:1000 ]
	run_docker run --rm --runtime oci-idmap --network=none --user 999:999 -e OCI_IDMAP_MOUNTS=/data=chown \
		-v "$DATA:/data" oih-busybox:test echo STARTED
	[ "$status" -ne 0 ]
	[[ "$output" != *STARTED* ]]
	[[ "$output" == *"OCI_IDMAP_MOUNTS: /data=chown: refused: the container's environment"* ]]
	[ "$(host_owner "$DATA")" = 1000:1000 ]
}

@test "compose v2 annotations: and runtime: with userns-remap: Docker 24+ serves /data; Docker 20.10 drops annotations:" {
	requires_compose_v2
	compose_file oci-idmap-noenv annotations "oci-idmap-hook/mounts: /data"
	run compose up --no-color
	_show_run "docker compose up"
	if [ "$(docker_major)" -lt 24 ]; then
		# Compose says nothing: the container runs, unserved.
		[[ "$output" == *"owner 65534:65534"* ]]
		[[ "$output" == *"/data/new: Permission denied"* ]]
		[ ! -e "$DATA/new" ]
		return
	fi
	[ "$status" -eq 0 ]
	[[ "$output" == *"owner 999:999"* ]]
	[[ "$output" == *"wrote 999:999"* ]]
	[ "$(docker inspect -f '{{.State.ExitCode}}' oihann-app-1)" = 0 ]
	[ "$(host_owner "$DATA/new")" = 1000:1000 ]
}

@test "docker-compose with runtime: and environment: (1.29 on Debian 12, 2.26 on 13) serves /data on every Docker" {
	command -v docker-compose >/dev/null || skip "no docker-compose"
	compose_file oci-idmap environment "OCI_IDMAP_MOUNTS: /data"
	run env DOCKER_HOST="unix://$D/docker.sock" DOCKER_CONFIG="$REPO/build/docker-config" \
		docker-compose -p oihann -f "$S/compose.yml" up --no-color
	_show_run "docker-compose $(docker-compose version --short 2>/dev/null) up"
	[ "$status" -eq 0 ]
	[[ "$output" == *"owner 999:999"* ]]
	[[ "$output" == *"wrote 999:999"* ]]
	[ "$(host_owner "$DATA/new")" = 1000:1000 ]
}
