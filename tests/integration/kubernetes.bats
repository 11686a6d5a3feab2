#!/usr/bin/env bats
# deploy/kubernetes/: the static build, the manifests (validated offline
# against the Kubernetes API schemas), the installer on a scratch directory
# standing in for a node's root, and the hooks.d file it installs used by a
# real podman run that carries the annotations CRI-O would pass.

load helpers

K8S="$REPO/deploy/kubernetes"
INSTALLER="$K8S/installer/install.sh"
STATIC="$REPO/build/oci-idmap-hook-static"

setup_file() {
	make -s -C "$REPO" static >/dev/null
}

setup() {
	setup_common
	NODE="$BATS_TEST_TMPDIR/node"
	mkdir -p "$NODE/etc/containers" "$NODE/opt"
	# What the installer image holds in /opt/oci-idmap-hook.
	SRC="$BATS_TEST_TMPDIR/image"
	mkdir -p "$SRC"
	cp "$STATIC" "$SRC/oci-idmap-hook"
	cp "$REPO/hooks.d/oci-idmap-hook.json.in" "$SRC/"
}

teardown() {
	teardown_common
}

# manifest FILE JS: evaluate JS with `docs`, the YAML documents of FILE.
manifest() {
	NODE_PATH="$REPO/tests/kubernetes/node_modules" node -e '
		const docs = require("js-yaml").loadAll(require("fs").readFileSync(process.argv[1], "utf8"));
		const out = eval(process.argv[2]);
		console.log(typeof out === "string" ? out : JSON.stringify(out));' "$1" "$2"
}

# configmap_env: the DaemonSet's ConfigMap as NAME=VALUE lines.
configmap_env() {
	manifest "$K8S/oci-idmap-hook.yaml" \
		'Object.entries(docs.find(d => d.kind == "ConfigMap").data).map(([k, v]) => k + "=" + v).join("\n")'
}

# install_sh [ACTION] with the node root and image dir of this test.
install_sh() {
	run env HOST_ROOT="$NODE" SOURCE_DIR="$SRC" "$@" sh "$INSTALLER" "${INSTALL_ACTION[@]}"
}

inode() {
	stat -c %i "$1"
}

@test "make static builds a statically linked hook that runs" {
	run file "$STATIC"
	[[ "$output" == *"static"*"linked"* ]]
	run readelf -lW "$STATIC"
	[ "$status" -eq 0 ]
	[[ "$output" != *INTERP* ]]
	run "$STATIC" --version
	[ "$status" -eq 0 ]
	[ "$output" = "$("$HOOK" --version)" ]
}

@test "every manifest validates against the Kubernetes API schemas, strictly" {
	run node "$REPO/tests/kubernetes/validate.js" "$K8S"/*.yaml "$K8S"/*/*.yaml
	echo "$output"
	[ "$status" -eq 0 ]
	local kind
	for kind in "Namespace oci-idmap-hook" "ServiceAccount oci-idmap-hook" "ConfigMap oci-idmap-hook" \
		"DaemonSet oci-idmap-hook" "RuntimeClass oci-idmap-hook" "StatefulSet postgres"; do
		[[ "$output" == *": $kind: valid"* ]]
	done
	run grep -v ': valid$' <<<"$output"
	[ "$status" -eq 1 ]
}

@test "the validator refuses an unknown field, a wrong type and an unknown kind" {
	local bad="$BATS_TEST_TMPDIR/bad.yaml"
	sed -e 's/hostUsers: false/hostUser: false/' -e 's/replicas: 1/replicas: "1"/' \
		"$K8S/examples/postgres-hostpath.yaml" >"$bad"
	printf -- '---\napiVersion: v1\nkind: Pond\nmetadata:\n  name: x\n' >>"$bad"
	run node "$REPO/tests/kubernetes/validate.js" "$bad"
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *'StatefulSet postgres: /spec/template/spec/hostUser: unknown field "hostUser"'* ]]
	[[ "$output" == *"StatefulSet postgres: data/spec/replicas must be integer"* ]]
	[[ "$output" == *'Pond x: no schema for apiVersion "v1" kind "Pond"'* ]]
	[[ "$output" == *"Service postgres: valid"* ]]
}

