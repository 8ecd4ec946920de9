"""The main job, end to end: the project's digits classifier on an emulated STM32.

Convert the int8 model, boot the board, upload the blob over serial, classify the
held-out scikit-learn digits on the board, and report predictions, accuracy, agreement
with the host engine, arena bytes and instructions per inference.
"""

from __future__ import annotations

import numpy as np

from .convert import convert
from .engine import Model
from .hil import board_run, open_board, place_model
from .paths import FIXTURES_DIR

FIXTURES = FIXTURES_DIR


def run_demo(board_name: str, n_images: int | None = None, count: bool = True) -> dict:
    model = (FIXTURES / "digits_cnn.tflite").read_bytes()
    test = np.load(FIXTURES / "digits_test.npz")
    xs, ys = test["x"][:n_images], test["y"][:n_images]
    conv = convert(model, "digits_cnn.tflite")
    engine = Model(conv.blob)
    t, frozen, counter = open_board(board_name, None, conv.blob, count=count, name="digits")
    instructions = []
    board_pred, host_pred, agree = [], [], 0
    with t:
        machine = t.eval("__import__('sys').implementation._machine")
        place_model(t, conv.blob, frozen)
        for x in xs:
            if counter:
                counter.new_records()
            got = board_run(t, x.tobytes())
            if counter:
                instructions += [r.total for r in counter.new_records()]
            want = engine.run(x[None]).tobytes()
            agree += got == want
            board_pred.append(int(np.argmax(np.frombuffer(got, np.int8))))
            host_pred.append(int(np.argmax(np.frombuffer(want, np.int8))))
    if counter:
        counter.close()
    board_pred = np.array(board_pred)
    return {
        "board": board_name,
        "machine": machine,
        "images": len(xs),
        "labels": ys.tolist(),
        "predictions": board_pred.tolist(),
        "accuracy": float((board_pred == ys).mean()),
        "bit_exact_with_host": int(agree),
        "same_prediction_as_host": int((board_pred == np.array(host_pred)).sum()),
        "arena_bytes": conv.arena_size,
        "blob_bytes": len(conv.blob),
        "instructions": int(np.median(instructions)) if instructions else None,
    }
