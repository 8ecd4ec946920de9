# MicroPython user C module (USER_C_MODULES=path/to/cmodules) for microai.
# Build it through `make firmware BOARD=...`: that generates microai_board.h from the
# board's board.json into MICROAI_GEN_DIR.
MICROAI_MOD_DIR := $(USERMOD_DIR)

$(if $(MICROAI_GEN_DIR),,$(error microai: MICROAI_GEN_DIR is not set; build with `make firmware BOARD=...`))

# MicroPython glue (scanned for qstrs).
SRC_USERMOD_C += $(MICROAI_MOD_DIR)/modmicroai.c
SRC_USERMOD_C += $(MICROAI_MOD_DIR)/microai_model.c
SRC_USERMOD_C += $(MICROAI_MOD_DIR)/microai_profile.c
SRC_USERMOD_C += $(MICROAI_MOD_DIR)/microai_kernels.c

# The pure C core: kernels and blob executor (no MicroPython headers, no qstrs), and
# the blobs frozen into this firmware (generated; an empty table without MODEL=).
SRC_USERMOD_LIB_C += $(wildcard $(MICROAI_MOD_DIR)/nn/*.c $(MICROAI_MOD_DIR)/nn/*/*.c)
SRC_USERMOD_LIB_C += $(MICROAI_GEN_DIR)/microai_frozen.c

CFLAGS_USERMOD += -I$(MICROAI_MOD_DIR) -I$(MICROAI_MOD_DIR)/nn -I$(MICROAI_GEN_DIR)
