#!/usr/bin/env bats
# Kubernetes' own path: a private containerd with its CRI plugin, called as
# the kubelet calls it (tests/cri/cri_client.py: RunPodSandbox with host
# network, CreateContainer with the kubelet's labels and annotations, a
# hostPath mount and runAsUser), with the hook reached only through
# deploy/kubernetes/containerd/: its config.toml's runtime handler (named
# as runtimeclass.yaml's handler) and the base spec write-base-spec makes.
# Only paths are changed: the hook's, the base spec's, the journal's.

load helpers
load containerd_helpers

DEPLOY="$REPO/deploy/kubernetes/containerd"
CRI_PYTHON=${CRI_PYTHON:-/usr/bin/python3}
IMAGE=localhost/oih-busybox:cri

# A missing piece skips on Debian 12, which is not meant to have it all,
# and fails on Debian 13, whose root must have it (scripts/debian13-root).
missing() {
	local version
	# shellcheck disable=SC1091  # the machine's, not ours
	version=$(. /etc/os-release && echo "${VERSION_ID%%.*}")
	if [ "${version:-0}" -ge 13 ]; then
		echo "cri.bats: $1" >&2
		return 1
	fi
	skip "$1"
}

setup_file() {
	[ "$(id -u)" -eq 0 ] || skip "test requires root"
	requires_hook
	C="$BATS_FILE_TMPDIR/containerd"
	CRI_GEN="$BATS_FILE_TMPDIR/cri-gen"
	export C CRI_GEN
	"$CRI_PYTHON" -c 'import grpc, grpc_tools' 2>/dev/null ||
		missing "python3 grpc or grpc_tools is missing (python3-grpcio, python3-grpc-tools)"
	cri gen 2>/dev/null || missing "$(cri gen 2>&1)"
	HANDLER=$(awk '$1 == "handler:" {print $2}' "$REPO/deploy/kubernetes/containerd/runtimeclass.yaml")
	export HANDLER
	mkdir -p "$C/cni/bin" "$C/cni/conf" "$C/journal"
	chmod 0700 "$C/journal"
	HOOK_LOG="$C/hook.log" HOOK_OPTIONS="--verbose --journal-dir $C/journal" HOOK="$HOOK" \
		"$DEPLOY/write-base-spec" "$C/oci-idmap-hook-spec.json" >/dev/null
	write_containerd_config
	start_private_containerd "$C"
	ctr --address "$C/containerd.sock" plugins ls 2>/dev/null | grep -q 'io.containerd.grpc.v1 *cri *.* ok' || {
		tail -20 "$C/containerd.log" >&3
		echo "containerd's CRI plugin did not start" >&2
		return 1
	}
	make_rootfs "$C/rootfs"
	# The sandbox image is this one too: its command is the pod's "pause".
	"$REPO/tests/cri/make-image" "$C/rootfs" "$IMAGE" "$C/image.tar" /bin/sleep 1000000
	ctr --address "$C/containerd.sock" -n k8s.io images import "$C/image.tar" >/dev/null
}

