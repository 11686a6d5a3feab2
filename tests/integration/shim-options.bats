#!/usr/bin/env bats
# The hook's own options through its registrations: the runtime shim's
# --idmap-NAME flags (runc, and a private dockerd's runtimeArgs) and
# inject's hook options; what inject says and leaves behind; what crun does
# with a hook's stderr.  The private dockerd here runs without userns-remap:
# `--user 999:999` on a directory of host user 1000 is the case of a build
# container whose output root would otherwise own.

load helpers
load docker_helpers
load containerd_helpers

setup_file() {
	private_docker_dir
	cat >"$D/daemon.json" <<-EOF
		{
		  "runtimes": {
		    "oci-idmap": { "path": "$RUNTIME" },
		    "oci-idmap-logged": { "path": "$RUNTIME",
		                          "runtimeArgs": ["--idmap-log=$D/hook.log", "--idmap-verbose"] },
		    "oci-idmap-journal": { "path": "$RUNTIME",
		                           "runtimeArgs": ["--idmap-environment=full", "--idmap-journal-dir=$D/journal"] },
		    "oci-idmap-bad": { "path": "$RUNTIME", "runtimeArgs": ["--idmap-chown-threads=many"] }
		  }
		}
	EOF
	DOCKERD_NO_REMAP=1 start_private_dockerd
	start_private_containerd
	export D
}

teardown_file() {
	stop_private_dockerd
	stop_private_containerd
}

setup() {
	setup_hook_test
	# A bundle that asks for the hook but does not carry it.
	B=$(asking_bundle c)
	T=$BATS_TEST_TMPDIR
}

teardown() {
	teardown_common
}

@test "oci-idmap-runtime --idmap-log, --idmap-verbose, --idmap-chown-threads: the injected entry carries them and the hook logs to the file" {
	run_shim --idmap-log="$T/hook.log" --idmap-verbose --idmap-chown-threads 2 --root "$RUNC_ROOT" run --bundle "$B"
	assert_fixed
	[ "$(jq -c '.hooks.prestart[0].args' "$B/config.json")" = \
		"[\"oci-idmap-hook\",\"--log\",\"$T/hook.log\",\"--verbose\",\"--chown-threads\",\"2\",\"prestart\"]" ]
	[ "$(jq -c '.hooks.poststop[0].args[-1]' "$B/config.json")" = '"poststop"' ]
	grep -q "oci-idmap-hook\[[0-9]*\] container oih-.*: /data: idmapped $DATA (ext4): on-disk owner 1000:1000 shows as container user 999:999" "$T/hook.log"
}

@test "oci-idmap-runtime --idmap-default-mounts serves a container that asks for nothing, as a policy's defaultMounts does" {
	update_config "$B" 'del(.annotations["oci-idmap-hook/mounts"])'
	run_shim --root "$RUNC_ROOT" run --bundle "$B"
	[ "$status" -ne 0 ]
	[ "$(jq -c '.hooks // {}' "$B/config.json")" = '{}' ]
	run_shim --idmap-default-mounts=/data --root "$RUNC_ROOT" run --bundle "$B"
	assert_fixed
	[ "$(jq -c '.hooks.prestart[0].args' "$B/config.json")" = '["oci-idmap-hook","--default-mounts","/data","prestart"]' ]
}

