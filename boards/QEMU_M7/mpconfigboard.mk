# MicroPython qemu-port board (out of tree, BOARD_DIR=) for microai's emulated Cortex-M7
# (QEMU mps2-an500). Sizes and the cpu come from board.json through microai's firmware
# build (`make firmware BOARD=QEMU_M7`), which sets the MICROAI_* variables.
$(if $(MICROAI_CPU),,$(error build this board with `make firmware BOARD=QEMU_M7`))

QEMU_ARCH = arm
QEMU_MACHINE = mps2-an500

CFLAGS += -mthumb -mcpu=$(MICROAI_CPU) -mfloat-abi=soft
CFLAGS += -DQEMU_SOC_MPS2
CFLAGS += -DMICROPY_HW_MCU_NAME='"Cortex-M7"'

# AN500 has the AN385 memory map (4 MiB SSRAM at 0, CMSDK UART0 at 0x40004000).
LDSCRIPT = $(BOARD_DIR)/mps2_an500.ld

SRC_BOARD_O = shared/runtime/gchelper_native.o shared/runtime/gchelper_thumb2.o

MPY_CROSS_FLAGS += -march=armv7emsp

# A RAM filesystem at / (cmodules/microai/microai_ramfs.c: LittleFS on a .bss disk that
# soft resets keep), mounted by every mp_init(), so that mpremote cp and ls work.
MICROPY_VFS_LFS2 = 1
CFLAGS += -DMICROAI_RAMFS_BYTES=262144
CFLAGS += '-DMICROPY_PORT_INIT_FUNC=do { extern void microai_ramfs_init(void); microai_ramfs_init(); } while (0)'
