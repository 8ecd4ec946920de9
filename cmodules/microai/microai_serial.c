// microai's own reads of the serial console: see microai_serial.h.
#include "py/mphal.h"
#include "py/runtime.h"
#include "py/stream.h"

#include "microai_serial.h"
#include "runtime/mai_exec.h"

#if MICROAI_SERIAL

#if defined(QEMU_SOC_STM32) || defined(QEMU_SOC_MPS2)
#include "uart.h" // ports/qemu: a polled UART, no interrupt character

int microai_serial_rx(void) {
    return uart_rx_chr(); // UART_RX_NO_CHAR (-1) when none
}
#else
int microai_serial_rx(void) {
    if (mp_hal_stdio_poll(MP_STREAM_POLL_RD) & MP_STREAM_POLL_RD) {
        return mp_hal_stdin_rx_chr();
    }
    mp_handle_pending(true); // a Ctrl-C the UART interrupt caught
    return -1;
}
#endif

static void put_hex32(char *out, uint32_t v) {
    for (int i = 7; i >= 0; i--) {
        out[i] = "0123456789abcdef"[v & 15];
        v >>= 4;
    }
}

void microai_serial_answer(char kind, uint32_t value) {
    char t[21] = "<K oooooooo cccccccc>";
    t[1] = kind;
    put_hex32(t + 3, value);
    put_hex32(t + 12, mai_crc32(0, t + 1, 10));
    mp_hal_stdout_tx_strn(t, sizeof(t));
}
#endif

static mp_obj_t microai_drain(void) {
    #if MICROAI_SERIAL
    for (;;) {
        int c = microai_serial_rx();
        if (c == '\n') {
            break;
        }
        if (c == 0x03) {
            mp_raise_type(&mp_type_KeyboardInterrupt);
        }
    }
    #endif
    return mp_const_none;
}
MP_DEFINE_CONST_FUN_OBJ_0(microai_drain_obj, microai_drain);
