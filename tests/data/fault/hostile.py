#!/usr/bin/env python3
"""Write the hostile-serial benchsim scenario (fault_hostile.sh, fault_console.sh).

Seven phones on hub 1-1 whose USB serial strings are hostile: terminal escape
sequences inside a valid iBoot string, 255 bytes of junk, fields overflowing
their types, escapes where the ECID should be, a UDID with escapes, bidi and
C1 controls, negative numbers. usage: hostile.py OUT.scenario
"""
import random
import sys


def esc(b):
    """bytes -> a scenario string body with C-style escapes (no NUL)."""
    out = []
    for c in b:
        if c == 0:
            raise ValueError("NUL")
        if 0x20 <= c < 0x7f and c not in (0x22, 0x5c):
            out.append(chr(c))
        else:
            out.append("\\x%02x" % c)
    return "".join(out)


# 255 bytes of junk. sysfs gives the serial as UTF-8 (the kernel converts the UTF-16
# descriptor), and umockdev's record format needs it so: the junk is every kind of
# control a terminal obeys, in valid UTF-8, but no CR, VT, FF or NEL (umockdev strips them).
rng = random.Random(8)
pieces = [chr(c) for c in range(1, 0x20) if c not in (0x0b, 0x0c, 0x0d)] + \
    [chr(c) for c in range(0x7f, 0xa0) if c != 0x85] + \
    ["\u202e", "\u202d", "\u2066", "\u2067", "\u2069", "\u200f", "\ufeff", "\uffff", "\U0010fffd",
     "\x1b[2J", "\x1b]2;pwned\x07", "\x1b#8", "\x1bc", "\x1b[6n", "\x1bP+q\x1b\\", "\x9b31m", "%n%s"] + \
    [chr(c) for c in range(0x21, 0x7f) if chr(c) not in "\\\""]
junk = "\x1b]2;pwned\x07\x9b2J\u202e".encode()
while len(junk) < 255:
    b = rng.choice(pieces).encode()
    if len(junk) + len(b) > 255:
        b = b"x" * (255 - len(junk))
    junk += b
assert len(junk) == 255

serials = {
    # valid iBoot string; escapes inside SRNM (no ']' there: that would end the field)
    "1-1.1": ("recovery", b"CPID:8010 CPRV:11 CPFM:03 SCEP:01 BDID:08 ECID:00000000000F0001 IBFL:3C "
              b"SRNM:[\x1b[2J\x1b[31mRED\x1b#8\x1bc\x07\xc2\x9b6n]"),
    "1-1.2": ("recovery", junk),
    # every number far wider than its type
    "1-1.3": ("recovery", b"CPID:FFFFFFFFFFFFFFFF CPRV:FFFFFFFFFFFF CPFM:FFFFFFFFFF SCEP:FFFFFFFF "
              b"BDID:FFFFFFFFFFFFFFFFFFFF ECID:FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF IBFL:FFFFFFFFFF SRNM:[" +
              b"A" * 60 + b"]"),
    # escapes where the ECID should be
    "1-1.4": ("dfu", b"CPID:8010 CPRV:11 CPFM:03 SCEP:01 BDID:08 ECID:\x1b[2J\x1b]0;pwned\x07 IBFL:3C"),
    # a normal-mode UDID with escapes in it
    "1-1.5": ("normal", b"00008030-\x1b[2J001A2B3C4D5E6F70\x1b]0;pwned\x07"),
    # valid, with a bidi override and an 8-bit CSI in SRNM
    "1-1.6": ("recovery", b"CPID:8010 CPRV:11 CPFM:03 SCEP:01 BDID:08 ECID:00000000000F0006 IBFL:3C "
              b"SRNM:[\xe2\x80\xaeevil\xc2\x9b31m]"),
    # negative and empty numbers
    "1-1.7": ("recovery", b"CPID:-8010 BDID:-1 ECID:-1 IBFL: SRNM:[]"),
}
with open(sys.argv[1], "w") as f:
    f.write("# hostile USB serial strings (written by tests/data/fault/hostile.py)\n")
    f.write("hub 1-1 ports 7\n")
    for port, (mode, s) in serials.items():
        # the ecid/cpid/bdid words build the default serial only: the override replaces it
        f.write('plug %s %s ecid 0x%x cpid 0x8010 bdid 0x08 serial "%s"\n' %
                (port, mode, 0xF0000 + int(port[-1]), esc(s)))
