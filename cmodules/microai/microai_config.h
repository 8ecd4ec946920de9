// microai build configuration: the board description and the feature flags.
//
// The board part comes from boards/<BOARD>/board.json, turned into microai_board.h by
// `make firmware BOARD=<BOARD>` (host/microai/firmware.py). Feature flags are #ifndef
// guarded so a board or a command line can override them; each is exported to Python
// (microai.HAS_<NAME>) so tests can skip what is compiled out.
#ifndef MICROAI_CONFIG_H
#define MICROAI_CONFIG_H

#include "microai_board.h"

// Cortex-M DSP extension (SMLAD, SXTB16) available to the kernels: Cortex-M4 and M7.
// MICROAI_HAS_DSP, nn/nn_dsp.h's rule (the compiler's target), which also switches the
// kernels to their SXTB16/SMLAD loops instead of scalar ones of the same structure, so it
// costs no flash by itself.
#include "nn/nn_dsp.h"

// microai.conv2d / depthwise_conv2d / fully_connected: the kernels on caller buffers,
// for experiments from the REPL. Flash cost: about 4.5 KB (QEMU_STM32F405, -Os).
#ifndef MICROAI_HAS_KERNEL_API
#define MICROAI_HAS_KERNEL_API (1)
#endif

#endif // MICROAI_CONFIG_H
