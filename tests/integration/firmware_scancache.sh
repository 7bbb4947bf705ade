#!/usr/bin/env bash
# The library's scan cache (dir/.meta/.scan/NAME), through the real `idevicebench firmware`
# and the real bench: an unchanged file is not parsed again (its manifest is damaged behind
# the cache's back, with size and mtime put back, and the cached facts still show); a new
# mtime, a new size or a new inode makes it read again; an unusable file's reason is kept
# and recomputed when the file is fixed; corrupt, truncated, oversized or hostile records
# are ignored and rewritten; a library whose .meta cannot be written scans without a cache.
. "$IDB_TOP/tests/lib.sh"
. "$IDB_TOP/tests/fwlib.sh"

L="$T/lib"
mkdir -p "$L"
printf '[firmware]\ndir = %s\n' "$L" >"$T/c.conf"
mk_ipsw "$L/a.ipsw" iPhone10,6 0x8015 0x0e 16.7.10 20H350 --stored
mk_ipsw "$L/b.ipsw" iPhone9,1 0x8010 0x08 15.8.3 19H386 --stored
printf 'not a zip at all' >"$L/broken.ipsw"
# older than the 2 s in which a file may still change within its mtime tick
touch -d '-1 minute' "$L"/*.ipsw

# scan NAME FIELD: that entry's field in `idevicebench firmware --json` (scan on every call)
scan() {
	"$IDEVICEBENCH" -c "$T/c.conf" firmware --json >"$T/out.jsonl" 2>"$T/out.err" || return 1
	python3 - "$T/out.jsonl" "$1" "$2" <<'PY'
import json, sys
for l in open(sys.argv[1]):
    e = json.loads(l)
    if e["name"] == sys.argv[2]:
        v = e.get(sys.argv[3])
        print(json.dumps(v) if not isinstance(v, str) else v)
PY
}
rec() { cat "$L/.meta/.scan/$1" 2>/dev/null; }
# patch FILE FROM TO: same-length byte replacement in place (same inode, size), mtime kept
patch_keep() {
	touch -r "$1" "$T/ref"
	python3 - "$1" "$2" "$3" <<'PY'
import sys
p, a, b = sys.argv[1], sys.argv[2].encode(), sys.argv[3].encode()
with open(p, "r+b") as f:
    d = f.read()
    assert a in d and len(a) == len(b)
    f.seek(0)
    f.write(d.replace(a, b))
PY
	touch -r "$T/ref" "$1"
}

check "first scan: a.ipsw is 20H350 and usable" [ "$(scan a.ipsw build)" = 20H350 ] &&
	[ "$(scan a.ipsw usable)" = true ]
check "the scan left a record per file, keyed by the file's stat" \
	grep -q "^key f $(stat -c '%d %i %s' "$L/a.ipsw") " "$L/.meta/.scan/a.ipsw"
check "the record holds version, build, models and the (chip, board) pair" \
	bash -c "grep -qx 'version 16.7.10' '$L/.meta/.scan/a.ipsw' && grep -qx 'build 20H350' '$L/.meta/.scan/a.ipsw' &&
		grep -qx 'types iPhone10,6' '$L/.meta/.scan/a.ipsw' && grep -qx 'id 0x8015 0xe' '$L/.meta/.scan/a.ipsw'"
r=$(scan broken.ipsw reason)
check "a broken file is unusable with a reason" [ "$(scan broken.ipsw usable)" = false ] &&
	echo "$r" | grep -q 'not a readable IPSW'
check "its reason is cached" grep -q '^bad .*not a readable IPSW' "$L/.meta/.scan/broken.ipsw"

# the manifest inside a.ipsw now says 20X350 and fails its zip CRC: only a reparse would see it
patch_keep "$L/a.ipsw" 20H350 20X350
check "cache hit: same dev/inode/size/mtime, the damaged manifest is not parsed (20H350, usable)" \
	[ "$(scan a.ipsw build)" = 20H350 ] && [ "$(scan a.ipsw usable)" = true ]
check "cache hit: the unusable file's reason comes back the same" [ "$(scan broken.ipsw reason)" = "$r" ]

touch -d '-30 seconds' "$L/a.ipsw"
check "a new mtime: read again, the damage shows (unusable, corrupt zip entry)" \
	[ "$(scan a.ipsw usable)" = false ] && scan a.ipsw reason | grep -q 'corrupt zip entry'
check "the record now says why" grep -q '^bad .*corrupt zip entry' "$L/.meta/.scan/a.ipsw"

# same inode and mtime, another size: a file rewritten in place with other contents
mk_ipsw "$T/c.ipsw" iPhone10,6 0x8015 0x0e 16.7.11 20H360 --stored --os-bytes 9000
touch -r "$L/a.ipsw" "$T/ref"
cat "$T/c.ipsw" >"$L/a.ipsw"
touch -r "$T/ref" "$L/a.ipsw"
check "a new size (same inode, same mtime): read again (20H360, usable)" \
	[ "$(scan a.ipsw build)" = 20H360 ] && [ "$(scan a.ipsw usable)" = true ]

# same size and mtime, another inode: a file replaced by rename
mk_ipsw "$T/d.ipsw" iPhone10,6 0x8015 0x0e 16.7.12 20H370 --stored --os-bytes 9000
touch -r "$L/a.ipsw" "$T/d.ipsw"
if [ "$(stat -c %s "$T/d.ipsw")" = "$(stat -c %s "$L/a.ipsw")" ]; then
	mv "$T/d.ipsw" "$L/a.ipsw"
	check "a new inode (same size, same mtime): read again (20H370)" [ "$(scan a.ipsw build)" = 20H370 ]
else
	not_ok "mkipsw.py made two IPSWs of one layout with different sizes"
fi

# the broken file is fixed: a new size, read again, usable
mk_ipsw "$T/e.ipsw" iPhone9,1 0x8010 0x08 15.8.4 19H390
cat "$T/e.ipsw" >"$L/broken.ipsw"
touch -d '-1 minute' "$L/broken.ipsw"
check "a fixed file is read again: usable, 19H390" [ "$(scan broken.ipsw usable)" = true ] &&
	[ "$(scan broken.ipsw build)" = 19H390 ]
check "its record says ok now" grep -qx ok "$L/.meta/.scan/broken.ipsw"

# hostile records for b.ipsw: each is ignored (the true build shows) and rewritten
scan b.ipsw build >/dev/null
good=$(rec b.ipsw)
patch_keep "$L/b.ipsw" 19H386 19X386	# a reparse of a cache miss would show the damage
bad_record() { # DESCRIPTION: the record in $T/hostile replaces b.ipsw's
	rm -rf "$L/.meta/.scan/b.ipsw"
	cp -P "$T/hostile" "$L/.meta/.scan/b.ipsw" 2>/dev/null || cp -r "$T/hostile" "$L/.meta/.scan/b.ipsw"
	local u
	u=$(scan b.ipsw usable)
	if [ $? -eq 0 ] && [ "$u" = false ] && scan b.ipsw reason | grep -q 'corrupt zip entry'; then
		ok "$1: ignored, the file is read again (and its damage found)"
	else
		not_ok "$1: ignored, the file is read again (usable=$u)"
		sed 's/^/#   /' "$T/out.err"
	fi
}
head -c 3000 /dev/urandom >"$T/hostile"
bad_record "random bytes"
printf '%s' "$good" | head -c 120 >"$T/hostile"
bad_record "a truncated record (no end line)"
printf '%s\n' "$good" | sed 's/^end$//' >"$T/hostile"
bad_record "a record without its end line"
printf '%s\nextra line\n' "$good" | sed '/^end$/d' >"$T/hostile"
bad_record "an unknown line"
printf '%s\n' "$good" | sed 's/^version .*/version 15.8\x1b[2J/' >"$T/hostile"
bad_record "a version with an escape sequence"
printf '%s\n' "$good" | sed 's/^build .*/build 19H386AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA/' >"$T/hostile"
bad_record "a build too long for its field"
printf '%s\n' "$good" | sed 's/^types .*/types /; s/^ok$/ok\nok/' >"$T/hostile"
bad_record "a line twice"
{ printf '%s\n' "$good" | sed '/^end$/d'; for i in $(seq 1 70); do printf 'id 0x8010 0x%x\n' "$i"; done; echo end; } >"$T/hostile"
bad_record "more (chip, board) pairs than a build keeps"
printf '%s\n' "$good" | sed 's/^id .*/id 0x8010 0x1ffffffff/' >"$T/hostile"
bad_record "an id beyond 32 bits"
printf '%s\n' "$good" | sed 's/^ok$/bad because/' >"$T/hostile"
bad_record "ok and bad at once"
{ printf '%s\n' "$good"; head -c 20000 /dev/zero | tr '\0' 'x'; echo; } >"$T/hostile"
bad_record "an oversized record"
printf '%s\n' "$good" | sed 's/^key f [0-9]* [0-9]*/key f 1 2/' >"$T/hostile"
bad_record "another file's key"
ln -sf /etc/hostname "$T/hostile"
bad_record "a symbolic link"
rm -f "$T/hostile"
mkdir -p "$T/hostile"
bad_record "a directory in its place"
rm -rf "$T/hostile"
check "the last bad record was replaced by a good one" bash -c "grep -qx end '$L/.meta/.scan/b.ipsw'"

# records of files that are gone are removed
rm -f "$L/a.ipsw"
scan b.ipsw build >/dev/null
check "a removed file's record is removed" [ ! -e "$L/.meta/.scan/a.ipsw" ]

# a fresh file (mtime within 2 s) is read but not stored: it may still change in its mtime tick
mk_ipsw "$L/f.ipsw" iPhone10,6 0x8015 0x0e 16.7.13 20H380
check "a file written just now is listed" [ "$(scan f.ipsw build)" = 20H380 ]
check "... and not cached yet" [ ! -e "$L/.meta/.scan/f.ipsw" ]
touch -d '-1 minute' "$L/f.ipsw"
scan f.ipsw build >/dev/null
check "... and cached once it is older" [ -e "$L/.meta/.scan/f.ipsw" ]

# .meta/.scan (or .meta) a symbolic link elsewhere: records are never written or removed there
mkdir -p "$T/elsewhere"
echo precious >"$T/elsewhere/victim"
rm -rf "$L/.meta/.scan"
ln -s "$T/elsewhere" "$L/.meta/.scan"
check "with .meta/.scan a symbolic link, the scan still works (b.ipsw read: its damage shows)" \
	[ "$(scan b.ipsw usable)" = false ]
check "... and removes nothing where it points" [ "$(cat "$T/elsewhere/victim")" = precious ]
check "... and writes nothing there" [ "$(ls -A "$T/elsewhere")" = victim ]
rm -f "$L/.meta/.scan"
mv "$L/.meta" "$T/realmeta"
ln -s "$T/elsewhere" "$L/.meta"
mkdir -p "$T/elsewhere/.scan"
echo precious >"$T/elsewhere/.scan/victim"
scan b.ipsw build >/dev/null
check "with .meta a symbolic link: nothing removed or written through it" \
	[ "$(cat "$T/elsewhere/.scan/victim")" = precious ] && [ "$(ls -A "$T/elsewhere/.scan")" = victim ]
rm -f "$L/.meta"
mv "$T/realmeta" "$L/.meta"

# a library whose .meta cannot be written (a file where the folder would be)
L2="$T/lib2"
mkdir -p "$L2"
mk_ipsw "$L2/g.ipsw" iPhone10,6 0x8015 0x0e 16.7.14 20H390
touch -d '-1 minute' "$L2/g.ipsw"
printf 'not a folder' >"$L2/.meta"
printf '[firmware]\ndir = %s\n' "$L2" >"$T/c.conf"
check "a .meta that cannot hold the cache: the scan still works" [ "$(scan g.ipsw build)" = 20H390 ]
check "... and says nothing on stderr" [ ! -s "$T/out.err" ]
rm -f "$L2/.meta"
# a read-only library (a read-only bind mount, where the system allows it)
if unshare -m true 2>/dev/null; then
	out=$(unshare -m sh -c 'mount --bind -o ro "$1" "$1" && "$2" -c "$3" firmware --json' sh "$L2" \
		"$IDEVICEBENCH" "$T/c.conf" 2>&1)
	check "a read-only library scans (20H390)" grep -q '"build":"20H390"' <<<"$out"
	check "... and no cache was written" [ ! -e "$L2/.meta/.scan/g.ipsw" ]
else
	ok "# SKIP a read-only library: no mount namespace here"
	ok "# SKIP ... and no cache was written"
fi
scan g.ipsw build >/dev/null
check "the same library, writable again, gets its cache" [ -e "$L2/.meta/.scan/g.ipsw" ]

# the bench uses the same cache: its first scan reads no manifest that the CLI has read
[ -x "$BENCHSIM" ] || { done_testing; }
printf '[firmware]\ndir = %s\n' "$L" >"$T/c.conf"
scan b.ipsw build >/dev/null
printf 'hub 1-1 ports 1\ndialect master\n' >"$T/b.scenario"
bench_start "$T/b.scenario" -c "$T/c.conf"
for _ in $(seq 1 100); do
	grep -q 'firmware scan of' "$T/bench.err" && break
	sleep 0.1
done
bench_stop
n=$(ls "$L"/*.ipsw | wc -l)
check "the bench's first scan: $n entries, 0 manifests read, $n from the scan cache" \
	grep -q "firmware scan of $L: $n entries, 0 manifests read, $n from the scan cache" "$T/bench.err"
grep 'firmware scan' "$T/bench.err" | sed 's/^/# /'
done_testing
