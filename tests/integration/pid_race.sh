#!/bin/bash
# pid_race.sh HOOK BUNDLE DIR SWAP_SRC -- HOOK_ARGS...: run by attack-pid.bats
# as pid 1 of a pid namespace of its own (unshare --pid --fork --mount-proc),
# where nothing else takes pids, so that a pid can be handed on at will.
#
# Starts a fake container init (its own mount namespace, the bundle's
# config.json mounts bound under the rootfs), runs HOOK on a state naming
# it, under gdb, stopped where the hook first reads a mount table
# (mountinfo_read, in the old code as in the new).  There, unless SWAP_SRC
# is "-", the init is killed and reaped and another one, which binds
# SWAP_SRC at /data instead, is started with the same pid: another
# container's init, as a reused pid would name.  Then the hook goes on.
# Prints the hook's stderr line(s), "exit N", and the replacement's pid.
set -eu
hook=$1 bundle=$2 dir=$3 swap_src=$4
shift 5
rootfs=$bundle/rootfs
data_src=$(jq -r '.mounts[] | select(.destination == "/data") | .source' "$bundle/config.json")
cd "$dir"
mkfifo up stopped go

# start_init SRC: a process in a mount namespace of its own, with SRC
# bound at ROOTFS/data, as a runtime leaves a container's init at prestart.
start_init() {
	unshare -m --propagation private sh -c 'mount --bind "$1" "$2/data" && echo up >up && exec sleep 1000' \
		sh "$1" "$rootfs" &
	init=$!
	read -r _ <up
}

start_init "$data_src"
first=$init
printf '{"ociVersion":"1.0.2","id":"attack-pid","status":"created","pid":%d,"bundle":"%s"}' \
	"$first" "$bundle" >state.json

gdb -q -batch -ex 'set debuginfod enabled off' -ex 'break mountinfo_read' \
	-ex "run $* <state.json 2>hook.err" \
	-ex 'shell echo stopped >stopped; read x <go' \
	-ex 'delete' -ex 'continue' -ex 'print $_exitcode' "$hook" >gdb.out 2>&1 &
gdb=$!
read -r _ <stopped
second=-
if [ "$swap_src" != - ]; then
	kill -KILL "$first"
	{ wait "$first"; } 2>/dev/null || true
	# The next fork takes pid $first: nothing else runs in this pid namespace.
	echo $((first - 1)) >/proc/sys/kernel/ns_last_pid
	start_init "$swap_src"
	second=$init
fi
echo go >go
wait "$gdb" || true
cat hook.err
sed -n 's/^\$1 = /exit /p' gdb.out
echo "first $first second $second"
# What the replacement (or the init) sees at its /data, from inside.
nsenter -t "$init" -m stat -c "inside %u:%g" "$rootfs/data"
nsenter -t "$init" -m awk -v d="$rootfs/data" '$5 == d {print "options", $6}' /proc/self/mountinfo
