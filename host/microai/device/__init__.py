"""Talking to boards: one Transport interface, with serial-port and QEMU implementations."""

from .transport import DeviceError, SerialTransport, Transport, connect

__all__ = ["DeviceError", "SerialTransport", "Transport", "connect"]