# containerd's own settings, then deploy's config.toml as an administrator
# adds it (one path changed), plus a handler without its annotation
# allow-lists, to show what they do, and one with the shim.
write_containerd_config() {
	{
		cat <<-EOF
			root = "$C/root"
			state = "$C/state"
		EOF
		sed "s|/etc/containerd/oci-idmap-hook-spec.json|$C/oci-idmap-hook-spec.json|" "$DEPLOY/config.toml"
		sed -n "/^\[plugins.*runtimes\.$HANDLER\]/,\$p" "$DEPLOY/config.toml" |
			sed -e "s|runtimes\.$HANDLER\]|runtimes.no-allow-list]|" -e '/_annotations/d' \
				-e "s|/etc/containerd/oci-idmap-hook-spec.json|$C/oci-idmap-hook-spec.json|"
		# README's other way: the shim as the runc binary, with deploy's
		# annotation allow-lists.
		cat <<-EOF
			[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.shim]
			  runtime_type = "io.containerd.runc.v2"
			$(grep '_annotations' "$DEPLOY/config.toml")
			[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.shim.options]
			  BinaryName = "$RUNTIME"
		EOF
		cat <<-EOF
			[grpc]
			  address = "$C/containerd.sock"
			[ttrpc]
			  address = "$C/containerd.sock.ttrpc"
			[plugins."io.containerd.internal.v1.opt"]
			  path = "$C/opt"
			[plugins."io.containerd.grpc.v1.cri"]
			  sandbox_image = "$IMAGE"
			  # No CAP_SYS_RESOURCE on this machine: the sandbox's
			  # oom_score_adj -998 would fail runc's init (EACCES).
			  restrict_oom_score_adj = true
			  # Under a cgroup2 tree without the cpu controller (this
			  # host's cgroups are hybrid, its controllers on v1) runc cannot
			  # set the sandbox's cpu.weight: leave cgroups to the runtime.
			  disable_cgroup = $(cgroup2_without_cpu && echo true || echo false)
			# A node's config.toml has this (containerd config default):
			# without it, naming any runtime drops the default runc one,
			# and the CRI plugin refuses to load.
			[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
			  runtime_type = "io.containerd.runc.v2"
			[plugins."io.containerd.grpc.v1.cri".cni]
			  bin_dir = "$C/cni/bin"
			  conf_dir = "$C/cni/conf"
		EOF
	} >"$C/config.toml"
}

cgroup2_without_cpu() {
	[ "$(stat -f -c %T /sys/fs/cgroup)" = cgroup2fs ] && ! grep -qw cpu /sys/fs/cgroup/cgroup.controllers
}

teardown_file() {
	stop_private_containerd
}

setup() {
	setup_hook_test
	# Containers run as host uids here (no user namespace): let them reach $DATA.
	chmod o+x "$BATS_TEST_TMPDIR/.." 2>/dev/null || true
	PODS=()
}

teardown() {
	local p
	for p in "${PODS[@]}"; do cri remove-pod "$p" >/dev/null 2>&1 || true; done
	teardown_common
}

cri() {
	"$CRI_PYTHON" "$REPO/tests/cri/cri_client.py" --address "$C/containerd.sock" --gen-dir "$CRI_GEN" "$@"
}

# new_pod NAME [run-pod OPTION...]: a pod as the kubelet asks for one with
# runtimeClassName: oci-idmap-hook; sets POD (its id) and POD_CONFIG.
new_pod() {
	local name=$1
	shift
	POD_CONFIG="$BATS_TEST_TMPDIR/$name.pod"
	local uid="uid-$name-$BATS_SUITE_TEST_NUMBER"
	# The kubelet's log directory: NAMESPACE_NAME_UID, one per pod.
	POD=$(cri run-pod --name "$name" --uid "$uid" --namespace oih \
		--log-dir "$C/pods/oih_${name}_$uid" --config-out "$POD_CONFIG" "$@")
	PODS+=("$POD")
}

# run_in_pod NAME UID CMD...: one container of $POD, $DATA at /data; its
# log in $output, its exit status in $status, its id in $CID.
run_in_pod() {
	local name=$1 uid=$2
	shift 2
	run cri run-container "$POD" --pod-config "$POD_CONFIG" --name "$name" --image "$IMAGE" \
		--mount "$DATA:/data" --user "$uid" --group "$uid" --id-out "$BATS_TEST_TMPDIR/cid" -- "$@"
	_show_run "cri container $name"
	CID=$(cat "$BATS_TEST_TMPDIR/cid" 2>/dev/null || true)
}

# The container's command (sh -c "$WRITE" NAME): /data's owner, then NAME
# written there and its owner, as the container sees them.
# shellcheck disable=SC2016  # $0 is the container shell's
WRITE='exec 2>&1; stat -c %u:%g /data; touch /data/$0 && stat -c %u:%g /data/$0'

@test "cri: deploy's handler serves the container named in mounts.NAME: user 999 owns /data, its files land as 1000" {
	new_pod web --handler "$HANDLER" --annotation oci-idmap-hook/mounts.app=/data
	run_in_pod app 999 sh -c "$WRITE" app
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 999:999 ]
	[ "${lines[1]}" = 999:999 ]
	[ "$(host_owner "$DATA/app")" = 1000:1000 ]
	[ "$(host_owner "$DATA")" = 1000:1000 ]
	# pod_annotations passed the request into the container's spec.
	run cri spec "$CID"
	jq -e '.annotations["oci-idmap-hook/mounts.app"] == "/data"
		and .annotations["io.kubernetes.cri.container-name"] == "app"' <<<"$output"
}