@test "the CRI-O drop-in and the containerd snippet parse, and name the installer's paths" {
	run python3 -c '
import sys, tomllib
crio = tomllib.load(open(sys.argv[1], "rb"))
ctrd = tomllib.load(open(sys.argv[2], "rb"))
rt = ctrd["plugins"]["io.containerd.grpc.v1.cri"]["containerd"]["runtimes"]["oci-idmap-hook"]
print(" ".join(crio["crio"]["runtime"]["hooks_dir"]))
print(rt["runtime_type"], " ".join(rt["pod_annotations"]))' "$K8S/crio-hooks-dir.conf" "$K8S/containerd/config.toml"
	[ "$status" -eq 0 ]
	local hooks_dirs
	hooks_dirs=$(configmap_env | sed -n 's/^HOOKS_DIRS=//p')
	[ "${lines[0]}" = "/usr/share/containers/oci/hooks.d $hooks_dirs" ]
	[ "${lines[1]}" = "io.containerd.runc.v2 oci-idmap-hook/*" ]
	[ "$(manifest "$K8S/containerd/runtimeclass.yaml" 'docs[0].handler')" = oci-idmap-hook ]
}

@test "installer: installs the binary and the hooks.d file under the node root, then finds them current" {
	INSTALL_ACTION=(install)
	install_sh
	[ "$status" -eq 0 ]
	cmp "$NODE/opt/oci-idmap-hook/bin/oci-idmap-hook" "$STATIC"
	[ "$(stat -c %a "$NODE/opt/oci-idmap-hook/bin/oci-idmap-hook")" = 755 ]
	local json="$NODE/etc/containers/oci/hooks.d/oci-idmap-hook.json"
	[ "$(stat -c %a "$json")" = 644 ]
	run jq -e '.version == "1.0.0"
		and .hook.path == "/opt/oci-idmap-hook/bin/oci-idmap-hook"
		and .hook.args == ["oci-idmap-hook", "--log", "/var/log/oci-idmap-hook.log", "prestart"]
		and .when.annotations == {"^oci-idmap-hook/mounts(\\.[^/]+)?$": ".*"}
		and .stages == ["prestart", "poststop"]' "$json"
	[ "$status" -eq 0 ]

	local bin_inode json_inode
	bin_inode=$(inode "$NODE/opt/oci-idmap-hook/bin/oci-idmap-hook")
	json_inode=$(inode "$json")
	install_sh
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "oci-idmap-hook-install: /opt/oci-idmap-hook/bin/oci-idmap-hook is current" ]
	[ "${lines[1]}" = "oci-idmap-hook-install: /etc/containers/oci/hooks.d/oci-idmap-hook.json is current" ]
	[ "$(inode "$NODE/opt/oci-idmap-hook/bin/oci-idmap-hook")" = "$bin_inode" ]
	[ "$(inode "$json")" = "$json_inode" ]
	INSTALL_ACTION=(check)
	install_sh
	[ "$status" -eq 0 ]
}

@test "installer: an upgrade replaces the binary and the registration by rename, and check sees the change" {
	INSTALL_ACTION=(install)
	install_sh
	[ "$status" -eq 0 ]
	local bin="$NODE/opt/oci-idmap-hook/bin/oci-idmap-hook" old_inode old
	old_inode=$(inode "$bin")
	# A process that has the old binary open keeps it whole.
	exec {old}<"$bin"
	# The new version: another build of the hook, and a new option.
	cp "$HOOK" "$SRC/oci-idmap-hook"
	INSTALL_ACTION=(check)
	install_sh
	[ "$status" -eq 1 ]
	[[ "$output" == *"/opt/oci-idmap-hook/bin/oci-idmap-hook is missing or out of date"* ]]
	INSTALL_ACTION=(install)
	install_sh HOOK_OPTIONS="--allow-host-root --verbose"
	[ "$status" -eq 0 ]
	cmp "$bin" "$HOOK"
	[ "$(inode "$bin")" != "$old_inode" ]
	cmp "/proc/$$/fd/$old" "$STATIC"
	exec {old}<&-
	run jq -c .hook.args "$NODE/etc/containers/oci/hooks.d/oci-idmap-hook.json"
	[ "$output" = '["oci-idmap-hook","--log","/var/log/oci-idmap-hook.log","--allow-host-root","--verbose","prestart"]' ]
	# No temporary file is left beside what was replaced.
	run find "$NODE" -name '.oci-idmap-hook*'
	[ -z "$output" ]
}

