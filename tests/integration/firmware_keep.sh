#!/usr/bin/env bash
# The disk budget and a full disk. keep: a bench whose downloads would exceed it evicts
# the least recently used downloaded IPSW, never a pinned one, never a file it did not
# download. Each downloaded IPSW's extraction cache (cache_dir/<name>/, outside the
# library) counts too and goes with its IPSW; an IPSW a restore uses keeps its cache; a
# cache the bench made for a file deleted by hand goes. A full disk (a tmpfs in a private
# mount namespace) fails the download with a clear message and leaves the library as it was.
. "$IDB_TOP/tests/lib.sh"
. "$IDB_TOP/tests/fwlib.sh"
[ -x "$BENCHSIM" ] || skip_all "benchsim not built"

W="$T/www"
L="$T/lib"
mkdir -p "$W/fw" "$L/.meta"
mk_ipsw "$W/fw/iPhone10,6_16.7.10_20H350_Restore.ipsw" iPhone10,6 0x8015 0x0e 16.7.10 20H350 --os-bytes 300000
nginx_start "$W" || { not_ok "nginx started"; done_testing; }
python3 "$MKINDEX" "$W" "http://127.0.0.1:$NGINX_PORT" iPhone10,6 0x8015 0x0e \
	fw/iPhone10,6_16.7.10_20H350_Restore.ipsw:16.7.10:20H350:1

# mk_download DIR NAME MODEL CPID BDID VERSION BUILD: a 300 kB IPSW the bench downloaded
mk_download() {
	mk_ipsw "$1/$2.ipsw" "$3" "$4" "$5" "$6" "$7" --os-bytes 300000
	printf 'sha1 %s\ndownloaded 1\n' "$(sha1sum <"$1/$2.ipsw" | cut -c1-40)" >"$1/.meta/$2.ipsw"
}
# three earlier downloads (300 kB each) and one file put there by hand
mk_download "$L" old iPhone9,1 0x8010 0x08 15.8.2 19H384
mk_download "$L" mid iPhone9,3 0x8010 0x0c 15.8.3 19H386
mk_download "$L" pinned iPhone10,1 0x8015 0x02 16.7.9 20H343
mk_ipsw "$L/byhand.ipsw" iPhone12,1 0x8030 0x04 17.0 21A329 --os-bytes 300000
touch -d '3 days ago' "$L/.meta/old.ipsw" "$L/byhand.ipsw"
touch -d '2 days ago' "$L/.meta/pinned.ipsw"
touch -d '1 day ago' "$L/.meta/mid.ipsw"

cat >"$T/bench.conf" <<CONF
[firmware]
dir = $L
download = yes
index = http://127.0.0.1:$NGINX_PORT
keep = 700K
[pin]
iPhone10,1 = 16.7.9
CONF
cat >"$T/k.scenario" <<'SCEN'
hub 1-1 ports 2
dialect 1.0.0
plug 1-1.1 recovery ecid 0xe10001 cpid 0x8015 bdid 0x0e
restore 0xe10001 ok 1
SCEN
bench_start "$T/k.scenario" -c "$T/bench.conf"
check "the download for the new phone completes" wait_event 30 event=firmware model=iPhone10,6 state=ready
sleep 1
check "the least recently used download was evicted" [ ! -e "$L/old.ipsw" ]
check "the pinned download stays although older than the next" [ -e "$L/pinned.ipsw" ]
check "the next least recently used went to make room (3 x 300 kB > 700K)" [ ! -e "$L/mid.ipsw" ]
check "a file not downloaded by the bench is never evicted" [ -e "$L/byhand.ipsw" ]
check "the new file is there" [ -e "$L/iPhone10,6_16.7.10_20H350_Restore.ipsw" ]
bench_send "update 1-1.1"
check "and the phone restores with it" wait_event 20 event=job slot=1-1.1 state=done 'firmware=16.7.10 (20H350)'
# its filesystem (300 kB) does not fit in keep beside the pinned file: the restore runs anyway
check "an extraction beyond keep is skipped with a clear message" wait_event 5 event=error \
	'text=~20H350_Restore.ipsw once for all restores: its 0.3 MB would exceed keep = 0.7 MB by 0.' \
	'text=~nothing can be evicted; each restore extracts it itself'
