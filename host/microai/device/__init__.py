"""Talking to boards: one Transport interface, with serial-port and QEMU implementations."""

from .transport import (
    BoardException,
    BoardGone,
    DeviceError,
    SerialTransport,
    StateLost,
    Transport,
    connect,
)

__all__ = [
    "BoardException",
    "BoardGone",
    "DeviceError",
    "SerialTransport",
    "StateLost",
    "Transport",
    "connect",
]
