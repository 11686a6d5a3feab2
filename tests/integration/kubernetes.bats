#!/usr/bin/env bats
# deploy/kubernetes/: the static build, the manifests (validated offline
# against the Kubernetes API schemas), the installer on a scratch directory
# standing in for a node's root, and the hooks.d file it installs used by a
# real podman run that carries the annotations CRI-O would pass.

load helpers
load chown_helpers

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
	cp "$REPO/hooks.d/oci-idmap-hook-annotation.json.in" "$SRC/oci-idmap-hook.json.in"
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

# configmap_env: the DaemonSet's ConfigMap as NAME=VALUE entries, each
# ended by a NUL (POLICY spans lines).
configmap_env() {
	manifest "$K8S/oci-idmap-hook.yaml" \
		'Object.entries(docs.find(d => d.kind == "ConfigMap").data).map(([k, v]) => k + "=" + v + "\0").join("")'
}

# configmap KEY: one value of the ConfigMap.
configmap() {
	manifest "$K8S/oci-idmap-hook.yaml" "docs.find(d => d.kind == 'ConfigMap').data['$1']"
}

# configmap_args PREFIX: the ConfigMap's entries as words of an array
# `args`, each after PREFIX when one is given (podman's -e).
configmap_args() {
	local entry
	args=()
	while IFS= read -r -d '' entry; do args+=(${1:+"$1"} "$entry"); done < <(configmap_env)
}

# install_sh [ACTION] with the node root and image dir of this test, run
# under INSTALL_WRAP if set, by INSTALL_SHELL (sh: dash and coreutils).
install_sh() {
	run "${INSTALL_WRAP[@]}" env HOST_ROOT="$NODE" SOURCE_DIR="$SRC" "$@" \
		"${INSTALL_SHELL[@]:-sh}" "$INSTALLER" "${INSTALL_ACTION[@]}"
}

# What the installer puts on a node, as node paths.
BIN=/opt/oci-idmap-hook/bin/oci-idmap-hook
POLICY_PATH=/opt/oci-idmap-hook/policy.json
# The package's vendor file's name (make install's), so that on a node
# with both the installer's masks the package's and the hook runs once.
HOOKS_JSON=/etc/containers/oci/hooks.d/oci-idmap-hook.json

# installed NODE_PATH MODE: a regular file of root's, MODE, one link.
installed() {
	[ "$(stat -c '%u:%g %a %h %F' "$NODE$1")" = "0:0 $2 1 regular file" ]
}

# A canary directory outside the node root: a file of a user's, a copy of
# the hook (what `cmp` would find current), and no file named absent.
make_canary() {
	CANARY=$(make_host_dir canary 1000:1000 0755)
	echo canary >"$CANARY/file"
	cp "$STATIC" "$CANARY/hook"
	chown 1000:1000 "$CANARY/file" "$CANARY/hook"
}