check "and nothing was extracted for it" [ ! -e "$XDG_CACHE_HOME/idevicebench/iPhone10,6_16.7.10_20H350_Restore" ]
bench_stop

# ---- extraction caches count against keep ----
# Two downloads with their caches (300 kB each, as the pre-extraction leaves them):
# "busy" is the least recently used but a restore is using it; "idle" is not. The
# files alone (2 x 305 kB + the new 305 kB = 914 kB) fit in keep = 1250K, with the
# caches (1.52 MB) they do not: "idle" and its cache must go, "busy" and its cache stay.
# Then the new IPSW's own extraction (300 kB) fits and runs: 1.21 MB.
C="$XDG_CACHE_HOME/idevicebench"
L2="$T/lib2"
rm -rf "$L2" "$C"
mkdir -p "$L2/.meta" "$C"
mk_download "$L2" busy iPhone9,3 0x8010 0x0c 15.8.3 19H386
mk_download "$L2" idle iPhone9,1 0x8010 0x08 15.8.2 19H384
for n in busy idle; do
	mkdir -p "$C/$n"
	head -c 300000 /dev/zero >"$C/$n/038-00002-001.dmg"	# what ipsw_cached() accepts
done
touch -d '3 days ago' "$L2/.meta/busy.ipsw"
touch -d '2 days ago' "$L2/.meta/idle.ipsw"
# a cache the bench made for a library file since deleted by hand, and two that are not its to delete
mkdir -p "$C/gone" "$C/stranger" "$C/elsewhere"
head -c 50000 /dev/zero >"$C/gone/038-00002-001.dmg"
printf 'ipsw %s/gone.ipsw\n' "$L2" >"$C/gone/.idevicebench-ipsw"
echo mine >"$C/stranger/notes.txt"
head -c 1000 /dev/zero >"$C/elsewhere/038-00002-001.dmg"
printf 'ipsw %s/elsewhere.ipsw\n' "$T" >"$C/elsewhere/.idevicebench-ipsw"

cat >"$T/cache.conf" <<CONF
[firmware]
dir = $L2
download = yes
index = http://127.0.0.1:$NGINX_PORT
keep = 1250K
CONF
cat >"$T/c.scenario" <<'SCEN'
hub 1-1 ports 2
dialect 1.0.0
plug 1-1.2 recovery ecid 0xe10002 cpid 0x8010 bdid 0x0c
restore 0xe10002 ok 30
restore 0xe10003 ok 1
SCEN
: >"$T/logs/idevicebench.log"
bench_start "$T/c.scenario" -c "$T/cache.conf"
bench_send "update 1-1.2"
check "a restore uses the least recently used download" wait_event 20 event=job slot=1-1.2 state=running
check "the cache of a deleted library file is removed" [ ! -e "$C/gone" ]
check "a folder the bench did not make stays" [ -e "$C/stranger/notes.txt" ]
check "a cache of a file outside the library stays" [ -e "$C/elsewhere/038-00002-001.dmg" ]
for i in $(seq 1 50); do
	sim_ctl "plug 1-1.1 recovery ecid 0xe10003 cpid 0x8015 bdid 0x0e" >/dev/null 2>&1 && break
	sleep 0.1
done
check "the new phone's firmware downloads" wait_event 30 event=firmware model=iPhone10,6 state=ready
sleep 1
check "the caches push the total over keep: the least recently used idle download goes" \
	[ ! -e "$L2/idle.ipsw" ]
