#!/bin/bash
# A private containerd for containerd.bats and cri.bats: the caller writes
# DIR/config.toml (its root, state and socket under DIR).

# start_private_containerd DIR: start it (log DIR/containerd.log, pid
# DIR/containerd.pid) and wait until it answers on DIR/containerd.sock.
start_private_containerd() {
	containerd --config "$1/config.toml" >"$1/containerd.log" 2>&1 &
	echo $! >"$1/containerd.pid"
	for _ in $(seq 100); do
		ctr --address "$1/containerd.sock" version >/dev/null 2>&1 && break
		sleep 0.1
	done
	ctr --address "$1/containerd.sock" version >/dev/null || {
		tail -20 "$1/containerd.log" >&3
		return 1
	}
}
