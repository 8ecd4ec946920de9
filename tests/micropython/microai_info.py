# microai.info() describes the firmware: version, board, mcu, cpu, DSP path, static arena.
try:
    import microai
except ImportError:
    print("SKIP")
    raise SystemExit

info = microai.info()
print(type(info) is dict)
print(sorted(info.keys()))
print(info["version"] == microai.__version__)
for key in ("version", "board", "mcu", "cpu"):
    print(key, type(info[key]) is str and len(info[key]) > 0)
print("dsp", info["dsp"] is microai.HAS_DSP)
print("arena_size", info["arena_size"] > 0 and info["arena_size"] % 16 == 0)
print("arena_addr", info["arena_addr"] % 16 == 0)

# Each call builds a new dict: changing one does not change the next.
info["board"] = None
print(microai.info()["board"] is not None)
