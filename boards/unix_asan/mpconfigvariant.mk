# The unix port (standard variant) with AddressSanitizer and UBSan over everything:
# MicroPython, the microai glue and the C core. host/microai/firmware.py passes this
# folder as VARIANT_DIR. Any report aborts the run (the test then fails).
SANITIZE = -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
CFLAGS += $(SANITIZE)
LDFLAGS += $(SANITIZE)
# Keep the symbols, so that reports name the function and line.
STRIP =
