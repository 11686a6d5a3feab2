# A private dockerd of the test file's own, for docker.bats and
# doctor-engines.bats: Debian 12's docker 20.10 (not the docker client on
# PATH), userns-remap=default, no networking of its own, vfs storage, and a
# busybox image imported without a registry.  The caller writes
# $D/daemon.json (its runtimes) first; DOCKERD_NO_REMAP=1 starts it without
# userns-remap (containers then run as host ids).

DOCKER_CLI=/usr/bin/docker

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