@test "installer: uninstall removes only its files, and check then wants them gone" {
	INSTALL_ACTION=(install)
	install_sh
	[ "$status" -eq 0 ]
	echo '{}' >"$NODE/etc/containers/oci/hooks.d/other.json"
	INSTALL_ACTION=(uninstall)
	install_sh
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "oci-idmap-hook-install: removed /etc/containers/oci/hooks.d/oci-idmap-hook.json" ]
	[ "${lines[1]}" = "oci-idmap-hook-install: removed /opt/oci-idmap-hook/bin/oci-idmap-hook" ]
	[ -f "$NODE/etc/containers/oci/hooks.d/other.json" ]
	[ ! -e "$NODE/opt/oci-idmap-hook" ]
	[ -d "$NODE/opt" ]
	INSTALL_ACTION=(check)
	install_sh ACTION=uninstall
	[ "$status" -eq 0 ]
	# Uninstalling twice is fine.
	INSTALL_ACTION=()
	install_sh ACTION=uninstall
	[ "$status" -eq 0 ]
	[ -z "$output" ]
}

@test "installer: bad settings are refused before anything is written" {
	INSTALL_ACTION=(install)
	install_sh BIN_DIR=opt/bin
	[ "$status" -eq 1 ]
	[ "$output" = 'oci-idmap-hook-install: BIN_DIR="opt/bin" is not an absolute path' ]
	install_sh HOOKS_DIRS='/etc/containers/../oci'
	[ "$status" -eq 1 ]
	[[ "$output" == *"(no .. or //)" ]]
	install_sh HOOK_LOG='/var/log/a"b'
	[ "$status" -eq 1 ]
	install_sh HOOK_OPTIONS=--log=/tmp/x
	[ "$status" -eq 1 ]
	[[ "$output" == *'unknown option "--log=/tmp/x"; use --allow-host-root or --verbose' ]]
	INSTALL_ACTION=(reinstall)
	install_sh
	[ "$status" -eq 1 ]
	run find "$NODE" -type f
	[ -z "$output" ]
}

# The installed hooks.d file names /opt/oci-idmap-hook/bin/oci-idmap-hook on
# the node: with NODE_AT_OPT set, podman runs in a mount namespace where the
# scratch node's /opt is at /opt (a tmpfs hides the host's; nothing outside
# changes).
_cgroup2() {
	[ -n "${NODE_AT_OPT:-}" ] || { "$REPO/scripts/with-cgroup2" "$@"; return; }
	unshare -m sh -c 'mount --make-rprivate / && mount -t tmpfs -o mode=0755 none /opt &&
		mkdir /opt/oci-idmap-hook && mount --bind "$0" /opt/oci-idmap-hook && exec "$@"' \
		"$NODE/opt/oci-idmap-hook" "$REPO/scripts/with-cgroup2" "$@"
}

