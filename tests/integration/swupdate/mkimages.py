#!/usr/bin/env python3
"""mkimages.py: an old and a new disk image for the delta-update test and bench.

  mkimages.py DIR SIZE_MIB scattered COUNT SPAN_KIB   COUNT changes of SPAN_KIB, one in each
                                                      of COUNT equal slices, at a random place
  mkimages.py DIR SIZE_MIB contiguous SPAN_KIB        one change of SPAN_KIB in the middle

DIR/old.img is random; DIR/new.img is old.img with the changed spans rewritten with new
random bytes. The places come from a fixed seed, the bytes from os.urandom.
"""
import os
import random
import sys


def main(argv):
    if len(argv) < 5 or argv[3] not in ("scattered", "contiguous"):
        sys.exit(__doc__)
    out, size = argv[1], int(argv[2]) << 20
    if argv[3] == "scattered" and len(argv) == 6:
        count, span = int(argv[4]), int(argv[5]) << 10
    elif argv[3] == "contiguous" and len(argv) == 5:
        count, span = 1, int(argv[4]) << 10
    else:
        sys.exit(__doc__)
    slot = size // count
    if not 0 < span <= slot:
        sys.exit("mkimages.py: the changes do not fit in the image")
    old = bytearray(os.urandom(size))
    new = bytearray(old)
    rnd = random.Random(17)
    for i in range(count):
        at = i * slot + (rnd.randrange(slot - span + 1) if count > 1 else (slot - span) // 2)
        new[at:at + span] = os.urandom(span)
    with open(os.path.join(out, "old.img"), "wb") as f:
        f.write(old)
    with open(os.path.join(out, "new.img"), "wb") as f:
        f.write(new)


if __name__ == "__main__":
    main(sys.argv)