@test "oci-idmap-runtime refuses a bad or unknown hook option with one line before any runtime runs, and says it in the engine's log" {
	printf '#!/bin/sh\ntouch %s/runtime-ran\nexec runc "$@"\n' "$T" >"$T/marker-runc"
	chmod +x "$T/marker-runc"
	cp "$B/config.json" "$T/before"
	for opt in --idmap-chown-threads=many --idmap-log=relative.log --idmap-verbose=yes --idmap-journal \
		--idmap-environment=sometimes; do
		run_shim --idmap-runtime="$T/marker-runc" "$opt" --log "$T/engine.json" --log-format json \
			--root "$RUNC_ROOT" run --bundle "$B"
		[ "$status" -eq 1 ]
		[ "${#lines[@]}" -eq 1 ]
		case "$opt" in
		*threads*) [ "$output" = "oci-idmap-runtime: --idmap-chown-threads expects a number from 0 to 64, not 'many'" ] ;;
		*log*) [ "$output" = "oci-idmap-runtime: --idmap-log expects an absolute path, not 'relative.log'" ] ;;
		*verbose*) [ "$output" = "oci-idmap-runtime: '--idmap-verbose' takes no value, not 'yes'" ] ;;
		*journal) [ "$output" = "oci-idmap-runtime: unknown option '--idmap-journal'" ] ;;
		*environment*) [ "$output" = "oci-idmap-runtime: --idmap-environment expects off, idmap or full, not 'sometimes'" ] ;;
		esac
		[ ! -e "$T/runtime-ran" ]
		cmp "$B/config.json" "$T/before"
		[ "$(jq -r '.msg' "$T/engine.json" | tail -1)" = "$output" ]
	done
	# The same options, well formed, run the runtime.
	run_shim --idmap-runtime="$T/marker-runc" --idmap-chown-threads=0 --idmap-log="$T/hook.log" \
		--root "$RUNC_ROOT" run --bundle "$B"
	assert_fixed
	[ -e "$T/runtime-ran" ]
}

@test "inject passes the hook's options on, as the hook spells them, says what it did, and --quiet says nothing" {
	run "$HOOK" inject --log "$T/hook.log" --verbose --journal-dir "$T/journal" "$B"
	[ "$status" -eq 0 ]
	[ "$output" = "$B/config.json: added $HOOK at prestart and poststop" ]
	[ "$(jq -c '.hooks.prestart[0].args' "$B/config.json")" = \
		"[\"oci-idmap-hook\",\"--log\",\"$T/hook.log\",\"--verbose\",\"--journal-dir\",\"$T/journal\",\"prestart\"]" ]
	run "$HOOK" inject "$B"
	[ "$output" = "$B/config.json: nothing to change, the hook runs at its start stage and at poststop already" ]
	run_runc "$B"
	assert_fixed
	grep -q "container oih-.*: /data: idmapped $DATA (ext4): on-disk owner 1000:1000 shows as container user 999:999" "$T/hook.log"
	run "$HOOK" inject --remove "$B"
	[ "$output" = "$B/config.json: removed the hook's entries at its start stage and poststop" ]
	run "$HOOK" inject --quiet --stage createRuntime "$B"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	[ "$(jq -c '.hooks | keys' "$B/config.json")" = '["createRuntime","poststop"]' ]
}

@test "inject refuses a bad hook option with the same words as the hook, and writes nothing" {
	cp "$B/config.json" "$T/before"
	run "$HOOK" inject --chown-threads 99 "$B"
	[ "$status" -eq 2 ]
	[ "${lines[0]}" = "oci-idmap-hook inject: --chown-threads expects a number from 0 to 64, not '99'" ]
	# The hook itself says the same of the same value.
	run "$HOOK" --chown-threads 99 prestart </dev/null
	[ "${lines[0]}" = "oci-idmap-hook: --chown-threads expects a number from 0 to 64, not '99'" ]
	run "$HOOK" inject --journal-dir journal "$B"
	[ "$status" -eq 2 ]
	[ "${lines[0]}" = "oci-idmap-hook inject: --journal-dir expects an absolute path, not 'journal'" ]
	run "$HOOK" inject --check-sandbox "$B"
	[ "$status" -eq 2 ]
	[ "${lines[0]}" = "oci-idmap-hook inject: unknown option '--check-sandbox'" ]
	cmp "$B/config.json" "$T/before"
}

@test "inject then --remove on a config with no hooks gives back the same JSON, no empty prestart or hooks left" {
	[ "$(jq 'has("hooks")' "$B/config.json")" = false ]
	jq -S . "$B/config.json" >"$T/before"
	"$HOOK" inject --quiet "$B"
	[ "$(jq -c '.hooks | keys' "$B/config.json")" = '["poststop","prestart"]' ]
	"$HOOK" inject --quiet --remove "$B"
	[ "$(jq 'has("hooks")' "$B/config.json")" = false ]
	diff "$T/before" <(jq -S . "$B/config.json")
}

