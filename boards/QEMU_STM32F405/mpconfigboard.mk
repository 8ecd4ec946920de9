# MicroPython qemu-port board (out of tree, BOARD_DIR=) for microai's emulated STM32F405.
# Sizes and the cpu come from board.json through microai's firmware build
# (`make firmware BOARD=QEMU_STM32F405`), which sets the MICROAI_* variables.
$(if $(MICROAI_CPU),,$(error build this board with `make firmware BOARD=QEMU_STM32F405`))

QEMU_ARCH = arm
QEMU_MACHINE = netduinoplus2

# The qemu port's startup code does not enable the FPU: soft-float (kernels are integer-only).
CFLAGS += -mthumb -mcpu=$(MICROAI_CPU) -mfloat-abi=soft
CFLAGS += -DQEMU_SOC_STM32
CFLAGS += -DMICROPY_HW_MCU_NAME='"STM32F405"'

LDSCRIPT = $(BOARD_DIR)/stm32f405.ld

SRC_BOARD_O = shared/runtime/gchelper_native.o shared/runtime/gchelper_thumb2.o

MPY_CROSS_FLAGS += -march=armv7emsp

# A RAM filesystem at / (cmodules/microai/microai_ramfs.c: LittleFS on a .bss disk that
# soft resets keep), mounted by every mp_init(), so that mpremote cp and ls work.
MICROPY_VFS_LFS2 = 1
CFLAGS += -DMICROAI_RAMFS_BYTES=8192
CFLAGS += '-DMICROPY_PORT_INIT_FUNC=do { extern void microai_ramfs_init(void); microai_ramfs_init(); } while (0)'
