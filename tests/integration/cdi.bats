#!/usr/bin/env bats
# The hook through CDI, without the runtime shim and without hooks.d: the
# spec deploy/cdi/oci-idmap-hook.json (kind oci-idmap-hook.dev/volume) puts
# the hook into config.json of a container that names one of its devices,
# `--device oci-idmap-hook.dev/volume=idmap`, and the hook entry's own
# --default-mounts says what to serve.  Docker 25 and later with the cdi
# feature (a private dockerd on plain runc, userns-remap), and podman 5
# (the Debian 13 lane's), with the spec bound on /var/run/cdi in a mount
# namespace of its own.  Docker 20.10
# has no CDI: there the test asserts how `--device` fails.

load helpers
load docker_helpers

CDI_KIND=oci-idmap-hook.dev/volume

# write_spec DIR: the shipped spec, with the hook under test and its log.
write_spec() {
	mkdir -p "$1"
	jq --arg h "$HOOK" --arg l "$BATS_FILE_TMPDIR/hook.log" \
		'.devices[].containerEdits.hooks[] |= (.path = $h | .args |= map(if . == "/var/log/oci-idmap-hook.log" then $l else . end))' \
		"$REPO/deploy/cdi/oci-idmap-hook.json" >"$1/oci-idmap-hook.json"
}

# Docker's major version, from the daemon binary (before it runs).
dockerd_major() {
	dockerd --version | sed -n 's/^Docker version \([0-9]*\)\..*/\1/p'
}

setup_file() {
	private_docker_dir
	write_spec "$BATS_FILE_TMPDIR/cdi"
	# No runtimes of ours: containers run on dockerd's own runc.  Docker
	# 20.10 refuses the CDI keys it does not know.
	if [ "$(dockerd_major)" -ge 25 ]; then
		printf '{ "features": { "cdi": true }, "cdi-spec-dirs": ["%s"] }\n' "$BATS_FILE_TMPDIR/cdi" >"$D/daemon.json"
	else
		echo '{}' >"$D/daemon.json"
	fi
	start_private_dockerd
}

@test "cdi: the shipped spec is valid JSON naming the installed hook at prestart and poststop for each device" {
	run jq -r '.kind, (.devices[] | .name + " " + (.containerEdits.hooks[] | .hookName + " " + .path + " " + (.args | join(" "))))' \
		"$REPO/deploy/cdi/oci-idmap-hook.json"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "$CDI_KIND" ]
	[ "${lines[1]}" = "idmap prestart /usr/libexec/oci/hooks.d/oci-idmap-hook oci-idmap-hook --log /var/log/oci-idmap-hook.log --default-mounts * prestart" ]
	[ "${lines[2]}" = "idmap poststop /usr/libexec/oci/hooks.d/oci-idmap-hook oci-idmap-hook --log /var/log/oci-idmap-hook.log --default-mounts * poststop" ]
	[ "${lines[3]}" = "auto prestart /usr/libexec/oci/hooks.d/oci-idmap-hook oci-idmap-hook --log /var/log/oci-idmap-hook.log --default-mounts *=auto prestart" ]
	[ "${lines[4]}" = "auto poststop /usr/libexec/oci/hooks.d/oci-idmap-hook oci-idmap-hook --log /var/log/oci-idmap-hook.log --default-mounts *=auto poststop" ]
	[ "${#lines[@]}" -eq 5 ]
}

# A device's poststop hook gives a chown+restore tree back when the
# container is removed, as inject's and the hooks.d file's do.
@test "cdi: --device $CDI_KIND=idmap with the annotation /data=chown+restore: the tree is the remapped 999's while it runs, 1000's again after (Docker 25+)" {
	requires_docker 25 "CDI"
	echo old >"$DATA/old"
	chown 1000:1000 "$DATA/old"
	run_docker run -d --runtime runc --network=none --user 999:999 --device "$CDI_KIND=idmap" \
		--annotation oci-idmap-hook/mounts=/data=chown+restore -v "$DATA:/data" oih-busybox:test sleep 600
	[ "$status" -eq 0 ]
	id=$output
	[ "$(host_owner "$DATA/old")" != 1000:1000 ]
	run_docker rm -f "$id"
	[ "$status" -eq 0 ]
	[ "$(host_owner "$DATA")" = 1000:1000 ]
	[ "$(host_owner "$DATA/old")" = 1000:1000 ]
}

@test "cdi: docker run --device $CDI_KIND=idmap on plain runc, userns-remap: user 999 owns /data, the host sees 1000 (Docker 25+; 20.10 refuses the device)" {
	run_docker run --rm --runtime runc --network=none --user 999:999 --device "$CDI_KIND=idmap" \
		-v "$DATA:/data" oih-busybox:test sh -c "$PROBE"
	if [ "$(docker_major)" -lt 25 ]; then
		[ "$status" -ne 0 ]
		[[ "$output" == *"docker: $CDI_KIND=idmap is not an absolute path."* ]]
		[ ! -e "$DATA/new" ]
		return
	fi
	assert_probe_served
}