@test "inject then --remove keeps another tool's hooks, and a stage it does not use" {
	bundle_hook "$B" prestart /bin/true other-tool
	update_config "$B" '.hooks.createContainer = []'
	jq -S . "$B/config.json" >"$T/before"
	"$HOOK" inject --quiet "$B"
	[ "$(jq '.hooks.prestart | length' "$B/config.json")" -eq 2 ]
	[ "$(jq '.hooks.poststop | length' "$B/config.json")" -eq 1 ]
	"$HOOK" inject --quiet --remove "$B"
	diff "$T/before" <(jq -S . "$B/config.json")
	# And one that held only ours goes, with "hooks" kept for the others.
	"$HOOK" inject --quiet --stage createRuntime "$B"
	"$HOOK" inject --quiet --remove "$B"
	diff "$T/before" <(jq -S . "$B/config.json")
}

@test "crun 1.8.1 runs the hook injected at prestart (the default), as at createRuntime" {
	"$HOOK" inject --quiet "$B"
	[ "$(jq -r '.hooks.prestart[0].args[-1]' "$B/config.json")" = prestart ]
	[ "$(jq 'has("createRuntime")' <(jq .hooks "$B/config.json"))" = false ]
	run_crun "$B"
	assert_fixed
}

@test "crun drops a failing hook's stderr; its annotation run.oci.hooks.stderr=FILE keeps the hook's line" {
	chown 0:0 "$DATA"
	"$HOOK" inject --quiet "$B"
	refused="oci-idmap-hook: /data: cannot idmap '$DATA': its top directory is owned by host root (0:0)"
	run_crun "$B"
	[ "$status" -ne 0 ]
	[[ "$output" == *"error executing hook"* ]]
	[[ "$output" != *"$refused"* ]]
	bundle_annotation "$B" run.oci.hooks.stderr "$T/hooks.stderr"
	run_crun "$B"
	[ "$status" -ne 0 ]
	[[ "$output" != *"$refused"* ]]
	grep -qF "$refused" "$T/hooks.stderr"
	[ ! -e "$DATA/new" ]
}

@test "docker without userns-remap: --user 999:999 cannot write a directory of host user 1000; through the shim it can, files land as 1000" {
	run_docker run --rm --runtime runc --network=none --user 999:999 -v "$DATA:/data" oih-busybox:test \
		sh -c 'exec 2>&1; stat -c %u:%g /data; touch /data/new'
	[ "$status" -ne 0 ]
	[ "${lines[0]}" = 1000:1000 ]
	[ ! -e "$DATA/new" ]
	run_docker run --rm --runtime oci-idmap --network=none --user 999:999 -e OCI_IDMAP_MOUNTS=/data \
		-v "$DATA:/data" oih-busybox:test sh -c 'exec 2>&1; id -u; stat -c %u:%g /data; touch /data/new'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 999 ]
	[ "${lines[1]}" = 999:999 ]
	[ "$(host_owner "$DATA/new")" = 1000:1000 ]
	[ "$(host_owner "$DATA")" = 1000:1000 ]
}

@test "docker runtimeArgs --idmap-log=FILE --idmap-verbose: the hook's lines for the container are in FILE" {
	run_docker run --rm --runtime oci-idmap-logged --network=none --user 999:999 -e OCI_IDMAP_MOUNTS=/data \
		--cidfile "$T/cid" -v "$DATA:/data" oih-busybox:test stat -c %u:%g /data
	[ "$status" -eq 0 ]
	[ "$output" = 999:999 ]
	grep -q "container $(cat "$T/cid"): /data: idmapped $DATA (ext4): on-disk owner 1000:1000 shows as container user 999:999" \
		"$D/hook.log"
}

@test "docker runtimeArgs --idmap-journal-dir=DIR: a chown+restore container's journal is in DIR while it runs, the tree comes back after" {
	touch "$DATA/old"
	chown 1000:1000 "$DATA/old"
	run_docker run -d --runtime oci-idmap-journal --network=none --user 999:999 \
		-e OCI_IDMAP_MOUNTS=/data=chown+restore -v "$DATA:/data" oih-busybox:test sleep 600
	[ "$status" -eq 0 ]
	id=$output
	run_docker exec "$id" sh -c 'exec 2>&1; stat -c %u:%g /data /data/old; touch /data/new'
	[ "$status" -eq 0 ]
	[ "$output" = "$(printf '999:999\n999:999')" ]
	[ "$(host_owner "$DATA/old")" = 999:999 ]
	run "$HOOK" status --dir "$D/journal"
	_show_run status
	[ "$status" -eq 0 ]
	[[ "$output" == *"restorable"*"chown+restore"*"${id:0:12}"*"/data"*"$DATA"* ]]
	run_docker stop -t 1 "$id"
	run_docker rm "$id"
	[ "$status" -eq 0 ]
	[ "$(host_owner "$DATA/old")" = 1000:1000 ]
	[ "$(host_owner "$DATA/new")" = 1000:1000 ]
	[ -z "$(ls -A "$D/journal")" ]
}

