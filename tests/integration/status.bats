#!/usr/bin/env bats
# shellcheck disable=SC2154  # $status, $output and $lines are set by bats' `run`.
# shellcheck disable=SC2016  # $names in single quotes are jq's, not ours.
# What the hook has changed: `status` lists the journals of real containers
# (restorable, stale, untrusted), `restore --all` gives back every tree it
# can and says which it cannot, `--prune` removes only what is restored or
# stale, and `restore --container` takes a unique id prefix.

load helpers
load chown_helpers

setup() {
	chown_setup
}

teardown() {
	teardown_common
}

# copy_data NAME: a copy of $DATA as it is before any chown; prints its path.
copy_data() {
	cp -a "$DATA" "$BATS_TEST_TMPDIR/$1"
	echo "$BATS_TEST_TMPDIR/$1"
}

# run_chown RUNTIME NAME MODE DIR: a container of RUNTIME that gets DIR at
# /data with MODE; its id in $ID.
run_chown() {
	local b
	b=$(DATA=$4 chown_bundle "$2" "$3")
	bundle_args "$b" true
	# chown+restore with no poststop: as when the engine never ran it.
	update_config "$b" 'del(.hooks.poststop)'
	"run_$1" "$b"
	[ "$status" -eq 0 ]
	ID=$(awk -v r="$1" '$1 == r {id = $2} END {print id}' "$CONTAINERS_FILE")
}

# journal_field ID KEY: KEY of the journal of container ID in `status --json`.
journal_field() {
	"$HOOK" status --dir "$JOURNALS" --json | jq -r --arg id "$1" --arg k "$2" '.journals[] | select(.container == $id) | .[$k]'
}

@test "status lists real journals: restorable, stale (gone, replaced), with counts, modes and paths; restore --all restores the rest" {
	gone=$(copy_data gone)
	replaced=$(copy_data replaced)
	kept=$(copy_data kept)
	run_chown runc a chown "$DATA" && a=$ID
	run_chown crun b chown "$gone" && b=$ID
	run_chown runc c chown "$replaced" && c=$ID
	run_chown crun d chown+restore "$kept" && d=$ID
	for dir in "$DATA" "$gone" "$replaced" "$kept"; do
		[ "$(host_owner "$dir/sub/deep/b")" = 100999:100999 ]
	done
	rm -r "$gone"
	mv "$replaced" "$replaced.old" && mkdir "$replaced"

	run "$HOOK" status --dir "$JOURNALS"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "STATE       ENTRIES  STARTED (UTC)       MODE          CONTAINER     DESTINATION  SOURCE" ]
	[[ "$output" == *"restorable  6        "*" chown         ${a:0:12}  /data  $DATA"* ]]
	[[ "$output" == *"stale       6        "*" chown         ${b:0:12}  /data  $gone"* ]]
	[[ "$output" == *"open the source '$gone': No such file or directory; mount the volume back at '$gone'"* ]]
	[[ "$output" == *"'$replaced' is not the directory this journal was written for"* ]]
	[[ "$output" == *"restorable  6        "*" chown+restore ${d:0:12}  /data  $kept"* ]]
	[ "${lines[-1]}" = "4 journals in '$JOURNALS': 2 restorable, 2 stale, 0 untrusted" ]
	[ "$(journal_field "$a" state)" = restorable ]
	[ "$(journal_field "$a" entries)" = 6 ]
	[ "$(journal_field "$a" source)" = "$DATA" ]
	[ "$(journal_field "$a" destination)" = /data ]
	[ "$(journal_field "$a" mode)" = chown ]
	[ "$(journal_field "$b" state)" = stale ]
	[ "$(journal_field "$c" state)" = stale ]
	[ "$(journal_field "$d" mode)" = chown+restore ]
	[[ "$(journal_field "$a" started)" == "$(date -u +%Y-%m-%d)T"*Z ]]
	# Listing changes nothing.
	[ "$(host_owner "$DATA/sub/deep/b")" = 100999:100999 ]

	run "$HOOK" restore --all --dir "$JOURNALS"
	[ "$status" -eq 1 ]
	[[ "$output" == *"$JOURNALS/$a@%2Fdata.journal: 6 of 6 journaled entries put back, 0 gone since"* ]]
	[[ "$output" == *"oci-idmap-hook: $JOURNALS/$b@%2Fdata.journal: open the source '$gone'"* ]]
	[[ "$output" == *"is not the directory this journal was written for"* ]]
	[[ "$output" == *"$JOURNALS/$d@%2Fdata.journal: 6 of 6 journaled entries put back"* ]]
	[ "${lines[-1]}" = "4 journals in '$JOURNALS': 2 restored, 0 removed, 2 failed" ]
	[ "$(host_owner "$DATA/sub/deep/b")" = 1000:1000 ]
	[ "$(host_owner "$DATA/other")" = 1234:1235 ]
	[ "$(host_owner "$kept/sub/deep/b")" = 1000:1000 ]
	# The stale ones are not touched: neither the new directory nor the old one.
	[ "$(host_owner "$replaced.old/sub/deep/b")" = 100999:100999 ]
	[ "$(stat -c %u:%g "$replaced")" = 0:0 ]
	# Idempotent: a second run puts back nothing more.
	run "$HOOK" restore --all --dir "$JOURNALS"
	[ "$status" -eq 1 ]
	[[ "$output" == *"$JOURNALS/$a@%2Fdata.journal: 0 of 6 journaled entries put back"* ]]
	[ "$(ls "$JOURNALS" | wc -l)" = 4 ]
}

