#!/usr/bin/env bats
# The Kubernetes installer image under the name the DaemonSet gives it:
# built by build-image, saved with podman and imported into containerd's
# k8s.io namespace as the README says, where a node with IfNotPresent finds
# it by that name.  A private containerd for this file.

load helpers
load containerd_helpers

K8S="$REPO/deploy/kubernetes"

setup_file() {
	[ "$(id -u)" -eq 0 ] || skip "test requires root"
	make -s -C "$REPO" static >/dev/null
	start_private_containerd
}

teardown_file() {
	stop_private_containerd
}

setup() {
	setup_common
}

teardown() {
	teardown_common
}

# The DaemonSet's images, one a line, as the kubelet reads them.
manifest_images() {
	NODE_PATH="$REPO/tests/kubernetes/node_modules" node -e '
		const docs = require("js-yaml").loadAll(require("fs").readFileSync(process.argv[1], "utf8"));
		const pod = docs.find(d => d.kind == "DaemonSet").spec.template.spec;
		for (const c of [...pod.initContainers, ...pod.containers])
			console.log(c.image + " " + c.imagePullPolicy);' "$K8S/oci-idmap-hook.yaml"
}

@test "build-image's default name is the manifest's, and containerd's k8s.io namespace holds it under that name after podman save | ctr import" {
	version=$(sed -n 's/^VERSION := //p' "$REPO/Makefile")
	name="localhost/oci-idmap-hook-installer:$version"
	[ "$(manifest_images)" = "$(printf '%s IfNotPresent\n%s IfNotPresent' "$name" "$name")" ]
	# An empty TAG: build-image's default, with podman options after it.
	"$K8S/installer/build-image" "" "${PODMAN_GLOBAL[@]}" >/dev/null
	_podman image exists "$name"
	_podman save --format docker-archive -o "$BATS_TEST_TMPDIR/installer.tar" "$name"
	ctrd -n k8s.io images import "$BATS_TEST_TMPDIR/installer.tar" >/dev/null
	run ctrd -n k8s.io images ls -q
	_show_run ctr
	# The name, beside the config digest that the import also lists.
	grep -qx "$name" <<<"$output"
	# containerd runs it by that name: the installer's files are in it.  No
	# CPU shares (ctr's default is 1024): the Debian 13 lane's cgroup2 tree
	# on this hybrid host has no cpu controller.
	run ctrd -n k8s.io run --rm --cgroup "" --cpu-shares 0 "$name" oih-installer-$$ \
		/bin/sh -c 'echo /opt/oci-idmap-hook/*'
	_show_run ctr
	[ "$status" -eq 0 ]
	[[ "$output" == *install.sh* ]]
	[[ "$output" == *oci-idmap-hook* ]]
	_podman rmi "$name" >/dev/null
}
