# A private dockerd of the test file's own, for the docker*.bats files,
# doctor-engines.bats, cdi.bats and shim-options.bats: /usr/bin/docker
# (Debian 12's 20.10, Debian 13's 26; not another docker client on PATH),
# userns-remap=default, no networking of its own, vfs storage, and a busybox
# image imported without a registry.  The caller writes $D/daemon.json (its
# runtimes) first; DOCKERD_NO_REMAP=1 starts it without userns-remap
# (containers then run as host ids).

DOCKER_CLI=/usr/bin/docker

# What the containers of these files run: who owns /data, then a file
# written there.
PROBE='exec 2>&1; echo "owner $(stat -c %u:%g /data)"; touch /data/new && echo "wrote $(stat -c %u:%g /data/new)"'

# assert_probe_served: the probe ran as 999 on $DATA (the host's 1000) and
# the hook served it: 999 owns /data inside, and what it wrote is 1000's.
assert_probe_served() {
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "owner 999:999" ]
	[ "${lines[1]}" = "wrote 999:999" ]
	[ "$(host_owner "$DATA/new")" = 1000:1000 ]
}

# private_docker_dir: root or skip; $D, the daemon's directory, made
# reachable for the remapped users the containers run as.
private_docker_dir() {
	[ "$(id -u)" -eq 0 ] || skip "test requires root"
	D="$BATS_FILE_TMPDIR/docker"
	mkdir -p "$D"
	chmod o+x "$BATS_RUN_TMPDIR" "$BATS_FILE_TMPDIR" "$BATS_FILE_TMPDIR/.." 2>/dev/null || true
}

# What every such file does around its tests (a file that needs more
# defines its own after `load docker_helpers`); setup_file writes
# $D/daemon.json between private_docker_dir and start_private_dockerd.
teardown_file() {
	stop_private_dockerd
}

setup() {
	setup_hook_test
}

teardown() {
	teardown_common
}

# docker ARGS...: the client on the private daemon; compose v2 is its
# plugin (Debian 13's, or Debian 12's from scripts/install-deps in
# build/docker-config).
docker() {
	DOCKER_CONFIG="$REPO/build/docker-config" "$DOCKER_CLI" -H "unix://$D/docker.sock" "$@"
}

# run_docker ARGS...: `run docker ARGS...`, showing what it said if the test fails.
run_docker() {
	run docker "$@"
	_show_run docker
}

requires_compose_v2() {
	docker compose version >/dev/null 2>&1 ||
		skip "no compose v2 (Debian 12: scripts/install-deps puts it in build/docker-config)"
}

start_private_dockerd() {
	local remap=(--userns-remap=default)
	[ -z "${DOCKERD_NO_REMAP:-}" ] || remap=()
	dockerd --config-file "$D/daemon.json" -H "unix://$D/docker.sock" --data-root "$D/root" \
		--exec-root "$D/exec" --pidfile "$D/docker.pid" "${remap[@]}" --iptables=false \
		--ip-forward=false --bridge=none --storage-driver=vfs >"$D/dockerd.log" 2>&1 &
	for _ in $(seq 100); do
		"$DOCKER_CLI" -H "unix://$D/docker.sock" info >/dev/null 2>&1 && break
		sleep 0.2
	done
	"$DOCKER_CLI" -H "unix://$D/docker.sock" info >/dev/null || {
		tail -20 "$D/dockerd.log" >&3
		return 1
	}
	make_rootfs "$D/rootfs"
	tar -C "$D/rootfs" -c . | "$DOCKER_CLI" -H "unix://$D/docker.sock" import - oih-busybox:test >/dev/null
	export D
}

# The private dockerd's major version (20 for Debian 12's, 26 for Debian 13's).
docker_major() {
	"$DOCKER_CLI" -H "unix://$D/docker.sock" version --format '{{.Server.Version}}' | cut -d. -f1
}

# requires_docker N WHY: skip unless the private dockerd is version N or later.
requires_docker() {
	local major
	major=$(docker_major)
	[ "$major" -ge "$1" ] || skip "dockerd $major: $2 needs Docker $1 or later"
}

# bundle_of ID: the bundle containerd made for Docker's container ID, in
# containerd's namespace moby (moby-UID.GID with userns-remap, Docker 23+).
bundle_of() {
	find "$D/exec" -type d -path "*/io.containerd.runtime.v2.task/moby*/$1" -print -quit
}

# Its containers removed, the daemon stopped, and what it left mounted
# (netns, overlays of its own) under $D unmounted.
stop_private_dockerd() {
	[ -n "${D:-}" ] || return 0
	"$DOCKER_CLI" -H "unix://$D/docker.sock" ps -aq 2>/dev/null |
		xargs -r "$DOCKER_CLI" -H "unix://$D/docker.sock" rm -f >/dev/null 2>&1
	if [ -f "$D/docker.pid" ]; then
		pid=$(cat "$D/docker.pid")
		kill "$pid" 2>/dev/null
		for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	fi
	umount_below "$D"
	return 0
}