# The canary's listing and contents.
canary_state() {
	listing "$CANARY"
	md5sum "$CANARY"/*
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

@test "the installer's DaemonSet runs with the least it needs: validate.js --hardened" {
	run node "$REPO/tests/kubernetes/validate.js" --hardened "$K8S/oci-idmap-hook.yaml"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *": DaemonSet oci-idmap-hook: valid"* ]]
	# What --hardened refuses: the DaemonSet as it was (privileged, all of
	# /etc/containers and /opt, a writable root), and a watch container
	# that keeps its capabilities and may gain more.
	local bad="$BATS_TEST_TMPDIR/bad.yaml"
	manifest "$K8S/oci-idmap-hook.yaml" '
		const ds = docs.find(d => d.kind == "DaemonSet"), pod = ds.spec.template.spec;
		pod.initContainers[0].securityContext = { privileged: true, runAsUser: 0 };
		delete pod.containers[0].securityContext.capabilities;
		pod.containers[0].securityContext.allowPrivilegeEscalation = true;
		delete pod.securityContext;
		pod.volumes[0].hostPath.path = "/etc/containers";
		pod.volumes[1].hostPath.path = "/opt/";
		require("js-yaml").dump(ds)' >"$bad"
	run node "$REPO/tests/kubernetes/validate.js" --hardened "$bad"
	echo "$output"
	[ "$status" -eq 1 ]
	local at="$bad: DaemonSet oci-idmap-hook: hardening: /spec/template/spec"
	local want=(
		"$at/initContainers/0 (install): privileged"
		"$at/initContainers/0 (install): capabilities do not drop ALL"
		"$at/initContainers/0 (install): allowPrivilegeEscalation is not false"
		"$at/initContainers/0 (install): readOnlyRootFilesystem is not true"
		"$at/initContainers/0 (install): no seccompProfile RuntimeDefault (none)"
		"$at/containers/0 (watch): capabilities do not drop ALL"
		"$at/containers/0 (watch): allowPrivilegeEscalation is not false"
		"$at/containers/0 (watch): no seccompProfile RuntimeDefault (none)"
		"$at/volumes/0 (host-hooks-d): hostPath /etc/containers is a whole system directory; mount only what is written"
		"$at/volumes/1 (host-opt-hook): hostPath /opt is a whole system directory; mount only what is written"
	)
	[ "$output" = "$(printf '%s\n' "${want[@]}")" ]
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
	hooks_dirs=$(configmap HOOKS_DIRS)
	[ "${lines[0]}" = "/usr/share/containers/oci/hooks.d $hooks_dirs" ]
	[ "${lines[1]}" = "io.containerd.runc.v2 oci-idmap-hook/*" ]
	[ "$(manifest "$K8S/containerd/runtimeclass.yaml" 'docs[0].handler')" = oci-idmap-hook ]
}

@test "containerd 2's config-v3.toml has config.toml's handler, under io.containerd.cri.v1.runtime" {
	run python3 -c '
import sys, tomllib
v2 = tomllib.load(open(sys.argv[1], "rb"))
v3 = tomllib.load(open(sys.argv[2], "rb"))
a = v2["plugins"]["io.containerd.grpc.v1.cri"]["containerd"]["runtimes"]
b = v3["plugins"]["io.containerd.cri.v1.runtime"]["containerd"]["runtimes"]
print(v2["version"], v3["version"], a == b, " ".join(b))' "$K8S/containerd/config.toml" "$K8S/containerd/config-v3.toml"
	[ "$status" -eq 0 ]
	[ "$output" = "2 3 True oci-idmap-hook" ]
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
	# The package's registration: the same file but for the binary's path,
	# under the same name in the vendor directory, which this one masks.
	local pkg="$BATS_TEST_TMPDIR/pkg"
	make -s -C "$REPO" install DESTDIR="$pkg" >/dev/null
	run jq -e --slurpfile p "$pkg/usr/share/containers/oci/hooks.d/${json##*/}" \
		'del(.hook.path) == ($p[0] | del(.hook.path))' "$json"
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
	install_sh HOOK_OPTIONS="--policy /etc/x.json"
	[ "$status" -eq 1 ]
	[ "$output" = 'oci-idmap-hook-install: HOOK_OPTIONS: "--policy": put the policy itself in POLICY; the installer writes it and adds --policy' ]
	INSTALL_ACTION=(reinstall)
	install_sh
	[ "$status" -eq 1 ]
	run find "$NODE" -type f
	[ -z "$output" ]
}

