# microai.conv2d, depthwise_conv2d and fully_connected on caller buffers: each case
# against a plain nested-loop reference computed here (TFLite arithmetic: double rounding
# for the convolutions; fully connected with double rounding by default, as TFLite-Micro,
# or single with rounding='single', as LiteRT), then the error paths.
try:
    import microai

    microai.conv2d
except (ImportError, AttributeError):
    print("SKIP")
    raise SystemExit
from array import array

_seed = [12345]


def rand(n, lo=-128, hi=127, tc="b"):
    # A small LCG: the same numbers on every board. tc "b": int8, "i": int32.
    a = array(tc, bytes(n * (1 if tc == "b" else 4)))
    s = _seed[0]
    for i in range(n):
        s = (s * 1103515245 + 12345) & 0x7FFFFFFF
        a[i] = lo + (s >> 4) % (hi - lo + 1)
    _seed[0] = s
    return a


def high_mul(a, b):  # SaturatingRoundingDoublingHighMul
    if a == b == -(1 << 31):
        return (1 << 31) - 1
    ab = a * b + ((1 << 30) if a * b >= 0 else 1 - (1 << 30))
    return ab >> 31 if ab >= 0 else -((-ab) >> 31)  # truncating toward zero


def div_pot(x, e):  # RoundingDivideByPOT
    mask = (1 << e) - 1
    return (x >> e) + ((x & mask) > (mask >> 1) + (x < 0))


def requant(acc, m, s):  # MultiplyByQuantizedMultiplier, double rounding
    return div_pot(high_mul(acc << s if s > 0 else acc, m), -s if s < 0 else 0)


def requant_single(acc, m, s):  # single rounding (LiteRT's FULLY_CONNECTED)
    return (acc * m + (1 << (30 - s))) >> (31 - s)


def at(q, i):
    return q if isinstance(q, int) else q[i if len(q) > 1 else 0]


def finish(acc, oc, out_off, mult, shift, act, rq):
    v = rq(acc, at(mult, oc), at(shift, oc)) + out_off
    return min(max(v, act[0]), act[1]) & 0xFF


