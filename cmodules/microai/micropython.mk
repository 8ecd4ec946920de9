# MicroPython user C module (USER_C_MODULES=path/to/cmodules) for microai.
# Build it through `make firmware BOARD=...`: that generates microai_board.h from the
# board's board.json into MICROAI_GEN_DIR.
MICROAI_MOD_DIR := $(USERMOD_DIR)

$(if $(MICROAI_GEN_DIR),,$(error microai: MICROAI_GEN_DIR is not set; build with `make firmware BOARD=...`))

# MicroPython glue (scanned for qstrs).
SRC_USERMOD_C += $(MICROAI_MOD_DIR)/modmicroai.c
SRC_USERMOD_C += $(MICROAI_MOD_DIR)/microai_model.c
SRC_USERMOD_C += $(MICROAI_MOD_DIR)/microai_blob.c
SRC_USERMOD_C += $(MICROAI_MOD_DIR)/microai_serial.c
SRC_USERMOD_C += $(MICROAI_MOD_DIR)/microai_profile.c
SRC_USERMOD_C += $(MICROAI_MOD_DIR)/microai_kernels.c
SRC_USERMOD_C += $(MICROAI_MOD_DIR)/microai_ramfs.c

# The pure C core: kernels, blob runtime (no MicroPython headers, no qstrs), and the
# blobs frozen into this firmware (generated; an empty table without MODEL=).
SRC_USERMOD_LIB_C += $(wildcard $(MICROAI_MOD_DIR)/nn/*.c $(MICROAI_MOD_DIR)/nn/*/*.c)
SRC_USERMOD_LIB_C += $(wildcard $(MICROAI_MOD_DIR)/runtime/*.c $(MICROAI_MOD_DIR)/runtime/*/*.c)
SRC_USERMOD_LIB_C += $(MICROAI_GEN_DIR)/microai_frozen.c

CFLAGS_USERMOD += -I$(MICROAI_MOD_DIR) -I$(MICROAI_MOD_DIR)/nn -I$(MICROAI_MOD_DIR)/runtime \
	-I$(MICROAI_GEN_DIR)

# The C core is built for speed (-O2), the rest of MicroPython for size (-Os). Measured
# on QEMU_STM32F405: kws_ref_model 25,031,392 -> 13,597,672 instructions per inference,
# pretrainedResnet_quant 105,137,598 -> 44,265,930, for 2.9 KB more flash; bit-exact.
$(BUILD)/microai/nn/%.o: CFLAGS += -O2
# A float multiply and add stay two roundings, never fused: the binary output transform
# is Larq Compute Engine's, bit for bit (nn/binary/nn_bconv_b1.c).
$(BUILD)/microai/nn/%.o: CFLAGS += -ffp-contract=off
$(BUILD)/microai/runtime/%.o: CFLAGS += -O2
