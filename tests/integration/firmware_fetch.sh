#!/usr/bin/env bash
# idevicebench firmware fetch / verify against real servers on loopback: Debian's nginx
# (static index, Range, HEAD) for the normal path, and tests/fwfault.py for every fault
# of the index and of the transfer. A file enters the library only when its size and
# checksums match; nothing hostile reaches the output or a path.
. "$IDB_TOP/tests/lib.sh"
. "$IDB_TOP/tests/fwlib.sh"
command -v curl >/dev/null || skip_all "curl not installed"

W="$T/www"
F="$T/files"
mkdir -p "$W/fw" "$F"
mk_ipsw "$W/fw/iPhone10,6_16.7.10_20H350_Restore.ipsw" iPhone10,6 0x8015 0x0e 16.7.10 20H350 --os-bytes 3000000
mk_ipsw "$W/fw/iPhone10,6_16.7.9_20H343_Restore.ipsw" iPhone10,6 0x8015 0x0e 16.7.9 20H343
mk_ipsw "$W/fw/iPhone10,6_17.0_21A329_Restore.ipsw" iPhone10,6 0x8015 0x0e 17.0 21A329
cp "$W"/fw/iPhone10,6_16.7.10_20H350_Restore.ipsw "$W"/fw/iPhone10,6_16.7.9_20H343_Restore.ipsw "$F/"
nginx_start "$W" || { not_ok "nginx started"; done_testing; }
python3 "$MKINDEX" "$W" "http://127.0.0.1:$NGINX_PORT" iPhone10,6 0x8015 0x0e \
	fw/iPhone10,6_17.0_21A329_Restore.ipsw:17.0:21A329:0 \
	fw/iPhone10,6_16.7.10_20H350_Restore.ipsw:16.7.10:20H350:1 \
	fw/iPhone10,6_16.7.9_20H343_Restore.ipsw:16.7.9:20H343:1
fault_start "$F" || { not_ok "fault server started"; done_testing; }