@test "podman runs the installed static hook for the example's postgres container, as CRI-O would" {
	requires_idmap
	local env=() line
	while IFS= read -r line; do env+=("$line"); done < <(configmap_env)
	INSTALL_ACTION=()
	install_sh "${env[@]}" HOOK_LOG="$BATS_TEST_TMPDIR/hook.log"
	[ "$status" -eq 0 ]
	NODE_AT_OPT=1

	# What CRI-O puts in the OCI annotations of the example's containers:
	# the pod's annotations, plus the container's name and type.
	local sts="$K8S/examples/postgres-hostpath.yaml" pod=() k dest uid
	while IFS= read -r k; do pod+=(--annotation "$k"); done < <(manifest "$sts" \
		'Object.entries(docs.find(d => d.kind == "StatefulSet").spec.template.metadata.annotations)
			.map(([k, v]) => k + "=" + v).join("\n")')
	dest=$(manifest "$sts" 'docs[1].spec.template.spec.containers[0].volumeMounts[0].mountPath')
	uid=$(manifest "$sts" 'docs[1].spec.template.spec.securityContext.runAsUser')
	[ "$dest" = /var/lib/postgresql/data ]
	local data
	data=$(make_host_dir srv-postgres 1000:1000 0755)
	local crio=(--hooks-dir "$NODE/etc/containers/oci/hooks.d" --uidmap 0:100000:65536 --gidmap 0:100000:65536
		--user "$uid:$uid" -v "$data:$dest" "${pod[@]}")
	local ctr=(--annotation io.kubernetes.cri-o.ContainerType=container)

	run_podman "${crio[@]}" "${ctr[@]}" --annotation io.kubernetes.container.name=postgres \
		sh -c "stat -c %u:%g $dest; mkdir $dest/pgdata && stat -c %u:%g $dest/pgdata"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 999:999 ]
	[ "${lines[1]}" = 999:999 ]
	[ "$(host_owner "$data/pgdata")" = 1000:1000 ]

	# The pod's other container, and its sandbox, are left alone.
	run_podman "${crio[@]}" "${ctr[@]}" --annotation io.kubernetes.container.name=metrics stat -c %u:%g "$dest"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 65534:65534 ]
	run_podman "${crio[@]}" --annotation io.kubernetes.cri-o.ContainerType=sandbox \
		--annotation io.kubernetes.container.name=POD echo STARTED
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = STARTED ]
	[ ! -s "$BATS_TEST_TMPDIR/hook.log" ]
}

@test "the installer image runs the DaemonSet's install and check on a node root" {
	local ds tag=oci-idmap-hook-installer:test cmd
	"$K8S/installer/build-image" "$tag" "${PODMAN_GLOBAL[@]}" >/dev/null
	ds='docs.find(d => d.kind == "DaemonSet").spec.template.spec'
	cmd=$(manifest "$K8S/oci-idmap-hook.yaml" "$ds.initContainers[0].command[0]")
	[ "$(manifest "$K8S/oci-idmap-hook.yaml" "$ds.containers[0].readinessProbe.exec.command.join(' ')")" = "$cmd check" ]
	local env=() line
	while IFS= read -r line; do env+=(-e "$line"); done < <(configmap_env)
	local vols=(-v "$NODE/etc/containers:/host/etc/containers" -v "$NODE/opt:/host/opt")
	local ro=(--read-only -v "$NODE/etc/containers:/host/etc/containers:ro" -v "$NODE/opt:/host/opt:ro")

	run _captured _podman run "${PODMAN_RUN[@]}" "${env[@]}" -e HOST_ROOT=/host "${vols[@]}" \
		--entrypoint "$cmd" "$tag"
	echo "$output"
	[ "$status" -eq 0 ]
	cmp "$NODE/opt/oci-idmap-hook/bin/oci-idmap-hook" "$STATIC"
	[ -f "$NODE/etc/containers/oci/hooks.d/oci-idmap-hook.json" ]
	# The watch container's probe, on a read-only root and read-only mounts.
	run _captured _podman run "${PODMAN_RUN[@]}" "${env[@]}" -e HOST_ROOT=/host "${ro[@]}" \
		--entrypoint "$cmd" "$tag" check
	[ "$status" -eq 0 ]
	rm "$NODE/etc/containers/oci/hooks.d/oci-idmap-hook.json"
	run _captured _podman run "${PODMAN_RUN[@]}" "${env[@]}" -e HOST_ROOT=/host "${ro[@]}" \
		--entrypoint "$cmd" "$tag" check
	[ "$status" -eq 1 ]
}