# planted_links_install: the test below, with INSTALL_SHELL.
planted_links_install() {
	rm -rf "$NODE" "$BATS_TEST_TMPDIR/canary"
	make_canary
	mkdir -p "$NODE/opt/oci-idmap-hook/bin" "$NODE/etc/containers/oci/hooks.d"
	# Each final name, and .NAME.$$ of the old installer ($$ is 1 in the
	# pod's pid namespace, as in this test's).  The binary's leads to a
	# user's copy of the hook (cmp would call it current, and root would
	# run what the user puts there next); one leads nowhere (busybox cp
	# would create it).
	ln -s "$CANARY/hook" "$NODE$BIN"
	ln -s "$CANARY/file" "$NODE/opt/oci-idmap-hook/bin/.oci-idmap-hook.1"
	ln -s "$CANARY/file" "$NODE$POLICY_PATH"
	ln -s "$CANARY/absent" "$NODE/opt/oci-idmap-hook/.policy.json.1"
	ln -s "$CANARY/file" "$NODE$HOOKS_JSON"
	ln -s "$CANARY/file" "$NODE/etc/containers/oci/hooks.d/.oci-idmap-hook.json.1"
	local before
	before=$(canary_state)

	INSTALL_ACTION=(install)
	INSTALL_WRAP=(unshare --pid --fork --mount-proc)
	install_sh POLICY='{"allowedModes": ["idmap"]}'
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(canary_state)" = "$before" ]
	installed "$BIN" 755
	cmp "$NODE$BIN" "$STATIC"
	installed "$POLICY_PATH" 644
	[ "$(cat "$NODE$POLICY_PATH")" = '{"allowedModes": ["idmap"]}' ]
	installed "$HOOKS_JSON" 644
	jq -e '.hook.path == "/opt/oci-idmap-hook/bin/oci-idmap-hook"' "$NODE$HOOKS_JSON"
	# The old names are not the installer's: left as they were.
	[ "$(readlink "$NODE/opt/oci-idmap-hook/bin/.oci-idmap-hook.1")" = "$CANARY/file" ]
	INSTALL_ACTION=(check)
	install_sh POLICY='{"allowedModes": ["idmap"]}'
	[ "$status" -eq 0 ]
}

@test "installer: a symlink planted at a name it writes, or at the old fixed temporary names, is replaced and never written through" {
	INSTALL_SHELL=(sh)
	planted_links_install
	# The image's shell and tools: busybox.
	INSTALL_SHELL=(busybox sh)
	planted_links_install
}

@test "installer: refuses a directory another user could write, or a symlink on its way, and writes nothing" {
	make_canary
	local before
	before=$(canary_state)
	INSTALL_ACTION=(install)
	mkdir -p "$NODE/opt/oci-idmap-hook"
	ln -s "$CANARY" "$NODE/opt/oci-idmap-hook/bin"
	install_sh
	[ "$status" -eq 1 ]
	[ "$output" = "oci-idmap-hook-install: BIN_DIR: /opt/oci-idmap-hook/bin is a symbolic link; runtimes read it as root, so it must be a real directory" ]
	# Uninstall removes nothing through the link either.
	ln -s "$CANARY/hook" "$CANARY/oci-idmap-hook"
	before=$(canary_state)
	INSTALL_ACTION=(uninstall)
	install_sh
	[ "$status" -eq 1 ]
	[ "$(canary_state)" = "$before" ]
	rm "$NODE/opt/oci-idmap-hook/bin"

	INSTALL_ACTION=(install)
	mkdir -p "$NODE/etc/containers/oci/hooks.d"
	chown 1000 "$NODE/etc/containers/oci/hooks.d"
	install_sh
	[ "$status" -eq 1 ]
	[ "$output" = "oci-idmap-hook-install: HOOKS_DIRS: /etc/containers/oci/hooks.d is owned by uid 1000 with mode 755; whoever can write it can make runtimes run their code as root: chown root and chmod go-w it" ]
	chown 0 "$NODE/etc/containers/oci/hooks.d"
	chmod 0777 "$NODE/etc/containers/oci"
	install_sh
	[ "$status" -eq 1 ]
	[ "$output" = "oci-idmap-hook-install: HOOKS_DIRS: /etc/containers/oci is owned by uid 0 with mode 777; whoever can write it can make runtimes run their code as root: chown root and chmod go-w it" ]
	[ "$(canary_state)" = "$before" ]
	run find "$NODE" -type f
	[ -z "$output" ]
}