@test "cdi: a device of the administrator's own carries its mount and serves only it: docker run --device, no -v (Docker 25+)" {
	requires_docker 25 "CDI"
	OTHER=$(make_host_dir other 1000:1000 0755)
	# A spec file per test: the engine reads the directory at each run.
	jq -n --arg h "$HOOK" --arg src "$DATA" --arg other "$OTHER" '{
		cdiVersion: "0.5.0", kind: "oci-idmap-hook.dev/site",
		devices: [{ name: "pg", containerEdits: {
			mounts: [{ hostPath: $src, containerPath: "/pgdata", type: "bind", options: ["rbind", "rw"] },
			         { hostPath: $other, containerPath: "/other", type: "bind", options: ["rbind", "rw"] }],
			hooks: [{ hookName: "prestart", path: $h, args: ["oci-idmap-hook", "--default-mounts", "/pgdata", "prestart"] }] } }]
	}' >"$BATS_FILE_TMPDIR/cdi/site-$BATS_TEST_NUMBER.json"
	run_docker run --rm --runtime runc --network=none --user 999:999 --device oci-idmap-hook.dev/site=pg \
		oih-busybox:test sh -c 'exec 2>&1; stat -c %u:%g /pgdata /other; touch /pgdata/new'
	rm -f "$BATS_FILE_TMPDIR/cdi/site-$BATS_TEST_NUMBER.json"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 999:999 ]
	[ "${lines[1]}" = 65534:65534 ]
	[ "$(host_owner "$DATA/new")" = 1000:1000 ]
}

@test "cdi: on the same dockerd, a container without the device is not served" {
	run_docker run --rm --runtime runc --network=none --user 999:999 -v "$DATA:/data" oih-busybox:test sh -c "$PROBE"
	[ "$status" -eq 1 ]
	[ "${lines[0]}" = "owner 65534:65534" ]
	[ ! -e "$DATA/new" ]
}

@test "the hook's --default-mounts serves a container that asks for nothing; an annotation still wins; a bad list is one line" {
	b=$(make_bundle dm)
	bundle_userns "$b" 0:100000:65536
	bundle_user "$b" 999 999
	bundle_bind "$b" "$DATA" /data
	bundle_hook "$b" prestart "$HOOK" --default-mounts /data prestart
	bundle_args "$b" sh -c "$PROBE"
	run_runc "$b"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "owner 999:999" ]
	[ "$(host_owner "$DATA/new")" = 1000:1000 ]
	# The container's own request replaces the default: nsmap shows the on-disk 1000 as 1000.
	bundle_annotation "$b" oci-idmap-hook/mounts /data=nsmap
	bundle_args "$b" stat -c %u:%g /data
	run_runc "$b"
	[ "$status" -eq 0 ]
	[ "$output" = 1000:1000 ]
	b=$(make_bundle bad)
	bundle_bind "$b" "$DATA" /data
	bundle_hook "$b" prestart "$HOOK" --default-mounts /data=own prestart
	bundle_args "$b" echo STARTED
	run_runc "$b"
	[ "$status" -ne 0 ]
	[[ "$output" != *STARTED* ]]
	# runc quotes the hook's stderr: " shows as \".
	[[ "$output" == *'oci-idmap-hook: --default-mounts: \"/data\": unknown mode \"own\"; use one of idmap, nsmap, chown, auto, chown+restore; correct --default-mounts in the hook'"'"'s registration'* ]]
}

@test "cdi: podman 5 run --device $CDI_KIND=idmap, the spec in /var/run/cdi: user 999 owns /data, the host sees 1000" {
	v=$(podman --version | cut -d' ' -f3)
	[ "${v%%.*}" -ge 5 ] || skip "podman $v: this test is for podman 5"
	# podman 5.4 reads specs only from /etc/cdi and /var/run/cdi: it has no
	# --cdi-spec-dir, and ignores containers.conf's cdi_spec_dirs (both seen).
	# So podman runs in a mount namespace of its own where our spec dir is
	# bound on /var/run/cdi (an empty dir made for it, removed after).
	made=""
	[ -d /var/run/cdi ] || { mkdir /var/run/cdi && made=1; }
	mkdir -p "$BATS_TEST_TMPDIR/bin"
	cat >"$BATS_TEST_TMPDIR/bin/podman" <<-'EOF'
		#!/bin/sh
		exec unshare -m --propagation private sh -c \
			'mount --bind "$OIH_CDI_DIR" /var/run/cdi && exec "$OIH_PODMAN" "$@"' sh "$@"
	EOF
	chmod +x "$BATS_TEST_TMPDIR/bin/podman"
	export OIH_CDI_DIR="$BATS_FILE_TMPDIR/cdi" OIH_PODMAN
	OIH_PODMAN=$(command -v podman)
	PATH="$BATS_TEST_TMPDIR/bin:$PATH" run_podman --uidmap 0:100000:65536 --gidmap 0:100000:65536 \
		--user 999:999 --device="$CDI_KIND=idmap" -v "$DATA:/data" sh -c "$PROBE"
	[ -z "$made" ] || rmdir /var/run/cdi
	assert_probe_served
}