conf() { # conf NAME INDEX-URL: a config with its own library $T/lib-NAME
	cat >"$T/$1.conf" <<CONF
[firmware]
dir = $T/lib-$1
index = $2
CONF
}
fetch() { # fetch NAME [ARGS...]: JSON events in $T/NAME.out, stderr in $T/NAME.err, status in $T/NAME.rc
	local n=$1
	shift
	IDB_FW_STALL=${STALL:-10} timeout 60 "$IDEVICEBENCH" -c "$T/$n.conf" firmware fetch --json "$@" \
		>"$T/$n.out" 2>"$T/$n.err"
	echo $? >"$T/$n.rc"
}
rc() { cat "$T/$1.rc"; }
last_state() { tail -1 "$T/$1.out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])' 2>/dev/null; }
lib_files() { find "$T/lib-$1" -maxdepth 1 -type f -name '*.ipsw' 2>/dev/null | wc -l; }

# ---- nginx: the normal path ----
conf ng "http://127.0.0.1:$NGINX_PORT"
fetch ng iPhone10,6
check "fetch from nginx exits 0" [ "$(rc ng)" = 0 ]
check "newest SIGNED build chosen (17.0 is unsigned): 16.7.10" \
	grep -q '"build":"20H350","state":"ready"' "$T/ng.out"
check "events go queued -> downloading -> verifying -> ready" python3 - "$T/ng.out" <<'PY'
import json, sys
st = [json.loads(l)["state"] for l in open(sys.argv[1])]
seen = [s for i, s in enumerate(st) if i == 0 or st[i - 1] != s]
assert seen == ["queued", "downloading", "verifying", "ready"], seen
ev = [json.loads(l) for l in open(sys.argv[1])]
assert all(e["event"] == "firmware" and e["model"] == "iPhone10,6" and "time" in e for e in ev)
assert ev[-1]["bytes"] == ev[-1]["total"] and ev[-1]["percent"] == 100
PY
check "the file is in the library, identical to the served one" \
	cmp -s "$T/lib-ng/iPhone10,6_16.7.10_20H350_Restore.ipsw" "$W/fw/iPhone10,6_16.7.10_20H350_Restore.ipsw"
check "nothing left in .partial" [ -z "$(ls -A "$T/lib-ng/.partial")" ]
fetch ng iPhone10,6 20H343
check "fetch by build" bash -c "[ $(rc ng) = 0 ] && [ -f '$T/lib-ng/iPhone10,6_16.7.9_20H343_Restore.ipsw' ]"
# the same build again: already in the library, whole and recorded: ready, nothing downloaded
gets() { grep -c "GET /fw/$1 " "$T/nginx/access.log"; }
g0=$(gets iPhone10,6_16.7.10_20H350_Restore.ipsw)
fetch ng iPhone10,6
check "a fetch of a build the library has: ready at once, nothing downloaded" bash -c "[ $(rc ng) = 0 ] && \
	grep -q '\"state\":\"ready\"' '$T/ng.out' && [ $(gets iPhone10,6_16.7.10_20H350_Restore.ipsw) = $g0 ]"
"$IDEVICEBENCH" -c "$T/ng.conf" firmware verify >"$T/verify.out"; vrc=$?
check "verify: both files ok against the index" bash -c "[ $vrc = 0 ] && [ \$(grep -c '^ok ' '$T/verify.out') = 2 ]"
"$IDEVICEBENCH" -c "$T/ng.conf" firmware --json >"$T/ng.list"
check "firmware --json: downloaded files carry their verified SHA1" python3 - "$T/ng.list" "$W/fw/iPhone10,6_16.7.10_20H350_Restore.ipsw" <<'PY'
import hashlib, json, sys
want = hashlib.sha1(open(sys.argv[2], "rb").read()).hexdigest()
e = [json.loads(l) for l in open(sys.argv[1])]
x = [j for j in e if j["build"] == "20H350"][0]
assert x["sha1"] == want and x["checksum"] == "verified" and x["downloaded"], x
PY
# a byte changed inside the root filesystem image: the manifest still reads, the checksum not
printf 'X' | dd of="$T/lib-ng/iPhone10,6_16.7.10_20H350_Restore.ipsw" bs=1 seek=1500000 conv=notrunc 2>/dev/null
"$IDEVICEBENCH" -c "$T/ng.conf" firmware verify "$T/lib-ng/iPhone10,6_16.7.10_20H350_Restore.ipsw" >"$T/verify2.out"; vrc=$?
check "verify: a changed byte is a MISMATCH, exit 1" bash -c "[ $vrc = 1 ] && grep -q '^MISMATCH' '$T/verify2.out'"
"$IDEVICEBENCH" -c "$T/ng.conf" firmware >"$T/ng.table"
check "the mismatching file is listed unusable from then on" \
	grep -q 'iPhone10,6_16.7.10_20H350_Restore.ipsw: unusable: failed verification' "$T/ng.table"
# a file marked bad is fetched again, whole
fetch ng iPhone10,6
check "a build whose file failed verification is downloaded again" bash -c "[ $(rc ng) = 0 ] && \
	[ $(gets iPhone10,6_16.7.10_20H350_Restore.ipsw) -gt $g0 ] && \
	cmp -s '$T/lib-ng/iPhone10,6_16.7.10_20H350_Restore.ipsw' '$W/fw/iPhone10,6_16.7.10_20H350_Restore.ipsw'"
fetch ng iPhone10,6 15.0
check "a version the index lacks: exit 1, said" bash -c "[ $(rc ng) = 1 ] && grep -q 'no 15.0 firmware' '$T/ng.err'"
fetch ng 'iPhone10,6/../x'
check "a model with / or .. is refused before any request (exit 2)" [ "$(rc ng)" = 2 ]

# ---- faults ----
FB="http://127.0.0.1:$FAULT_PORT"
for m in 404 500 loop badjson huge wrongid unsigned; do
	conf "$m" "$FB/$m"
	fetch "$m" iPhone10,6
done
check "index 404: exit 1, HTTP error said" bash -c "[ $(rc 404) = 1 ] && grep -q '404' '$T/404.err'"
check "index 500: exit 1" bash -c "[ $(rc 500) = 1 ] && grep -q '500' '$T/500.err'"
check "redirect loop: cut, exit 1" bash -c "[ $(rc loop) = 1 ] && grep -qi 'redirect' '$T/loop.err'"
check "redirect loop: at most 6 requests" [ "$(grep -c '^GET /loop' "$T/fault.log")" -le 6 ]
check "malformed JSON: rejected" bash -c "[ $(rc badjson) = 1 ] && grep -q 'not JSON' '$T/badjson.err'"
check "huge JSON: rejected" bash -c "[ $(rc huge) = 1 ] && grep -qi 'larger than' '$T/huge.err'"
check "answer for another identifier: rejected" \
	bash -c "[ $(rc wrongid) = 1 ] && grep -q 'answered for iPhone99,9, not iPhone10,6' '$T/wrongid.err'"
check "nothing signed: nothing fetched" bash -c "[ $(rc unsigned) = 1 ] && [ $(lib_files unsigned) = 0 ]"

conf types "$FB/types"
fetch types iPhone10,6
check "hostile and mistyped entries skipped; the good one fetched" \
	bash -c "[ $(rc types) = 0 ] && grep -q '\"version\":\"16.7.10\",\"build\":\"20H350\",\"state\":\"ready\"' '$T/types.out'"
check "no control character in the output" bash -c "! grep -qP '[\x00-\x1f\x7f]' '$T/types.out' '$T/types.err'"
check "no entry with a file: URL or a path was requested" bash -c "! grep -q 'etc' '$T/fault.log'"

conf redir "$FB/redir"
fetch redir iPhone10,6 16.7.9
check "index redirect followed" [ "$(rc redir)" = 0 ]

conf badsha "$FB/badsha"
fetch badsha iPhone10,6
check "SHA1 mismatch: exit 1, said" bash -c "[ $(rc badsha) = 1 ] && grep -q 'SHA1 mismatch' '$T/badsha.out'"
check "SHA1 mismatch: the file is deleted, not in the library" \
	bash -c "[ $(lib_files badsha) = 0 ] && [ -z \"\$(ls -A '$T/lib-badsha/.partial')\" ]"

# the right SHA1 and a wrong SHA256: SHA256 (taken on its own thread) is checked too
conf badsha256 "$FB/badsha256"
fetch badsha256 iPhone10,6
check "SHA256 mismatch: exit 1, said, file deleted" bash -c "[ $(rc badsha256) = 1 ] && \
	grep -q 'SHA256 mismatch' '$T/badsha256.out' && [ $(lib_files badsha256) = 0 ]"
# both digests on the worker (no helper thread): same file, same verdicts
conf one "$FB/ok"
IDB_FWDL_ONE_HASHER=1 fetch one iPhone10,6
check "one hashing thread: verified, identical" bash -c "[ $(rc one) = 0 ] && \
	cmp -s '$T/lib-one/iPhone10,6_16.7.10_20H350_Restore.ipsw' '$F/iPhone10,6_16.7.10_20H350_Restore.ipsw'"
conf one256 "$FB/badsha256"
IDB_FWDL_ONE_HASHER=1 fetch one256 iPhone10,6
check "one hashing thread: SHA256 mismatch found" bash -c "[ $(rc one256) = 1 ] && grep -q 'SHA256 mismatch' '$T/one256.out'"

conf cut "$FB/cut"
fetch cut iPhone10,6
check "transfer cut mid-way: resumed and verified" [ "$(rc cut)" = 0 ]
check "the second request asked for the rest with Range" \
	grep -qE '^GET /cut/f/iPhone10,6_16.7.10_20H350_Restore.ipsw range=bytes=[1-9][0-9]*-' "$T/fault.log"
check "the resumed file is intact" \
	cmp -s "$T/lib-cut/iPhone10,6_16.7.10_20H350_Restore.ipsw" "$F/iPhone10,6_16.7.10_20H350_Restore.ipsw"

# a restart finds half a file in .partial; this server ignores Range: start again from zero
conf norange "$FB/norange"
mkdir -p "$T/lib-norange/.partial"
head -c 1000000 "$F/iPhone10,6_16.7.10_20H350_Restore.ipsw" >"$T/lib-norange/.partial/iPhone10,6_16.7.10_20H350_Restore.ipsw"
fetch norange iPhone10,6
check "server ignoring Range: restarted from zero, verified" bash -c "[ $(rc norange) = 0 ] && \
	cmp -s '$T/lib-norange/iPhone10,6_16.7.10_20H350_Restore.ipsw' '$F/iPhone10,6_16.7.10_20H350_Restore.ipsw'"
check "it did ask for a Range first" grep -q '^GET /norange/f/.* range=bytes=1000000-' "$T/fault.log"

# a 206 from byte 0 (the whole file) to a Range request: taken as the whole file
conf zerorange "$FB/zerorange"
mkdir -p "$T/lib-zerorange/.partial"
head -c 1000000 "$F/iPhone10,6_16.7.10_20H350_Restore.ipsw" >"$T/lib-zerorange/.partial/iPhone10,6_16.7.10_20H350_Restore.ipsw"
fetch zerorange iPhone10,6
check "206 from byte 0 to a Range request: the whole file, verified" bash -c "[ $(rc zerorange) = 0 ] && \
	cmp -s '$T/lib-zerorange/iPhone10,6_16.7.10_20H350_Restore.ipsw' '$F/iPhone10,6_16.7.10_20H350_Restore.ipsw'"
# a 206 that starts elsewhere than asked (a broken cache): never appended; asked again, whole
conf offrange "$FB/offrange"
mkdir -p "$T/lib-offrange/.partial"
head -c 1000000 "$F/iPhone10,6_16.7.10_20H350_Restore.ipsw" >"$T/lib-offrange/.partial/iPhone10,6_16.7.10_20H350_Restore.ipsw"
fetch offrange iPhone10,6
check "206 from elsewhere than asked: not appended, fetched whole, verified" bash -c "[ $(rc offrange) = 0 ] && \
	cmp -s '$T/lib-offrange/iPhone10,6_16.7.10_20H350_Restore.ipsw' '$F/iPhone10,6_16.7.10_20H350_Restore.ipsw'"
check "it asked for the rest, then for the whole file without Range" bash -c "
	grep '^GET /offrange/f/' '$T/fault.log' | head -2 | tr '\n' '|' |
	grep -qE '^GET /offrange/f/[^ ]+ range=bytes=1000000-\|GET /offrange/f/[^ ]+ range=\|\$'"

# a restart resumes from .partial against nginx (real Range)
conf ngr "http://127.0.0.1:$NGINX_PORT"
mkdir -p "$T/lib-ngr/.partial"
head -c 1500000 "$W/fw/iPhone10,6_16.7.10_20H350_Restore.ipsw" >"$T/lib-ngr/.partial/iPhone10,6_16.7.10_20H350_Restore.ipsw"
fetch ngr iPhone10,6
check "restart: resumed from .partial with nginx's Range, verified" bash -c "[ $(rc ngr) = 0 ] && \
	cmp -s '$T/lib-ngr/iPhone10,6_16.7.10_20H350_Restore.ipsw' '$W/fw/iPhone10,6_16.7.10_20H350_Restore.ipsw'"
check "nginx served a 206" grep -q '" 206 ' "$T/nginx/access.log"

# back-pressure: one buffer between the loop and the hashing worker, so the transfer pauses
# at every 512 kB until the worker has written and hashed it; a restart rehashes .partial on
# the worker first. The file must still arrive intact and verified.
conf bp "http://127.0.0.1:$NGINX_PORT"
mkdir -p "$T/lib-bp/.partial"
head -c 700000 "$W/fw/iPhone10,6_16.7.10_20H350_Restore.ipsw" >"$T/lib-bp/.partial/iPhone10,6_16.7.10_20H350_Restore.ipsw"
IDB_FWDL_BUFS=1 fetch bp iPhone10,6
check "one buffer in flight: resumed, verified, identical" bash -c "[ $(rc bp) = 0 ] && \
	cmp -s '$T/lib-bp/iPhone10,6_16.7.10_20H350_Restore.ipsw' '$W/fw/iPhone10,6_16.7.10_20H350_Restore.ipsw'"
check "one buffer in flight: events reach ready with every byte" python3 - "$T/bp.out" <<'PY2'
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
assert ev[-1]["state"] == "ready" and ev[-1]["bytes"] == ev[-1]["total"], ev[-1]
PY2
head -c 33554432 /dev/urandom >"$W/fw/big.ipsw"
python3 "$MKINDEX" "$W" "http://127.0.0.1:$NGINX_PORT" iPhone10,5 0x8015 0x0c fw/big.ipsw:16.7.10:20H350:1
conf bp2 "http://127.0.0.1:$NGINX_PORT"
IDB_FWDL_BUFS=1 timeout 60 "$IDEVICEBENCH" -c "$T/bp2.conf" \
	firmware fetch --json iPhone10,5 >"$T/bp2.out" 2>"$T/bp2.err"
echo $? >"$T/bp2.rc"
check "32 MiB with one buffer in flight: verified, identical" bash -c "[ $(rc bp2) = 0 ] && \
	cmp -s '$T/lib-bp2/big.ipsw' '$W/fw/big.ipsw'"

conf stall "$FB/stall"
start=$(date +%s)
STALL=1 fetch stall iPhone10,6
took=$(( $(date +%s) - start ))
check "a stalled server: the download fails (exit 1) in bounded time (${took}s)" \
	bash -c "[ $(rc stall) = 1 ] && [ $took -lt 30 ]"

conf dead "http://127.0.0.1:$(free_port)"
fetch dead iPhone10,6
check "index unreachable: exit 1, said" bash -c "[ $(rc dead) = 1 ] && grep -qi 'index' '$T/dead.err'"
done_testing
