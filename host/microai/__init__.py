"""microai: quantized neural networks on STM32 microcontrollers under MicroPython.

Host side: board descriptions, firmware builds, emulated boards and device transports.
The device side is the MicroPython module of the same name (cmodules/microai).
"""

__version__ = "0.1.0"


class MicroaiError(Exception):
    """An error the user can act on; the CLI prints its message and exits non-zero."""