@test "docker: a bad option in runtimeArgs fails docker run with the shim's one line, and nothing starts" {
	run_docker run --rm --runtime oci-idmap-bad --network=none oih-busybox:test echo STARTED
	[ "$status" -ne 0 ]
	[[ "$output" != *STARTED* ]]
	[[ "$output" == *"oci-idmap-runtime: --idmap-chown-threads expects a number from 0 to 64, not 'many'"* ]]
}

@test "dockerd reloads runtimes on SIGHUP: a runtime added to daemon.json afterwards serves without a restart" {
	pid=$(cat "$D/docker.pid")
	cp "$D/daemon.json" "$T/daemon.json.orig"
	jq --arg r "$RUNTIME" '.runtimes["oci-idmap-late"] = {path: $r, runtimeArgs: ["--idmap-verbose"]}' \
		"$T/daemon.json.orig" >"$D/daemon.json"
	run_docker info --format '{{json .Runtimes}}'
	[[ "$output" != *oci-idmap-late* ]]
	kill -HUP "$pid"
	for _ in $(seq 100); do
		docker info --format '{{json .Runtimes}}' | grep -q oci-idmap-late && break
		sleep 0.1
	done
	cp "$T/daemon.json.orig" "$D/daemon.json"
	run_docker run --rm --runtime oci-idmap-late --network=none --user 999:999 -e OCI_IDMAP_MOUNTS=/data \
		-v "$DATA:/data" oih-busybox:test stat -c %u:%g /data
	[ "$status" -eq 0 ]
	[ "$output" = 999:999 ]
	[ "$(cat "$D/docker.pid")" = "$pid" ]
	kill -HUP "$pid"
}

# ctr_run CONFIG [CTR RUN OPTION...]: ctr run of a whole spec, as the README shows.
ctr_run() {
	local cfg=$1 id
	shift
	id=$(_new_id ctr)
	run timeout -k 5 "$CONTAINER_TIMEOUT" ctr --address "$C/containerd.sock" --namespace oih-test \
		run --rm --cgroup "" --config "$cfg" "$@" "$id" </dev/null
	_show_run ctr
}

@test "containerd: ctr run --config wants an absolute root.path; --runc-binary takes no arguments, so a two-line script passes the shim's --idmap-log" {
	printf '#!/bin/sh\nexec %s --idmap-log=%s/hook.log --idmap-verbose "$@"\n' "$RUNTIME" "$T" >"$T/runtime-logged"
	chmod +x "$T/runtime-logged"
	# No user namespace: ctr 1.7 drops --runc-binary for a spec with one
	# (containerd.bats); user 999 on a directory of host 1000 needs the hook
	# all the same.
	b=$(make_bundle c2)
	bundle_user "$b" 999 999
	bundle_bind "$b" "$DATA" /data
	bundle_annotation "$b" oci-idmap-hook/mounts /data
	bundle_args "$b" sh -c 'exec 2>&1; stat -c %u:%g /data; touch /data/new'
	# runc spec's relative root.path: containerd runs the spec in a bundle
	# of its own, whose rootfs is empty (the README's fix: make it absolute).
	[ "$(jq -r .root.path "$b/config.json")" = rootfs ]
	ctr_run "$b/config.json" --runc-binary "$T/runtime-logged"
	[ "$status" -ne 0 ]
	[[ "$output" == *'exec: "sh": executable file not found in $PATH'* ]]
	[ ! -e "$DATA/new" ]
	update_config "$b" '.root.path = $r' --arg r "$b/rootfs"
	ctr_run "$b/config.json" --runc-binary "$T/runtime-logged"
	assert_fixed
	grep -q "container oih-.*: /data: idmapped $DATA (ext4): on-disk owner 1000:1000 shows as container user 999:999" "$T/hook.log"
}
