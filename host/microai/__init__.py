"""microai: quantized neural networks on STM32 microcontrollers under MicroPython.

Host side: board descriptions, firmware builds, emulated boards and device transports.
The device side is the MicroPython module of the same name (cmodules/microai).
"""

__version__ = "0.1.0"

# Exit codes of the `microai` command: the one table (README.md, "Exit codes", lists it).
EXIT_OK = 0
EXIT_MISMATCH = 1  # everything ran, but outputs differ (verify, hil, run, demo)
EXIT_USAGE = 2  # the command line is wrong (click's own code)
EXIT_INPUT = 3  # a bad input file or output path: model, blob, .npy; a model refused
EXIT_TARGET = 4  # the board: its board.json, the model does not fit it, device, emulator
EXIT_BUILD = 5  # building firmware, the C core or the QEMU plugin failed
EXIT_INTERNAL = 70  # a bug in microai: an exception nobody expected (EX_SOFTWARE)
EXIT_INTERRUPTED = 130  # Ctrl-C

# Limits on what the host reads; bigger inputs are refused before they are read.
MAX_FILE_BYTES = 64 * 1024 * 1024  # a .tflite, .mai or .npy file
MAX_ARENA_BYTES = 64 * 1024 * 1024  # the arena a blob may ask for


class MicroaiError(Exception):
    """An error the user can act on; the CLI prints its message and exits with
    `exit_code`. Errors with no more specific class are about the board or a tool."""

    exit_code = EXIT_TARGET


class InputError(MicroaiError):
    """A bad input: a file that is missing, too big, not a model, a blob or an array the
    host refuses, a model that cannot be converted. The message is one line naming the
    file, and the layer, tensor or field at fault."""

    exit_code = EXIT_INPUT


class TargetError(MicroaiError):
    """The board, device or emulator: a bad board.json, a model too big for the board,
    a transport that fails."""

    exit_code = EXIT_TARGET


class BuildError(MicroaiError):
    """Building firmware, the C core or a plugin failed."""

    exit_code = EXIT_BUILD
