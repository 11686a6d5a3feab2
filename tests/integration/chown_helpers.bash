# shellcheck shell=bash
# What the chown test files share: their setup, their bundle and listings.
# shellcheck disable=SC2034  # the variables are the test files'.

# chown_setup: $DATA (a small tree of 1000), $OUTSIDE (1234) with a file,
# $JOURNALS and $HOOK_LOG.
chown_setup() {
	setup_common
	requires_idmap
	requires_hook
	DATA=$(make_host_dir data 1000:1000 0755)
	OUTSIDE=$(make_host_dir outside 1234:1234 0755)
	JOURNALS="$BATS_TEST_TMPDIR/journal"
	HOOK_LOG="$BATS_TEST_TMPDIR/hook.log"
	echo secret >"$OUTSIDE/file"
	chown 1234:1234 "$OUTSIDE/file"
	mkdir -p "$DATA/sub/deep"
	echo a >"$DATA/sub/a"
	echo b >"$DATA/sub/deep/b"
	echo c >"$DATA/other"
	chown -R 1000:1000 "$DATA/sub"
	chown 1234:1235 "$DATA/other"
	chmod 0640 "$DATA/other"
}

# chown_bundle NAME MODE [UID GID]: user namespace 0:100000:65536, running as
# UID:GID (999:999), $DATA at /data asked for with MODE, the hook at
# prestart (and poststop) with our journal dir and log.
chown_bundle() {
	local b
	b=$(make_bundle "$1")
	bundle_userns "$b" 0:100000:65536
	bundle_user "$b" "${3:-999}" "${4:-999}"
	bundle_bind "$b" "$DATA" /data
	bundle_hook "$b" prestart "$HOOK" --verbose --log "$HOOK_LOG" --journal-dir "$JOURNALS" prestart
	bundle_hook "$b" poststop "$HOOK" --verbose --log "$HOOK_LOG" --journal-dir "$JOURNALS" poststop
	bundle_annotation "$b" oci-idmap-hook/mounts "/data=$2"
	bundle_args "$b" sh -c 'stat -c "%n %u:%g" /data /data/sub/deep/b /data/other
		echo hi >/data/sub/new && stat -c %u:%g /data/sub/new'
	echo "$b"
}

# Every owner, mode and xattr of a tree, one line per entry.
listing() {
	(cd "$1" && find . -printf '%p %U:%G %m %y\n' | sort && getfattr -R -h -d -m - --absolute-names . 2>/dev/null)
}

# The owners on the host of every entry of $DATA.
host_owners() {
	(cd "$DATA" && find . -printf '%p %U:%G\n' | sort)
}