@test "restore --all --prune removes restored and stale journals, never an untrusted one; it is listed, never read" {
	gone=$(copy_data gone)
	other=$(copy_data other)
	run_chown runc a chown "$DATA" && a=$ID
	run_chown runc b chown "$gone" && b=$ID
	rm -r "$gone"
	# Someone else's journal: a real one, as uid 1234 could have planted it.
	# Were it believed, restore would give $other's tree to its old owners.
	run_chown runc c chown "$other" && c=$ID
	mv "$JOURNALS/$c@%2Fdata.journal" "$JOURNALS/planted@%2Fdata.journal"
	chown 1234:1234 "$JOURNALS/planted@%2Fdata.journal"

	run "$HOOK" status --dir "$JOURNALS"
	[ "$status" -eq 0 ]
	[[ "$output" == *"untrusted   -        -                   -             planted       -  planted@%2Fdata.journal"* ]]
	[[ "$output" == *"planted@%2Fdata.journal: owned by uid 1234 with mode 0600 and 1 link, so someone else may have written it"* ]]
	[ "${lines[-1]}" = "3 journals in '$JOURNALS': 1 restorable, 1 stale, 1 untrusted" ]
	run "$HOOK" status --dir "$JOURNALS" --json
	[ "$(jq -r '.journals[] | select(.container == "planted") | .state' <<<"$output")" = untrusted ]
	# Nothing of it is shown: not its source, not its count.
	[ "$(jq -r '.journals[] | select(.container == "planted") | has("source") or has("entries")' <<<"$output")" = false ]

	run "$HOOK" restore --all --prune --dir "$JOURNALS"
	[ "$status" -eq 1 ]
	[[ "$output" == *"$JOURNALS/$a@%2Fdata.journal: 6 of 6 journaled entries put back"* ]]
	[[ "$output" == *"$JOURNALS/$a@%2Fdata.journal: removed"* ]]
	[[ "$output" == *"$JOURNALS/$b@%2Fdata.journal: removed, stale: $JOURNALS/$b@%2Fdata.journal: open the source '$gone'"* ]]
	[[ "$output" == *"oci-idmap-hook: $JOURNALS/planted@%2Fdata.journal: owned by uid 1234"* ]]
	[ "${lines[-1]}" = "3 journals in '$JOURNALS': 1 restored, 2 removed, 1 failed" ]
	[ "$(host_owner "$DATA/sub/deep/b")" = 1000:1000 ]
	[ "$(host_owner "$other/sub/deep/b")" = 100999:100999 ]
	[ "$(ls "$JOURNALS")" = "planted@%2Fdata.journal" ]
}

@test "restore --container takes a unique id prefix; an ambiguous one names the ids and changes nothing" {
	second=$(copy_data second)
	run_chown runc a chown "$DATA" && a=$ID
	run_chown crun b chown "$second" && b=$ID
	run "$HOOK" restore --dir "$JOURNALS" --container oih-
	[ "$status" -eq 1 ]
	first=$(printf '%s\n' "$a" "$b" | sort | head -1)
	last=$(printf '%s\n' "$a" "$b" | sort | tail -1)
	[ "$output" = "oci-idmap-hook: container id prefix oih- is not unique: it starts $first, $last; give more of the id" ]
	[ "$(host_owner "$DATA/sub/deep/b")" = 100999:100999 ]
	[ "$(host_owner "$second/sub/deep/b")" = 100999:100999 ]
	run "$HOOK" restore --dir "$JOURNALS" --container "${a%?}"
	[ "$status" -eq 0 ]
	[ "$output" = "container $a: 1 journal restored" ]
	[ "$(host_owner "$DATA/sub/deep/b")" = 1000:1000 ]
	[ "$(host_owner "$second/sub/deep/b")" = 100999:100999 ]
}

