"""The C table (cmodules/microai/runtime/mai_table.h) is the one list of op types,
kernels and storage types: Python reads it and nothing hand-kept may disagree."""

from __future__ import annotations

import pytest

from microai import blob as B
from microai import layouts, native
from microai.convert import convert
from microai.inspect import describe
from microai.passes.choose_kernels import kernels_for
from microai.paths import ROOT

MODELS = sorted((ROOT / "tests" / "fixtures" / "models").glob("*.tflite"))
MODELS += sorted((ROOT.parent / "shared" / "models").glob("*.tflite"))


def test_storage_types_mirror_the_c_table():
    t = native.table()["storages"]
    assert {n.lower(): v for n, (v, _) in t.items()} == B.STORAGES
    assert {n.lower(): bits for n, (_, bits) in t.items()} == B.STORAGE_BITS


def test_every_op_type_has_kernels_and_every_kernel_an_op():
    t = native.table()
    _, lib = native.load()
    for op in t["ops"]:
        assert kernels_for(op), f"op type {op} has no kernel"
        assert t["op_params"][op].startswith("nn_")
    for name, k in t["kernels"].items():
        assert k.op in t["ops"] and k.algorithm
        assert getattr(lib, f"NN_KERNEL_{name}") == k.id  # the table sits at the enum's numbers
    # Every kernel number but NONE has a row.
    assert sorted(k.id for k in t["kernels"].values()) == list(range(1, lib.NN_KERNEL_COUNT))
    # Within an op and the IR storage its weights are made from, algorithm names are
    # unique (a recipe names one kernel for a layer); an int4 kernel has its int8 twin's.
    for op in t["ops"]:
        algs = [(layouts.SOURCE.get(k.weights), k.algorithm) for k in kernels_for(op)]
        assert len(algs) == len(set(algs)), op


@pytest.mark.parametrize("path", MODELS, ids=lambda p: p.stem)
def test_inspect_and_convert_cost_layers_alike(path):
    try:
        conv = convert(path.read_bytes(), path.name)
    except Exception:
        pytest.skip("not convertible (covered by test_models)")
    info = describe(conv.blob)
    for L, D in zip(conv.layers, info["layers"], strict=True):
        assert (L.macs, L.weight_bytes, L.kernel) == (D["macs"], D["weight_bytes"], D["kernel"])