@test "installer: installs, checks and uninstalls as uid 0 with no capability at all" {
	INSTALL_WRAP=(setpriv --inh-caps=-all --ambient-caps=-all --bounding-set=-all --no-new-privs)
	run "${INSTALL_WRAP[@]}" sh -c 'id -u; grep -E "^Cap(Eff|Prm)" /proc/self/status'
	[ "${lines[0]}" = 0 ]
	[ "${lines[1]}" = "$(printf 'CapPrm:\t0000000000000000')" ]
	[ "${lines[2]}" = "$(printf 'CapEff:\t0000000000000000')" ]
	local args
	configmap_args
	INSTALL_ACTION=(install)
	install_sh "${args[@]}"
	echo "$output"
	[ "$status" -eq 0 ]
	installed "$BIN" 755
	installed "$POLICY_PATH" 644
	installed "$HOOKS_JSON" 644
	run jq -e '.hook.args | index("--policy") != null' "$NODE$HOOKS_JSON"
	[ "$status" -eq 0 ]
	INSTALL_ACTION=(check)
	install_sh "${args[@]}"
	[ "$status" -eq 0 ]
	INSTALL_ACTION=(uninstall)
	install_sh "${args[@]}"
	[ "$status" -eq 0 ]
	run find "$NODE" -type f
	[ -z "$output" ]
}

@test "installer: the ConfigMap's policy is installed root's 0644 and registered with --policy; emptied, both go" {
	local args policy
	configmap_args
	policy=$(configmap POLICY)
	[[ "$policy" == *'"allowedModes"'* ]]
	INSTALL_ACTION=(install)
	install_sh "${args[@]}"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[1]}" = "oci-idmap-hook-install: installed $POLICY_PATH" ]
	installed "$POLICY_PATH" 644
	[ "$(cat "$NODE$POLICY_PATH")" = "$policy" ]
	run jq -c .hook.args "$NODE$HOOKS_JSON"
	[ "$output" = '["oci-idmap-hook","--log","/var/log/oci-idmap-hook.log",'\
'"--policy","/opt/oci-idmap-hook/policy.json","prestart"]' ]
	# The hook reads it as the registration will make it.
	run "$STATIC" doctor --policy "$NODE$POLICY_PATH" --rootfs "$SRC"
	[ "$status" -eq 0 ]
	[[ "$output" == *"policy:  $NODE$POLICY_PATH"* ]]

	install_sh "${args[@]}" POLICY=
	[ "$status" -eq 0 ]
	[ "${lines[1]}" = "oci-idmap-hook-install: installed $HOOKS_JSON" ]
	[ "${lines[2]}" = "oci-idmap-hook-install: removed $POLICY_PATH" ]
	[ ! -e "$NODE$POLICY_PATH" ]
	run jq -c .hook.args "$NODE$HOOKS_JSON"
	[ "$output" = '["oci-idmap-hook","--log","/var/log/oci-idmap-hook.log","prestart"]' ]
	# With the ConfigMap's policy again, check wants it back.
	INSTALL_ACTION=(check)
	install_sh "${args[@]}"
	[ "$status" -eq 1 ]
	[ "$output" = "oci-idmap-hook-install: $POLICY_PATH is missing or out of date" ]
}

@test "installer: a policy the hook would refuse fails the install with one line and changes nothing" {
	INSTALL_ACTION=(install)
	install_sh POLICY='{"allowedModes": ["idmap", "chown-restore"]}'
	[ "$status" -eq 1 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == "oci-idmap-hook-install: POLICY: allowedModes[1] must be one of "*"; fix it in the ConfigMap (nothing was changed)" ]]
	run find "$NODE" -type f
	[ -z "$output" ]

	install_sh POLICY='{"allowedModes": ["idmap"]}'
	[ "$status" -eq 0 ]
	local before
	before=$(listing "$NODE"; md5sum "$NODE$BIN" "$NODE$POLICY_PATH" "$NODE$HOOKS_JSON")
	install_sh POLICY='{"allowedModes": ["nsmap"]'
	[ "$status" -eq 1 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == "oci-idmap-hook-install: POLICY is not valid JSON: "*"; fix it in the ConfigMap (nothing was changed)" ]]
	install_sh POLICY='{"allowedModes": ["nsmap"], "allowHostRot": true}'
	[ "$status" -eq 1 ]
	[[ "$output" == "oci-idmap-hook-install: POLICY: "*"allowHostRot"*"; fix it in the ConfigMap (nothing was changed)" ]]
	[ "$(listing "$NODE"; md5sum "$NODE$BIN" "$NODE$POLICY_PATH" "$NODE$HOOKS_JSON")" = "$before" ]
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
	local args
	configmap_args
	INSTALL_ACTION=()
	install_sh "${args[@]}" HOOK_LOG="$BATS_TEST_TMPDIR/hook.log"
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

