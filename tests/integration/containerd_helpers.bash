#!/bin/bash
# A private containerd of the test file's own (containerd.bats, cri.bats,
# installer-image.bats, shim-options.bats): own root, state and socket under
# $C.  ctrd ARGS...: ctr on that socket.

# start_private_containerd [DIR]: C=DIR (default: the file's temp dir's
# containerd/), with DIR/config.toml as the caller wrote it or, when there
# is none, a plain one; start it (log $C/containerd.log, pid
# $C/containerd.pid) and wait until it answers on $C/containerd.sock.
start_private_containerd() {
	export C="${1:-$BATS_FILE_TMPDIR/containerd}"
	mkdir -p "$C"
	[ -f "$C/config.toml" ] || cat >"$C/config.toml" <<-EOF
		version = 2
		root = "$C/root"
		state = "$C/state"
		[grpc]
		  address = "$C/containerd.sock"
		[ttrpc]
		  address = "$C/containerd.sock.ttrpc"
	EOF
	containerd --config "$C/config.toml" >"$C/containerd.log" 2>&1 &
	echo $! >"$C/containerd.pid"
	for _ in $(seq 100); do
		ctrd version >/dev/null 2>&1 && break
		sleep 0.1
	done
	ctrd version >/dev/null || {
		tail -20 "$C/containerd.log" >&3
		return 1
	}
}

# The tasks a failed test left killed (their shims outlive containerd), the
# daemon stopped by its pid, and what it left mounted under $C unmounted.
stop_private_containerd() {
	local pid ns
	[ -n "${C:-}" ] && [ -f "$C/containerd.pid" ] || return 0
	for ns in $(ctrd namespaces ls -q 2>/dev/null); do
		ctrd -n "$ns" tasks ls -q 2>/dev/null | xargs -r -n1 ctr --address "$C/containerd.sock" -n "$ns" \
			tasks kill -s KILL >/dev/null 2>&1
	done
	pid=$(cat "$C/containerd.pid")
	kill "$pid" 2>/dev/null
	for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	umount_below "$C"
	return 0
}

ctrd() {
	ctr --address "$C/containerd.sock" "$@"
}
