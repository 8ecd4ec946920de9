# The static arena that microai.info() reports is real, writable memory of that size:
# first, middle and last words keep what is written to them.
import sys

try:
    import microai
    import machine

    machine.mem32
except (ImportError, AttributeError):
    print("SKIP")
    raise SystemExit
if sys.platform == "linux":  # the unix port's machine.mem32 maps /dev/mem, not our memory
    print("SKIP")
    raise SystemExit

info = microai.info()
base, size = info["arena_addr"], info["arena_size"]
offsets = (0, size // 2, size - 4)
for off in offsets:
    machine.mem32[base + off] = 0x5A5A0000 | (off & 0xFFFF)
print([machine.mem32[base + off] == 0x5A5A0000 | (off & 0xFFFF) for off in offsets])
