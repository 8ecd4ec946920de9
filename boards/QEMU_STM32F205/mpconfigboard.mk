# MicroPython qemu-port board (out of tree, BOARD_DIR=) for microai's emulated STM32F205.
# Sizes and the cpu come from board.json through microai's firmware build
# (`make firmware BOARD=QEMU_STM32F205`), which sets the MICROAI_* variables.
$(if $(MICROAI_CPU),,$(error build this board with `make firmware BOARD=QEMU_STM32F205`))

QEMU_ARCH = arm
QEMU_MACHINE = netduino2

CFLAGS += -mthumb -mcpu=$(MICROAI_CPU) -mfloat-abi=soft
CFLAGS += -DQEMU_SOC_STM32
CFLAGS += -DMICROPY_HW_MCU_NAME='"STM32F205"'

LDSCRIPT = $(BOARD_DIR)/stm32f205.ld

SRC_BOARD_O = shared/runtime/gchelper_native.o shared/runtime/gchelper_thumb2.o

MPY_CROSS_FLAGS += -march=armv7m