check "with its extraction cache" [ ! -e "$C/idle" ]
check "and its .meta entry" [ ! -e "$L2/.meta/idle.ipsw" ]
check "the download a restore uses stays although least recently used" [ -e "$L2/busy.ipsw" ]
check "and so does its cache" [ -s "$C/busy/038-00002-001.dmg" ]
check "the log says what went" grep -q "idle.ipsw evicted with its extraction cache" "$T/logs/idevicebench.log"
bench_send "update 1-1.1"
check "the new phone restores" wait_event 30 event=job slot=1-1.1 state=done 'firmware=16.7.10 (20H350)'
N="$C/iPhone10,6_16.7.10_20H350_Restore"
check "its filesystem was extracted once, within keep" [ -s "$N/038-00002-001.dmg" ]
check "and marked as the cache of its IPSW" grep -qx "ipsw $L2/iPhone10,6_16.7.10_20H350_Restore.ipsw" \
	"$N/.idevicebench-ipsw"
check "no extraction was refused" bash -c "! grep -q 'not extracting' '$T/events.jsonl'"
check "the first restore finishes" wait_event 40 event=job slot=1-1.2 state=done
bench_stop
"$IDEVICEBENCH" -c "$T/cache.conf" firmware --json >"$T/lib2.json" 2>"$T/lib2.err"
check "firmware --json gives each IPSW's cache size" python3 - "$T/lib2.json" <<'PY'
import json, sys
e = {o["name"]: o for o in map(json.loads, open(sys.argv[1]))}
assert set(e) == {"busy.ipsw", "iPhone10,6_16.7.10_20H350_Restore.ipsw"}, e.keys()
for n in e:
    assert 300000 <= e[n]["cache"] < 400000, (n, e[n]["cache"])
PY
"$IDEVICEBENCH" -c "$T/cache.conf" firmware >"$T/lib2.txt" 2>&1
check "the table's keep line counts the caches" grep -Eq '^keep: 1\.[12]M of 1\.2M used by downloads, 5[89][0-9]\.[0-9]K of it their extraction caches' "$T/lib2.txt"

# ---- firmware fetch keeps the same budget ----
# Three downloads of 305 kB, keep = 700K, one more to fetch: two must go. The least
# recently used goes; the next one is held by a restore (the shared flock a bench takes
# while a restore reads the file) and stays; so the third goes. Then with keep = 400K
# nothing can make room: the fetch fails with the reason and deletes nothing.
L3="$T/lib3"
mkdir -p "$L3/.meta"
mk_download "$L3" a iPhone9,1 0x8010 0x08 15.8.2 19H384
mk_download "$L3" b iPhone9,3 0x8010 0x0c 15.8.3 19H386
mk_download "$L3" c iPhone10,1 0x8015 0x02 16.7.9 20H343
touch -d '3 days ago' "$L3/.meta/a.ipsw"
touch -d '2 days ago' "$L3/.meta/b.ipsw"
touch -d '1 day ago' "$L3/.meta/c.ipsw"
printf '[firmware]\ndir = %s\nindex = http://127.0.0.1:%s\nkeep = 700K\n' "$L3" "$NGINX_PORT" >"$T/cli.conf"
flock -s "$L3/b.ipsw" sleep 60 &
HOLD=$!
sleep 0.2
"$IDEVICEBENCH" -c "$T/cli.conf" firmware fetch iPhone10,6 >"$T/cli.out" 2>&1
echo "rc $?" >>"$T/cli.out"
check "fetch within keep: it succeeds" grep -qx "rc 0" "$T/cli.out"
check "fetch within keep: the new file is there" [ -s "$L3/iPhone10,6_16.7.10_20H350_Restore.ipsw" ]
check "fetch within keep: the least recently used download went" [ ! -e "$L3/a.ipsw" ]
check "fetch within keep: the one a restore holds stays" [ -e "$L3/b.ipsw" ]
check "fetch within keep: so the next one went" [ ! -e "$L3/c.ipsw" ]
check "fetch within keep: with its .meta entry" [ ! -e "$L3/.meta/c.ipsw" ]
# the same build again: the library has it, so nothing is evicted for it and nothing downloaded
g0=$(grep -c 'GET /fw/iPhone10,6_16.7.10_20H350_Restore.ipsw ' "$T/nginx/access.log")
"$IDEVICEBENCH" -c "$T/cli.conf" firmware fetch iPhone10,6 >"$T/cli1.out" 2>&1
echo "rc $?" >>"$T/cli1.out"
check "fetch of a build the library has: ready, nothing evicted, nothing downloaded" bash -c "
	grep -qx 'rc 0' '$T/cli1.out' && [ -e '$L3/iPhone10,6_16.7.10_20H350_Restore.ipsw' ] &&
	[ -e '$L3/b.ipsw' ] && [ \$(grep -c 'GET /fw/iPhone10,6_16.7.10_20H350_Restore.ipsw ' '$T/nginx/access.log') = $g0 ]"
