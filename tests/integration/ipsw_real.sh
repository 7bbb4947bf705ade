#!/usr/bin/env bash
# One-time pre-extraction (src/ipsw_prep.c) proven against the REAL Debian idevicerestore 1.0.0:
# after ipsw_prepare, `idevicerestore -C CACHE` run under benchsim against an emulated
# iPhone 7 in recovery mode (no network) says "Using cached filesystem" instead of
# extracting again; without the preparation it extracts (the control run), and a cache
# it filled itself is recognised by ipsw_cached(). Each run fails later at signing, as
# expected without network; the filesystem step comes before that.
. "$IDB_TOP/tests/lib.sh"
command -v idevicerestore >/dev/null || skip_all "idevicerestore not installed"
[ -x "$BENCHSIM" ] || skip_all "benchsim not built"
PREP="$IDB_BUILD/tests/ipsw/ipswprep"
[ -x "$PREP" ] || skip_all "ipswprep not built"

NAME="iPhone9,1_15.8.3_19H386_Restore"
IPSW="$T/$NAME.ipsw"
python3 "$IDB_TOP/tests/data/mkipsw.py" "$IPSW" --product iPhone9,1 --cpid 0x8010 --bdid 0x08 --board d10ap
cat >"$T/real.scenario" <<'SC'
hub 1-2 ports 4
plug 1-2.3 recovery ecid 0x1a2b3c4d5e6f70 cpid 0x8010 bdid 0x08
SC
NONET=""
if unshare -n true 2>/dev/null; then NONET="unshare -n"; fi
# idevicerestore sleeps 2 s between its 15 signing attempts; the output is the same
# without the sleeps, so skip them when a compiler is at hand (30 s -> 1 s a run)
SHIM=""
if printf 'unsigned int sleep(unsigned int s) { (void)s; return 0; }\n' >"$T/nosleep.c" &&
	cc -shared -fPIC -o "$T/nosleep.so" "$T/nosleep.c" 2>/dev/null; then
	SHIM="$T/nosleep.so"
fi

# real_restore OUT CACHE IPSW [-e]: the real program, as the bench starts it
real_restore() {
	local out=$1 cache=$2 ipsw=$3
	shift 3
	timeout 150 $NONET "$BENCHSIM" --log "$out.sim" "$T/real.scenario" -- \
		env SHIM="$SHIM" CACHE="$cache" IPSW="$ipsw" bash -c \
		'[ -n "$SHIM" ] && export LD_PRELOAD="${LD_PRELOAD:+$LD_PRELOAD }$SHIM"
		 GLIBC_TUNABLES=glibc.malloc.tcache_count=0 exec idevicerestore -i 0x1a2b3c4d5e6f70 -y -P '"$*"' -C "$CACHE" "$IPSW"' \
		>"$out" 2>"$out.err" </dev/null
	echo "exit $?" >>"$out.err"
}

# 1. prepare with the module, then the real program must use the cached copy
CACHE="$T/cache"
DMG="$CACHE/$NAME/038-00002-001.dmg"
"$PREP" "$IPSW" "$CACHE" >"$T/prep.out" 2>&1
check "ipsw_prepare succeeds" grep -q '^done 0 extracted' "$T/prep.out"
check "the image is where 1.0.0 looks for it" grep -qxF "cache_path $DMG" "$T/prep.out"
check "the image equals the zip member" bash -c "python3 -c 'import sys,zipfile; sys.stdout.buffer.write(zipfile.ZipFile(sys.argv[1]).read(\"038-00002-001.dmg\"))' '$IPSW' | cmp -s - '$DMG'"
check "no .extract or .lock left" bash -c "! ls '$CACHE/$NAME' | grep -q -e '\.extract$' -e '\.lock$'"
touch -d '2001-09-09 01:46:40' "$DMG"
ino=$(stat -c %i "$DMG")

real_restore "$T/run1.out" "$CACHE" "$IPSW"
check "the real idevicerestore identified the emulated phone" grep -q "Identified device as d10ap, iPhone9,1" "$T/run1.out"
check "the real idevicerestore says: Using cached filesystem" grep -qF "Using cached filesystem from '$DMG'" "$T/run1.out"
check "the real idevicerestore did not extract again" bash -c "! grep -q 'Extracting filesystem' '$T/run1.out'"
check "it went on to signing (and fails there without network)" grep -q "Unable to get SHSH blobs for this device" "$T/run1.out.err"
check "the cached image was not rewritten" bash -c "[ \"\$(stat -c %i-%Y '$DMG')\" = '$ino-1000000000' ]"
check "re-prepare is a no-op" bash -c "'$PREP' '$IPSW' '$CACHE' | grep -q '^done 0 already cached'"
if ! grep -qF "Using cached filesystem" "$T/run1.out"; then diag "$T/run1.out" "$T/run1.out.err"; fi

# 2. the control: an empty cache makes the same program extract, and ipsw_cached agrees
CACHE2="$T/cache2"
real_restore "$T/run2.out" "$CACHE2" "$IPSW"
check "control: without the preparation it extracts" grep -q "Extracting filesystem from IPSW: 038-00002-001.dmg" "$T/run2.out"
check "control: its cache is recognised by ipsw_cached" bash -c "'$PREP' -n '$IPSW' '$CACHE2' | grep -qx 'cached yes'"

# 3. an update identity with its own image: every distinct OS image is extracted
IPSW3="$T/two/$NAME.ipsw"
mkdir -p "$T/two"
python3 "$IDB_TOP/tests/data/mkipsw.py" "$IPSW3" --update-os-path 038-00009-001.dmg
CACHE3="$T/cache3"
"$PREP" "$IPSW3" "$CACHE3" >"$T/prep3.out" 2>&1
check "two OS images: the Erase one is reported" grep -qx "os_path 038-00002-001.dmg" "$T/prep3.out"
check "two OS images: both prepared" bash -c "[ -s '$CACHE3/$NAME/038-00002-001.dmg' ] && [ -s '$CACHE3/$NAME/038-00009-001.dmg' ]"
real_restore "$T/run3.out" "$CACHE3" "$IPSW3"
check "update (no -e) uses the Update identity's cached image" grep -qF "Using cached filesystem from '$CACHE3/$NAME/038-00009-001.dmg'" "$T/run3.out"
real_restore "$T/run4.out" "$CACHE3" "$IPSW3" -e
check "erase (-e) uses the Erase identity's cached image" grep -qF "Using cached filesystem from '$CACHE3/$NAME/038-00002-001.dmg'" "$T/run4.out"
# 4. while the bench extracts (its .extract exists), a child that starts meanwhile must
#    not touch that file: 1.0.0 then extracts a private copy into $TMPDIR
CACHE4="$T/cache4"
mkdir -p "$CACHE4/$NAME"
echo "being written by ipsw_prepare" >"$CACHE4/$NAME/038-00002-001.dmg.extract"
mkdir -p "$T/tmp"
TMPDIR="$T/tmp" real_restore "$T/run5.out" "$CACHE4" "$IPSW"
check "a child arriving mid-extraction extracts elsewhere" grep -q "Extracting filesystem from IPSW" "$T/run5.out"
check "... and leaves our .extract alone" grep -qx "being written by ipsw_prepare" "$CACHE4/$NAME/038-00002-001.dmg.extract"
check "... and does not create the final file under us" test ! -e "$CACHE4/$NAME/038-00002-001.dmg"
check "no idevicerestore left running" bash -c "! pgrep -f '[i]devicerestore -i 0x1a2b3c4d5e6f70 -y -P .*$T' >/dev/null"
done_testing
