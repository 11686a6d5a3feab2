#!/usr/bin/env bats
# Docker with userns-remap reaches the hook through the runtime shim
# oci-idmap-runtime. A private dockerd for this file: own socket, data-root,
# exec-root and pidfile, stopped by its pid at the end.

load helpers
load docker_helpers

setup_file() {
	private_docker_dir
	# The shim four ways: with a policy (the tests write it), plain, and with the real runtime named in
	# runtimeArgs (one that exists, one that does not); the plain one is
	# the default runtime, as the README suggests.
	cat >"$D/daemon.json" <<-EOF
		{
		  "default-runtime": "oci-idmap",
		  "runtimes": {
		    "oci-idmap": { "path": "$RUNTIME" },
		    "oci-idmap-runc": { "path": "$RUNTIME",
		                        "runtimeArgs": ["--idmap-runtime=$(command -v runc)"] },
		    "oci-idmap-missing": { "path": "$RUNTIME",
		                           "runtimeArgs": ["--idmap-runtime=/nonexistent/runc"] },
		    "oci-idmap-policy": { "path": "$RUNTIME",
		                          "runtimeArgs": ["--idmap-policy=$D/policy.json"] }
		  }
		}
	EOF
	start_private_dockerd
}

# docker run through the shim, asking for /data by environment (Docker 20.10
# has no --annotation).
run_hooked() {
	run_docker run --rm --runtime oci-idmap --network=none -e OCI_IDMAP_MOUNTS=/data \
		-v "$DATA:/data" "$@"
}

@test "docker userns-remap: without the shim, user 999 sees /data as nobody's and cannot write" {
	run_docker run --rm --runtime runc --network=none --user 999:999 -v "$DATA:/data" oih-busybox:test \
		sh -c 'exec 2>&1; stat -c %u:%g /data; touch /data/new'
	[ "$status" -ne 0 ]
	[ "${lines[0]}" = 65534:65534 ]
	[ ! -e "$DATA/new" ]
}

@test "docker userns-remap: through the shim, user 999 owns /data and writes files the host sees as 1000" {
	run_hooked --user 999:999 oih-busybox:test \
		sh -c 'exec 2>&1; stat -c %u:%g /data; touch /data/new && stat -c %u:%g /data/new'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 999:999 ]
	[ "${lines[1]}" = 999:999 ]
	[ "$(host_owner "$DATA/new")" = 1000:1000 ]
}

@test "docker userns-remap: through the shim, user 1000 owns /data and writes files the host sees as 1000" {
	run_hooked --user 1000:1000 oih-busybox:test sh -c 'exec 2>&1; stat -c %u:%g /data; touch /data/new'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 1000:1000 ]
	[ "$(host_owner "$DATA/new")" = 1000:1000 ]
}

@test "docker: with '*', docker's own /etc/hosts, /etc/resolv.conf and /etc/hostname are left alone" {
	run_docker run --rm --runtime oci-idmap --network=none --user 999:999 -e 'OCI_IDMAP_MOUNTS=*' \
		-v "$DATA:/data" oih-busybox:test stat -c '%n %u:%g' /data /etc/hosts /etc/resolv.conf /etc/hostname
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "/data 999:999" ]
	# Docker gives these files to the remapped root.
	[ "${lines[1]}" = "/etc/hosts 0:0" ]
	[ "${lines[2]}" = "/etc/resolv.conf 0:0" ]
	[ "${lines[3]}" = "/etc/hostname 0:0" ]
}

@test "docker: exec, stop and rm work through the shim" {
	run_docker run -d --runtime oci-idmap --network=none -e OCI_IDMAP_MOUNTS=/data -v "$DATA:/data" \
		--user 999:999 oih-busybox:test sleep 600
	[ "$status" -eq 0 ]
	id=$output
	run_docker exec "$id" sh -c 'exec 2>&1; id -u; touch /data/from-exec'
	[ "$status" -eq 0 ]
	[ "$output" = 999 ]
	[ "$(host_owner "$DATA/from-exec")" = 1000:1000 ]
	run_docker stop -t 1 "$id"
	[ "$status" -eq 0 ]
	run_docker rm "$id"
	[ "$status" -eq 0 ]
	run_docker ps -aq
	[ -z "$output" ]
}

@test "docker: a refused request fails docker run with the hook's one line" {
	chown 0:0 "$DATA"
	run_hooked --user 999:999 oih-busybox:test echo STARTED
	[ "$status" -ne 0 ]
	[[ "$output" != *STARTED* ]]
	[[ "$output" == *"oci-idmap-hook: /data: cannot idmap '$DATA': its top directory is owned by host root (0:0)"* ]]
}