sed -i 's/^keep = 700K/keep = 400K/' "$T/cli.conf"
rm -f "$L3/iPhone10,6_16.7.10_20H350_Restore.ipsw" "$L3/.meta/iPhone10,6_16.7.10_20H350_Restore.ipsw"
mk_download "$L3" d iPhone10,1 0x8015 0x02 16.7.9 20H343
"$IDEVICEBENCH" -c "$T/cli.conf" firmware fetch iPhone10,6 >"$T/cli2.out" 2>&1
echo "rc $?" >>"$T/cli2.out"
check "fetch beyond keep: it fails" grep -qx "rc 1" "$T/cli2.out"
check "fetch beyond keep: the message says why" grep -q "16.7.10 (20H350) would exceed keep = 0.4 MB and nothing can be evicted" "$T/cli2.out"
check "fetch beyond keep: no file is lost for a download that cannot fit" \
	bash -c "[ -e '$L3/b.ipsw' ] && [ -e '$L3/d.ipsw' ] && [ ! -e '$L3/iPhone10,6_16.7.10_20H350_Restore.ipsw' ]"
kill "$HOLD" 2>/dev/null
wait "$HOLD" 2>/dev/null

# a full disk: a 1 MB tmpfs as the library, a 3 MB IPSW
if unshare -m true 2>/dev/null; then
	mk_ipsw "$W/fw/iPhone10,6_16.7.10_20H350_Restore.ipsw" iPhone10,6 0x8015 0x0e 16.7.10 20H350 --os-bytes 3000000
	python3 "$MKINDEX" "$W" "http://127.0.0.1:$NGINX_PORT" iPhone10,6 0x8015 0x0e \
		fw/iPhone10,6_16.7.10_20H350_Restore.ipsw:16.7.10:20H350:1
	mkdir -p "$T/small"
	printf '[firmware]\ndir = %s/small/lib\nindex = http://127.0.0.1:%s\n' "$T" "$NGINX_PORT" >"$T/full.conf"
	unshare -m bash -c "mount -t tmpfs -o size=1m tmpfs '$T/small' || exit 99
		mkdir '$T/small/lib'; echo keep >'$T/small/lib/other.ipsw'
		'$IDEVICEBENCH' -c '$T/full.conf' firmware fetch iPhone10,6 >'$T/full.out' 2>&1
		echo \"rc \$?\" >>'$T/full.out'
		find '$T/small/lib' -type f | sort >'$T/full.files'"
	if grep -q '^rc 99' "$T/full.out" 2>/dev/null || [ ! -s "$T/full.out" ]; then
		ok "# SKIP cannot mount a tmpfs here"
	else
		check "disk full: the fetch fails" grep -qx "rc 1" "$T/full.out"
		check "disk full: the message says so" grep -q "disk full" "$T/full.out"
		check "disk full: the library keeps its file, no partial left" \
			bash -c "[ \"\$(cat '$T/full.files')\" = '$T/small/lib/other.ipsw' ]"
	fi
fi
done_testing