# pod_mounts CONTAINER: podman's -v for the DaemonSet's CONTAINER
# (initContainers[0] or containers[0]), each hostPath under $NODE made as
# kubelet makes it (DirectoryOrCreate: root's, 0755), in array `vols`.
pod_mounts() {
	local hostpath mountpath ro
	vols=()
	while read -r hostpath mountpath ro; do
		(umask 022 && mkdir -p "$NODE$hostpath")
		vols+=(-v "$NODE$hostpath:$mountpath${ro:+:ro}")
	done < <(manifest "$K8S/oci-idmap-hook.yaml" "
		const pod = docs.find(d => d.kind == 'DaemonSet').spec.template.spec;
		pod.$1.volumeMounts.map(m => [pod.volumes.find(v => v.name == m.name).hostPath.path,
			m.mountPath, m.readOnly ? 'ro' : ''].join(' ')).join('\n')")
	[ "${#vols[@]}" -gt 0 ]
}

# pod_security CONTAINER USER: podman's flags for the securityContext of
# the DaemonSet's CONTAINER, which runs as USER (uid:gid), in array `sec`;
# every other field it sets is one the validator's --hardened requires.
pod_security() {
	local sc
	sc=$(manifest "$K8S/oci-idmap-hook.yaml" "
		const sc = docs.find(d => d.kind == 'DaemonSet').spec.template.spec.$1.securityContext;
		[sc.runAsUser + ':' + sc.runAsGroup, sc.capabilities.drop.join(','),
			sc.allowPrivilegeEscalation, sc.readOnlyRootFilesystem, !!sc.privileged].join(' ')")
	[ "$sc" = "$2 ALL false true false" ]
	sec=(--user "$2" --cap-drop all --security-opt no-new-privileges --read-only)
}

@test "the installer image runs the DaemonSet's install and check on a node root, with the pod's mounts and no capability" {
	local ds tag=oci-idmap-hook-installer:test cmd
	"$K8S/installer/build-image" "$tag" "${PODMAN_GLOBAL[@]}" >/dev/null
	ds='docs.find(d => d.kind == "DaemonSet").spec.template.spec'
	cmd=$(manifest "$K8S/oci-idmap-hook.yaml" "$ds.initContainers[0].command[0]")
	[ "$(manifest "$K8S/oci-idmap-hook.yaml" "$ds.containers[0].readinessProbe.exec.command.join(' ')")" = "$cmd check" ]
	local args vols sec
	configmap_args -e
	pod_mounts "initContainers[0]"
	pod_security "initContainers[0]" 0:0
	run _captured _podman run "${PODMAN_RUN[@]}" "${args[@]}" -e HOST_ROOT=/host "${vols[@]}" "${sec[@]}" \
		--entrypoint "$cmd" "$tag"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[1]}" = "oci-idmap-hook-install: installed /opt/oci-idmap-hook/policy.json" ]
	cmp "$NODE/opt/oci-idmap-hook/bin/oci-idmap-hook" "$STATIC"
	[ "$(stat -c '%u:%g %a %F' "$NODE/opt/oci-idmap-hook/policy.json")" = "0:0 644 regular file" ]
	run jq -e '.hook.args | index("--policy") != null' "$NODE/etc/containers/oci/hooks.d/oci-idmap-hook.json"
	[ "$status" -eq 0 ]
	# The watch container's probe, as nobody on a read-only root and
	# read-only mounts.
	pod_mounts "containers[0]"
	pod_security "containers[0]" 65534:65534
	run _captured _podman run "${PODMAN_RUN[@]}" "${args[@]}" -e HOST_ROOT=/host "${vols[@]}" "${sec[@]}" \
		--entrypoint "$cmd" "$tag" check
	echo "$output"
	[ "$status" -eq 0 ]
	rm "$NODE/etc/containers/oci/hooks.d/oci-idmap-hook.json"
	run _captured _podman run "${PODMAN_RUN[@]}" "${args[@]}" -e HOST_ROOT=/host "${vols[@]}" "${sec[@]}" \
		--entrypoint "$cmd" "$tag" check
	[ "$status" -eq 1 ]
}