def conv_ref(x, xs, w, ws, bias, os, stride, dil, pad, in_off, out_off, mult, shift, act, dm,
             groups=1):
    # dm == 0: CONV_2D, weights OHWI (I = input channels / groups); dm >= 1:
    # DEPTHWISE_CONV_2D, weights 1HWC.
    n, h, wd, c = xs
    cg = c // groups
    kh, kw = ws[1], ws[2]
    oh, ow, oc_n = os[1], os[2], os[3]
    out = bytearray()
    for b in range(n):
        for oy in range(oh):
            for ox in range(ow):
                for oc in range(oc_n):
                    acc = bias[oc] if bias else 0
                    for ky in range(kh):
                        iy = oy * stride[0] - pad[0] + ky * dil[0]
                        for kx in range(kw):
                            ix = ox * stride[1] - pad[1] + kx * dil[1]
                            if not (0 <= iy < h and 0 <= ix < wd):
                                continue
                            base = ((b * h + iy) * wd + ix) * c
                            if dm:
                                acc += (x[base + oc // dm] + in_off) * w[(ky * kw + kx) * oc_n + oc]
                            else:
                                wb = ((oc * kh + ky) * kw + kx) * cg
                                first = base + oc // (oc_n // groups) * cg
                                for ic in range(cg):
                                    acc += (x[first + ic] + in_off) * w[wb + ic]
                    out.append(finish(acc, oc, out_off, mult, shift, act, requant))
    return out


def fc_ref(x, w, bias, batches, in_off, f_off, out_off, mult, shift, act, rq=requant):
    depth = len(x) // batches
    units = len(w) // depth
    out = bytearray()
    for b in range(batches):
        for u in range(units):
            acc = bias[u] if bias else 0
            for i in range(depth):
                acc += (x[b * depth + i] + in_off) * (w[u * depth + i] + f_off)
            out.append(finish(acc, u, out_off, mult, shift, act, rq))
    return out


def nelem(s):
    return s[0] * s[1] * s[2] * s[3]


def conv_case(name, xs, ws, os, dm=0, bias=True, mult=None, shift=-8, **kw):
    fn = microai.depthwise_conv2d if dm else microai.conv2d
    x, w = rand(nelem(xs)), rand(nelem(ws), -127, 127)
    oc = os[3]
    b = rand(oc, -3000, 3000, "i") if bias else None
    if mult is None:  # per channel, Q31 in [2^30, 2^31)
        mult, shift = rand(oc, 1 << 30, (1 << 31) - 1, "i"), rand(oc, shift - 1, shift, "i")
    y = bytearray(nelem(os))
    if dm:
        kw["depth_multiplier"] = dm
    fn(x, xs, w, ws, b, y, os, multiplier=mult, shift=shift, **kw)
    a = (kw.get("stride", (1, 1)), kw.get("dilation", (1, 1)), kw.get("padding", (0, 0)))
    want = conv_ref(x, xs, w, ws, b, os, *a, kw.get("input_offset", 0),
                    kw.get("output_offset", 0), mult, shift, kw.get("act", (-128, 127)), dm,
                    kw.get("groups", 1))
    print(name, y == want, len(set(want)) > 3)


conv_case("conv3x3_same", (1, 4, 4, 3), (4, 3, 3, 3), (1, 4, 4, 4), padding=(1, 1),
          input_offset=3, output_offset=5)
conv_case("conv1x1_pw", (1, 3, 3, 5), (3, 1, 1, 5), (1, 3, 3, 3), bias=False,
          mult=1518500250, shift=-7, input_offset=-100)
conv_case("conv_strided_dilated", (2, 7, 6, 2), (3, 3, 2, 2), (2, 3, 4, 3), stride=(2, 2),
          dilation=(1, 2), padding=(0, 1), act=(-20, 60), output_offset=-10,
          scratch=bytearray(160))
conv_case("conv_grouped", (1, 5, 4, 6), (6, 3, 3, 2), (1, 3, 2, 6), groups=3,
          stride=(2, 2), padding=(1, 1), input_offset=7, output_offset=-3)
conv_case("conv_grouped_1x1", (2, 3, 3, 8), (8, 1, 1, 2), (2, 3, 3, 8), groups=4,
          bias=False, act=(-100, 100))
conv_case("dw3x3", (1, 5, 4, 3), (1, 3, 3, 3), (1, 5, 4, 3), dm=1, padding=(1, 1),
          shift=-6, input_offset=128)
conv_case("dw_dm2_2x2", (1, 4, 4, 2), (1, 2, 2, 4), (1, 2, 2, 4), dm=2, stride=(2, 2),
          bias=False, mult=array("i", [1200000000]), shift=array("i", [-5]), input_offset=-127)

x, w, b = rand(14), rand(21, -127, 127), rand(3, -3000, 3000, "i")
y = bytearray(6)
microai.fully_connected(x, w, b, y, batches=2, input_offset=4, output_offset=-7,
                        multiplier=1300000000, shift=-8)
print("fc", y == fc_ref(x, w, b, 2, 4, 0, -7, 1300000000, -8, (-128, 127)))
m, s = rand(3, 1 << 30, (1 << 31) - 1, "i"), rand(3, -8, -7, "i")
microai.fully_connected(x, w, None, y, batches=2, filter_offset=2, multiplier=m, shift=s,
                        act=(-50, 50))
print("fc_per_channel", y == fc_ref(x, w, None, 2, 0, 2, 0, m, s, (-50, 50)))
for r, rq in (("double", requant), ("single", requant_single)):
    microai.fully_connected(x, w, b, y, batches=2, input_offset=-3, output_offset=2,
                            multiplier=m, shift=s, rounding=r)
    print("fc_" + r, y == fc_ref(x, w, b, 2, -3, 0, 2, m, s, (-128, 127), rq))

# Where the roundings differ: acc * 0.6 / 2 for acc = 1, -1 is +-1 with double rounding
# (0.6 rounds to 1, then 1/2 to 1), 0 with single (0.3).
x, w, y = array("b", [1, -1, 2, 5]), array("b", [1]), bytearray(4)
for r in (None, "double", "single"):
    kw = {"rounding": r} if r else {}
    microai.fully_connected(x, w, None, y, batches=4, multiplier=1288490189, shift=-1, **kw)
    print("fc_rounding", r, list(array("b", y)))

# Error paths: the message names the argument at fault.
xs, ws, os = (1, 4, 4, 2), (3, 3, 3, 2), (1, 2, 2, 3)
x, w, b, y = bytearray(32), bytearray(54), array("i", [0, 0, 0]), bytearray(12)


def fails(what, fn, **kw):
    args = dict(multiplier=1 << 30, shift=0)
    args.update(kw)
    try:
        fn(**args)
        print(what, "no error")
    except Exception as e:
        print(what, type(e).__name__, e)


def conv(xx=x, xss=xs, ww=w, wss=ws, bb=b, yy=y, oss=os, **kw):
    return lambda **q: microai.conv2d(xx, xss, ww, wss, bb, yy, oss, **kw, **q)


fails("ok", conv())
fails("weights size", conv(ww=bytearray(53)))
fails("input size", conv(xx=bytearray(33)))
fails("output size", conv(yy=bytearray(11)))
fails("bias size", conv(bb=array("i", [0, 0])))
fails("bias type", conv(bb=3))
fails("read-only output", conv(yy=bytes(12)))
fails("read-only view", conv(yy=memoryview(bytes(12))))
fails("output overlaps", conv(xx=memoryview(x), yy=memoryview(x)[:12]))
fails("not a buffer", conv(xx=42))
fails("shape rank", conv(xss=(4, 4, 2)))
fails("shape type", conv(xss=32))
fails("shape zero", conv(xss=(1, 0, 4, 2)))
fails("in channels", conv(wss=(3, 3, 3, 1), ww=bytearray(27)))
fails("out channels", conv(wss=(2, 3, 3, 2), ww=bytearray(36)))
fails("batch", conv(oss=(2, 2, 2, 3), yy=bytearray(24)))
fails("output height", conv(oss=(1, 5, 2, 3), yy=bytearray(30)))
fails("output width", conv(oss=(1, 2, 3, 3), yy=bytearray(18), stride=(2, 2)))
fails("padding", conv(padding=(3, 0)))
fails("stride", conv(stride=(0, 1)))
fails("stride type", conv(stride=2))
fails("dilation", conv(dilation=(1, 1, 1)))
fails("input_offset", conv(input_offset=-128))
fails("output_offset", conv(output_offset=128))
fails("act", conv(act=(10, -10)))
fails("act range", conv(act=(-129, 0)))
fails("multiplier range", conv(), multiplier=-1)
fails("multiplier big", conv(), multiplier=1 << 31)
fails("shift range", conv(), shift=31)
fails("shift type", conv(), shift=1.5)
fails("multiplier size", conv(), multiplier=array("i", [1 << 30] * 2))
fails("shift item", conv(), multiplier=array("i", [1 << 30] * 3), shift=array("i", [0, 40, 0]))
fails("quant mix", conv(), multiplier=array("i", [1 << 30] * 3), shift=0)
fails("scratch small", conv(scratch=bytearray(8)))
fails("scratch read-only", conv(scratch=bytes(200)))
fails("multiplier missing", lambda **q: microai.conv2d(x, xs, w, ws, b, y, os, shift=0))
fails("conv dm", conv(depth_multiplier=2))
fails("groups in", conv(groups=2))
fails("groups out", lambda **q: microai.conv2d(x, xs, bytearray(9), (1, 3, 3, 1), None, y, os,
                                               groups=2, **q))
fails("groups int4", lambda **q: microai.conv2d(x, xs, bytearray(5), (1, 3, 3, 1), None,
                                                y[:8], (1, 2, 2, 2), groups=2, weights_bits=4,
                                                **q))
dw = microai.depthwise_conv2d
fails("dw ok", lambda **q: dw(x, xs, bytearray(18), (1, 3, 3, 2), None, y[:8], (1, 2, 2, 2), **q))
fails("dw out channels",
      lambda **q: dw(x, xs, bytearray(18), (1, 3, 3, 2), None, y, os, depth_multiplier=1, **q))
fails("dw weights", lambda **q: dw(x, xs, bytearray(36), (2, 3, 3, 2), None, y[:8], (1, 2, 2, 2), **q))
fails("dw dm", lambda **q: dw(x, xs, bytearray(36), (1, 3, 3, 4), None, bytearray(16),
                              (1, 2, 2, 4), depth_multiplier=2, **q))
fc = microai.fully_connected
fails("fc ok", lambda **q: fc(bytearray(14), bytearray(21), None, bytearray(6), batches=2, **q))
fails("fc batches", lambda **q: fc(bytearray(15), bytearray(21), None, bytearray(6), batches=2, **q))
fails("fc weights", lambda **q: fc(bytearray(14), bytearray(20), None, bytearray(6), batches=2, **q))
fails("fc output", lambda **q: fc(bytearray(14), bytearray(21), None, bytes(6), batches=2, **q))
fails("fc filter_offset", lambda **q: fc(bytearray(7), bytearray(7), None, bytearray(1),
                                         filter_offset=129, **q))
fails("fc rounding", lambda **q: fc(bytearray(7), bytearray(7), None, bytearray(1),
                                    rounding="nearest", **q))
fails("fc rounding type", lambda **q: fc(bytearray(7), bytearray(7), None, bytearray(1),
                                         rounding=1, **q))
