#!/usr/bin/env bash
# The disk budget and a full disk. keep: a bench whose downloads would exceed it evicts
# the least recently used downloaded IPSW, never a pinned one, never a file it did not
# download. A full disk (a tmpfs in a private mount namespace) fails the download with a
# clear message and leaves the library as it was.
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

# three earlier downloads (300 kB each) and one file put there by hand
for spec in "old iPhone9,1 0x8010 0x08 15.8.2 19H384" "mid iPhone9,3 0x8010 0x0c 15.8.3 19H386" \
	"pinned iPhone10,1 0x8015 0x02 16.7.9 20H343"; do
	set -- $spec
	mk_ipsw "$L/$1.ipsw" "$2" "$3" "$4" "$5" "$6" --os-bytes 300000
	printf 'sha1 %s\ndownloaded 1\n' "$(sha1sum <"$L/$1.ipsw" | cut -c1-40)" >"$L/.meta/$1.ipsw"
done
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
bench_stop

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
