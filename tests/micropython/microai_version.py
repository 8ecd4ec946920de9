# The module's version string has the form MAJOR.MINOR.PATCH.
try:
    import microai
except ImportError:
    print("SKIP")
    raise SystemExit

parts = microai.__version__.split(".")
print(len(parts), all(p.isdigit() for p in parts))