@test "docker: with the shim as default-runtime, a plain docker run that asks is fixed" {
	run_docker run --rm --network=none --user 999:999 -e OCI_IDMAP_MOUNTS=/data -v "$DATA:/data" oih-busybox:test \
		stat -c %u:%g /data
	[ "$status" -eq 0 ]
	[ "$output" = 999:999 ]
	run_docker info --format '{{.DefaultRuntime}}'
	[ "$output" = oci-idmap ]
}

@test "docker: a container that asks for nothing runs unchanged through the default shim" {
	run_docker run --rm --network=none --user 999:999 -v "$DATA:/data" oih-busybox:test \
		stat -c %u:%g /data
	[ "$status" -eq 0 ]
	[ "$output" = 65534:65534 ]
}

@test "docker: runtimeArgs --idmap-runtime=PATH in daemon.json choose the real runtime" {
	run_docker run --rm --runtime oci-idmap-runc --network=none -e OCI_IDMAP_MOUNTS=/data \
		-v "$DATA:/data" --user 999:999 oih-busybox:test stat -c %u:%g /data
	[ "$status" -eq 0 ]
	[ "$output" = 999:999 ]
	run_docker run --rm --runtime oci-idmap-missing --network=none oih-busybox:test echo STARTED
	[ "$status" -ne 0 ]
	[[ "$output" != *STARTED* ]]
	[[ "$output" == *"oci-idmap-runtime: exec the real runtime '/nonexistent/runc': No such file or directory"* ]]
}

@test "docker: the shim with --idmap-policy and defaultMounts '*': the doctor on the container's bundle says /data works, as it does" {
	echo '{"defaultMounts": "*"}' >"$D/policy.json"
	run_docker run -d --runtime oci-idmap-policy --network=none --user 999:999 -v "$DATA:/data" oih-busybox:test sleep 600
	[ "$status" -eq 0 ]
	id=$output
	b=$(bundle_of "$id")
	[ -n "$b" ]
	run "$HOOK" doctor "$b"
	_show_run doctor
	[ "$status" -eq 0 ]
	[[ "$output" == *"engine:  docker (the bundle is a task of Docker's containerd namespace)"* ]]
	[[ "$output" == *"policy:  $D/policy.json (the hook entry's --policy)"* ]]
	[[ "$output" == *"asks:    from defaultMounts of '$D/policy.json' (the container asks for nothing itself)"* ]]
	[[ "$output" == *"after:   999:999, user 999 can rwx"* ]]
	[[ "$output" == *"verdict: ok, the container will work as asked"* ]]
	run_docker exec "$id" sh -c 'exec 2>&1; stat -c %u:%g /data; touch /data/new'
	[ "$status" -eq 0 ]
	[ "$output" = 999:999 ]
	[ "$(host_owner "$DATA/new")" = 1000:1000 ]
	docker rm -f "$id" >/dev/null
}

@test "docker: for a container that asks for nothing the doctor suggests what Docker 20.10 can set, and that works" {
	run_docker run -d --runtime oci-idmap --network=none --user 999:999 -v "$DATA:/data" oih-busybox:test sleep 600
	[ "$status" -eq 0 ]
	id=$output
	b=$(bundle_of "$id")
	[ -n "$b" ]
	run "$HOOK" doctor "$b"
	_show_run doctor
	docker rm -f "$id" >/dev/null
	[ "$status" -eq 1 ]
	[[ "$output" == *"problem: /data: user 999 cannot write $DATA"* ]]
	[[ "$output" == *"fix: ask the hook for it: Docker 24 or later: docker run --annotation oci-idmap-hook/mounts=/data (compose: annotations:); any Docker: docker run -e OCI_IDMAP_MOUNTS=/data (compose: environment:), which the hook's environment level idmap lets ask, and run it through the runtime shim"* ]]
	[[ "$output" == *"ask:     Docker 24 or later: docker run --annotation oci-idmap-hook/mounts=/data"* ]]
	# What it says for any Docker, done: the container gets /data as 999.
	run_docker run --rm --runtime oci-idmap --network=none --user 999:999 -e OCI_IDMAP_MOUNTS=/data \
		-v "$DATA:/data" oih-busybox:test sh -c 'exec 2>&1; stat -c %u:%g /data; touch /data/new'
	[ "$status" -eq 0 ]
	[ "$output" = 999:999 ]
	[ "$(host_owner "$DATA/new")" = 1000:1000 ]
}
