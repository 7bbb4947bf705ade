#!/usr/bin/env bash
# The real idevicebench under the bench simulator, --json: slots, devices, modes, ECIDs,
# a phone moved to another port, 16 recovery phones at once, commands on stdin.
. "$IDB_TOP/tests/lib.sh"
[ -x "$BENCHSIM" ] || skip_all "benchsim not built"
S="$IDB_TOP/tests/data/scenarios"

bench_start "$S/usb12.scenario"
check "the last timed plug arrives (moved phone on 1-1.4)" \
	wait_event 20 event=device port=1-1.4 ecid=0x1a2b3c4d5e6f70 mode=recovery
sleep 0.5
# kick is for recovery only: a DFU device (05ac:1227) takes no iBoot commands
bench_send "kick 1-1.2"
check "kick on a DFU phone is refused with the rule's reason" \
	wait_event 5 event=error "text=~1-1.2: kick needs a device in recovery mode"
check "nothing was sent to the DFU phone" bash -c "! grep -q '^ctrl 1-1.2 ' '$T/sim.log'"
# commands: an unknown verb and a bad slot give one error event each, nothing else
before=$(wc -l <"$T/events.jsonl")
bench_send "frobnicate A1"
bench_send "update Z9"
bench_send "kick 1-2.5;rm -rf /"
check "unknown command -> error event" wait_event 5 event=error "text=~unknown command"
check "bad slot -> error event" wait_event 5 event=error "text=~Z9"
sleep 0.5
bench_stop
check "bench exits 0 on quit" [ "$BENCH_RC" -eq 0 ]

python3 - "$T/events.jsonl" "$before" <<'PY' >"$T/check.out" 2>&1
import json, sys
evs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
before = int(sys.argv[2])
fails = []
def want(cond, what):
    if not cond: fails.append(what)
for e in evs:
    want(isinstance(e.get("time"), (int, float)) and e["time"] > 1.6e9, "time on every event: %r" % e)
slots = {e["port"]: e["slot"] for e in evs if e["event"] == "slot"}
expect_ports = ["1-1.%d" % i for i in range(1, 5)] + ["1-2.%d" % i for i in (1, 2, 3, 5, 6, 7)] + \
    ["1-2.4.%d" % i for i in range(1, 5)]
for p in expect_ports:
    want(p in slots, "slot for hub port %s" % p)
want("1-2.4" not in [e.get("port") for e in evs if e["event"] == "device"], "no phone on the hub port 1-2.4")
dev = {}
for e in evs:
    if e["event"] == "device":
        dev.setdefault(e["port"], e)
exp = {
    "1-1.1": ("recovery", "0x1a2b3c4d5e6f70", "iPhone9,1"),
    "1-1.2": ("dfu", "0x111122223333", "iPhone10,3"),
    "1-1.3": ("normal", "0x115480aa2801c", None),
    "1-2.1": ("recovery", "0xa0b0c0d0e01", "iPhone10,1"),
    "1-2.2": ("recovery", "0xa0b0c0d0e02", "iPhone9,3"),
    "1-2.3": ("dfu", "0xa0b0c0d0e03", "iPhone12,1"),
    "1-2.5": ("wtf", "0xa0b0c0d0e05", None),
    "1-2.6": ("normal", "0xa0b0c0d0e06", None),
    "1-2.7": ("portdfu", "0xa0b0c0d0e07", None),
    "1-2.4.1": ("recovery", "0xa0b0c0d0e41", "iPad7,11"),
    "1-2.4.2": ("dfu", "0xa0b0c0d0e42", "iPhone10,6"),
    "1-2.4.3": ("recovery", "0xa0b0c0d0e43", "iPhone9,2"),
}
for port, (mode, ecid, pt) in exp.items():
    e = dev.get(port)
    want(e is not None, "device event on %s" % port)
    if not e: continue
    want(e["mode"] == mode, "%s mode %s, got %s" % (port, mode, e["mode"]))
    want(e["ecid"] == ecid, "%s ecid %s, got %s" % (port, ecid, e["ecid"]))
    want(e["slot"] == slots.get(port), "%s slot label" % port)
    if pt:
        want(e["product_type"] == pt, "%s product type %s, got %s" % (port, pt, e["product_type"]))
        want(e["name"] and "iP" in e["name"], "%s has a marketing name: %s" % (port, e["name"]))
    for k in ("cpid", "bdid", "product_type", "name"):
        want(k in e, "%s has key %s" % (port, k))
gone = [e for e in evs if e["event"] == "gone"]
want(any(g["port"] == "1-1.1" and g["ecid"] == "0x1a2b3c4d5e6f70" for g in gone), "gone on 1-1.1 with its ECID")
moved = [e for e in evs if e["event"] == "device" and e["port"] == "1-1.4"]
want(moved and moved[-1]["ecid"] == "0x1a2b3c4d5e6f70" and moved[-1]["product_type"] == "iPhone9,1",
     "the phone moved to 1-1.4 keeps its ECID and model")
after = evs[before:]
errs = [e for e in after if e["event"] == "error"]
want(len(errs) == 3, "exactly three error events for three bad commands, got %d" % len(errs))
want(not [e for e in after if e["event"] == "job"], "no job started by bad commands")
want(all("\x1b" not in json.dumps(e) for e in evs), "no escape characters in events")
print("\n".join(fails) if fails else "all fine")
sys.exit(1 if fails else 0)
PY
rc=$?
if [ $rc -eq 0 ]; then ok "events: slots, 12 devices with ports/modes/ECIDs/models, gone, moved, errors"; else not_ok "events checked"; diag "$T/check.out"; fi

# 16 recovery phones at once: Debian's libirecovery would crash opening one of several by ECID; the bench does not
bench_start "$S/recovery16.scenario"
for i in $(seq 1 50); do
	[ "$(count_events event=device mode=recovery)" -ge 16 ] && break
	sleep 0.2
done
check "16 recovery devices all reported" [ "$(count_events event=device mode=recovery)" -eq 16 ]
check "16 distinct ECIDs" [ "$(grep '"event":"device"' "$T/events.jsonl" | grep -o '"ecid":"[^"]*"' | sort -u | wc -l)" -eq 16 ]
bench_send "kick 1-1.3"
check "kick on one of 16: iBoot commands reach exactly that port" \
	bash -c "for i in \$(seq 1 50); do grep -q 'ctrl 1-1.3 reboot' '$T/sim.log' && exit 0; sleep 0.2; done; exit 1"
check "kick sent setenv auto-boot true, saveenv, reboot in order" \
	bash -c "grep '^ctrl 1-1.3' '$T/sim.log' | cut -d' ' -f3- | tr '\n' '|' | grep -q '^setenv auto-boot true|saveenv|reboot|'"
check "no other port got a control transfer" bash -c "! grep '^ctrl ' '$T/sim.log' | grep -v '^ctrl 1-1.3 '"
check "the kicked phone boots to normal mode on the same port" \
	wait_event 10 event=device port=1-1.3 mode=normal ecid=0x10067
bench_stop
check "bench still alive until quit, exits 0" [ "$BENCH_RC" -eq 0 ]
done_testing