@test "restore and status read the policy's journalDir, as the hook does" {
	run_chown runc a chown "$DATA" && a=$ID
	mkdir -p "$BATS_TEST_TMPDIR/etc"
	jq -n --arg j "$JOURNALS" '{journalDir: $j}' >"$BATS_TEST_TMPDIR/etc/policy.json"
	run "$HOOK" status --policy "$BATS_TEST_TMPDIR/etc/policy.json"
	[ "$status" -eq 0 ]
	[ "${lines[-1]}" = "1 journal in '$JOURNALS': 1 restorable, 0 stale, 0 untrusted" ]
	run "$HOOK" restore --policy "$BATS_TEST_TMPDIR/etc/policy.json" --container "$a"
	[ "$status" -eq 0 ]
	[ "$output" = "container $a: 1 journal restored" ]
	[ "$(host_owner "$DATA/sub/deep/b")" = 1000:1000 ]
	run "$HOOK" restore --policy "$BATS_TEST_TMPDIR/nosuch.json" --all
	[ "$status" -eq 1 ]
	[[ "$output" == *"nosuch.json"* ]]
}

@test "podman: status shows the journal of a podman container by its full id; restore takes its short id" {
	local prefix="$BATS_TEST_TMPDIR/prefix" hooks="$BATS_TEST_TMPDIR/hooks.d"
	make -s -C "$REPO" install PREFIX="$prefix" HOOKSDIR="$hooks" HOOKLOG="$HOOK_LOG" >/dev/null
	jq '.hook.args |= (.[:-1] + ["--journal-dir", $j] + .[-1:])' --arg j "$JOURNALS" \
		"$hooks/oci-idmap-hook.json" >"$hooks/new" && mv "$hooks/new" "$hooks/oci-idmap-hook.json"
	run_podman --hooks-dir "$hooks" --uidmap 0:100000:65536 --gidmap 0:100000:65536 --user 999:999 \
		-v "$DATA:/data" --annotation 'oci-idmap-hook/mounts=/data=chown' true
	[ "$status" -eq 0 ]
	[ "$(host_owner "$DATA/sub/deep/b")" = 100999:100999 ]
	run "$HOOK" status --dir "$JOURNALS" --json
	[ "$status" -eq 0 ]
	id=$(jq -r '.journals[0].container' <<<"$output")
	[[ "$id" =~ ^[0-9a-f]{64}$ ]]
	[ "$(jq -r '.journals[0] | [.state, .entries, .source, .destination] | join(" ")' <<<"$output")" = "restorable 6 $DATA /data" ]
	run "$HOOK" restore --dir "$JOURNALS" --container "${id:0:12}"
	[ "$status" -eq 0 ]
	[ "$output" = "container $id: 1 journal restored" ]
	[ "$(host_owner "$DATA/sub/deep/b")" = 1000:1000 ]
}

@test "status and restore --help, and bad usage" {
	run "$HOOK" status --help
	[ "$status" -eq 0 ]
	[[ "$output" == *"Usage: oci-idmap-hook status [--dir DIR | --policy FILE] [--json]"* ]]
	[[ "$output" == *"stale       its source is gone"* ]]
	run "$HOOK" restore --help
	[[ "$output" == *"oci-idmap-hook restore [--dir DIR | --policy FILE] --all [--prune]"* ]]
	run "$HOOK" restore --prune --container x
	[ "$status" -eq 2 ]
	[[ "$output" == *"--prune goes with --all"* ]]
	run "$HOOK" restore --all --container x
	[ "$status" -eq 2 ]
	[[ "$output" == *"give one of --journal FILE, --container ID or --all"* ]]
	run "$HOOK" status --dir "$BATS_TEST_TMPDIR/none"
	[ "$status" -eq 0 ]
	[ "$output" = "0 journals in '$BATS_TEST_TMPDIR/none': 0 restorable, 0 stale, 0 untrusted" ]
}