@test "cri: its sibling in the same pod is not served: 999 sees 1000's /data and cannot write" {
	new_pod web --handler "$HANDLER" --annotation oci-idmap-hook/mounts.app=/data
	run_in_pod app 999 sh -c "$WRITE" app
	[ "$status" -eq 0 ]
	run_in_pod side 999 sh -c "$WRITE" side
	[ "$status" -ne 0 ]
	[ "${lines[0]}" = 1000:1000 ]
	[[ "${lines[1]}" == *"Permission denied"* ]]
	[ ! -e "$DATA/side" ]
	[ "$(host_owner "$DATA/app")" = 1000:1000 ]
}

@test "cri: the sandbox gets the pod's request too, and is left alone" {
	# Unscoped, the request reaches the sandbox, which has no /data.
	# containerd (1.6 and 1.7) builds the sandbox's spec without the
	# handler's base_runtime_spec: no hook there at all.
	new_pod web --handler "$HANDLER" --annotation oci-idmap-hook/mounts=/data
	run cri pod-spec "$POD"
	_show_run "cri pod-spec"
	[ "$status" -eq 0 ]
	jq -e '.annotations["io.kubernetes.cri.container-type"] == "sandbox"
		and .annotations["oci-idmap-hook/mounts"] == "/data"
		and (.hooks.prestart // [] | map(.path) | index($h)) == null' --arg h "$HOOK" <<<"$output"
	run_in_pod app 999 sh -c "$WRITE" app
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 999:999 ]
	# The shim does run for the sandbox and sees the request there: were
	# the sandbox served, the hook would refuse (no /data) and the pod
	# would not start.
	new_pod web2 --handler shim --annotation oci-idmap-hook/mounts=/data
	run_in_pod app2 999 sh -c "$WRITE" app2
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 999:999 ]
	[ "$(host_owner "$DATA/app2")" = 1000:1000 ]
}

@test "cri: mode chown+restore gives /data to 999 while the container runs, and back to 1000 once the pod is removed" {
	new_pod tool --handler "$HANDLER" --annotation 'oci-idmap-hook/mounts.app=/data=chown+restore'
	echo old >"$DATA/old"
	chown 1000:1000 "$DATA/old"
	run_in_pod app 999 sh -c "$WRITE; stat -c %u:%g /data/old" app
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 999:999 ]
	[ "${lines[1]}" = 999:999 ]
	[ "${lines[2]}" = 999:999 ]
	cri remove-pod "$POD"
	PODS=()
	[ "$(host_owner "$DATA")" = 1000:1000 ]
	[ "$(host_owner "$DATA/old")" = 1000:1000 ]
	[ "$(host_owner "$DATA/app")" = 1000:1000 ]
}

@test "cri: a handler without pod_annotations passes no pod annotation into the container's spec, and nothing is served" {
	new_pod web --handler no-allow-list --annotation oci-idmap-hook/mounts.app=/data
	run_in_pod app 999 sh -c "$WRITE" app
	[ "$status" -ne 0 ]
	[ "${lines[0]}" = 1000:1000 ]
	[ ! -e "$DATA/app" ]
	run cri spec "$CID"
	[ "$status" -eq 0 ]
	jq -e '(.hooks.prestart | map(.path) | index($h)) != null
		and .annotations["io.kubernetes.cri.container-name"] == "app"
		and (.annotations | keys | map(select(startswith("oci-idmap-hook/"))) == [])' \
		--arg h "$HOOK" <<<"$output"
}

@test "cri: the shim as a handler's BinaryName, with the same allow-lists, serves the container too" {
	new_pod web --handler shim --annotation oci-idmap-hook/mounts.app=/data
	run_in_pod app 999 sh -c "$WRITE" app
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 999:999 ]
	[ "${lines[1]}" = 999:999 ]
	[ "$(host_owner "$DATA/app")" = 1000:1000 ]
	# Its spec has no hook: the shim adds it to config.json.
	run cri spec "$CID"
	jq -e '.hooks.prestart // [] | map(.path) | index($h) == null' --arg h "$HOOK" <<<"$output"
}
