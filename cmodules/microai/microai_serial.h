// microai's own reads of the serial console, for the host's upload and exec protocols
// (host/microai/device/): bytes straight from the UART, behind the REPL's back.
#ifndef MICROAI_SERIAL_H
#define MICROAI_SERIAL_H

#include <stdint.h>

#include "py/obj.h"

// 1 on ports whose console this code can read (ports/qemu's polled UART, ports/stm32).
#if defined(QEMU_SOC_STM32) || defined(QEMU_SOC_MPS2) || (defined(__arm__) && !defined(__linux__))
#define MICROAI_SERIAL (1)
#else
#define MICROAI_SERIAL (0)
#endif

#if MICROAI_SERIAL
/// The next console byte, or -1 when none has arrived. Raises KeyboardInterrupt when
/// the port's UART interrupt caught a Ctrl-C (ports/stm32; ports/qemu passes it on).
int microai_serial_rx(void);

/// Writes the token `<k vvvvvvvv cccccccc>`: kind k, value v in hex, and c the CRC-32
/// of "k vvvvvvvv", so the host can tell an answer from line noise.
void microai_serial_answer(char kind, uint32_t value);
#endif

/// microai._drain(): reads and drops console bytes up to the "\n" the host sends right
/// after each command's Ctrl-D, then returns; a Ctrl-C (0x03) instead raises
/// KeyboardInterrupt. The host runs it first in each command, so a Ctrl-D the line
/// duplicated after the command never reaches the raw REPL, where a Ctrl-D on an empty
/// line soft-reboots the board (host/microai/device/transport.py: GUARD). Returns at
/// once on other ports.
MP_DECLARE_CONST_FUN_OBJ_0(microai_drain_obj);

#endif // MICROAI_SERIAL_H
