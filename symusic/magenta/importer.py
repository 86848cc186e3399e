"""A magenta.js checkpoint as a symusic checkpoint state (what ``MusicVAE.to_state`` gives).

The variables are Magenta's (``lstm_models.py``; magenta.js ``music_vae/model.ts`` reads the
same names):

* encoder, flat: ``encoder/cell_L/bidirectional_rnn/{fw,bw}/multi_rnn_cell/cell_0/lstm_cell/``
  (layers above the first read both directions); hierarchical (a ``numSegments`` model):
  ``encoder/hierarchical_level_{0,1}/cell_0/...``, level 0 over each segment, level 1 over the
  segments' final states; then ``encoder/mu`` and ``encoder/sigma`` (optional: magenta.js
  never uses it);
* decoder, flat: ``decoder/multi_rnn_cell/cell_K/lstm_cell/``, ``decoder/z_to_initial_state``,
  ``decoder/output_projection``; each step reads ``[previous output one-hot (zeros first),
  z]``;
* hierarchical: the conductor ``decoder/hierarchical_level_0/{initial_state, cell_K/lstm_cell}``
  on zero inputs of width 1, whose top h is a segment's embedding, and the core decoder
  ``core_decoder/decoder/...`` with that embedding in place of z;
* a trio's decoder is one LSTM over the three parts (``MultiOutCategoricalLstmDecoder``:
  ``decoder/``, 692 outputs, the parts' one-hots in) or one core decoder a part
  (``SplitMultiOutLstmDecoder``: ``[core_decoder/]core_decoder_{0,1,2}/decoder/``, each
  reading its own part's one-hot), which magenta.js's ``TrioConverter`` models always have.

symusic expresses each exactly: one-hot inputs are an identity embedding (``embed_size`` =
the vocabulary), Magenta's zero first input a start row fixed at zero (``start_input:
"zeros"``), the conductor's embedding an identity ``out`` projection, the gates and states
permuted (:mod:`symusic.magenta.lstm`), the split core decoders symusic's ``split`` decoder.
What symusic lacks (NADE, chords, key, controls) is refused in one line.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from symusic.data.representation import get_representation
from symusic.magenta.converters import (
    ConverterSettings,
    converter_for,
    settings_from_converter,
)
from symusic.magenta.folder import MagentaFolder
from symusic.magenta.lstm import torch_initial_state, torch_lstm
from symusic.musicvae.model.vae import CHECKPOINT_KIND, CheckpointError

SPEC_KEYS = {"type", "dataConverter", "chordEncoder", "conditionOnKey", "extraControls",
             "useBooleanDecoder"}
# variables of Magenta features symusic has no counterpart for
MISSING_VARIABLES = {"nade/": "a NADE decoder", "control_preprocessing/": "control inputs",
                     "decoder/hierarchical_level_1/": "more than one conductor level"}
SIGMA_ONE = math.log(math.e - 1)  # softplus of this is 1: sigma for a copy that lacks it


class Variables:
    """The folder's variables, taken one by one with their shapes checked; what is left at
    the end is an error."""

    def __init__(self, variables: dict[str, np.ndarray], where: str):
        self.left = dict(variables)
        self.where = where

    def has(self, name: str) -> bool:
        """Whether ``name`` is (still) there."""
        return name in self.left

    def take(self, name: str, shape: tuple[int | None, ...]) -> np.ndarray:
        """The variable ``name``, of ``shape`` (None: any size there)."""
        if name not in self.left:
            raise CheckpointError(f"{self.where}: variable {name!r} is missing")
        value = self.left.pop(name)
        if len(value.shape) != len(shape) or any(
                want is not None and want != got for want, got in zip(shape, value.shape,
                                                                      strict=True)):
            wanted = "x".join("?" if s is None else str(s) for s in shape)
            raise CheckpointError(f"{self.where}: variable {name!r} has shape "
                                  f"{list(value.shape)}, expected [{wanted}]")
        return value

    def lstm(self, prefix: str, input_size: int, units: int | None = None
             ) -> tuple[np.ndarray, np.ndarray]:
        """An ``LSTMBlockCell``'s ``kernel [input_size + H, 4H]`` and ``bias [4H]``."""
        bias = self.take(prefix + "bias", (None if units is None else 4 * units,))
        if bias.shape[0] == 0 or bias.shape[0] % 4:
            raise CheckpointError(f"{self.where}: {prefix}bias has {bias.shape[0]} values, "
                                  "not 4 gates of a positive size")
        kernel = self.take(prefix + "kernel", (input_size + bias.shape[0] // 4, bias.shape[0]))
        return kernel, bias

    def count_layers(self, cell_format: str) -> int:
        """How many of ``cell_format % 0, 1, ...`` have a kernel."""
        layers = 0
        while self.has(cell_format % layers + "kernel"):
            layers += 1
        return layers

    def finish(self) -> None:
        """CheckpointError naming a variable no part of the model took."""
        if self.left:
            name = sorted(self.left)[0]
            raise CheckpointError(f"{self.where}: unexpected variable {name[:100]!r} "
                                  f"({len(self.left)} not read)")


def _check_spec(spec: dict[str, Any], where: str) -> None:
    if spec.get("type") != "MusicVAE":
        raise CheckpointError(f"{where}: config.json is of type {str(spec.get('type'))[:40]!r}, "
                              "not 'MusicVAE'")
    unknown = sorted(set(spec) - SPEC_KEYS)
    if unknown:
        raise CheckpointError(f"{where}: config.json key {unknown[0][:60]!r} is not one "
                              "symusic reads")
    refused = {"chordEncoder": "chord conditioning", "conditionOnKey": "key conditioning",
               "extraControls": "extra control inputs",
               "useBooleanDecoder": "a boolean (multi-hot) decoder"}
    for key, feature in refused.items():
        if spec.get(key):
            raise CheckpointError(f"{where}: a model with {feature} ({key}): symusic does not "
                                  "have it")


def _put_lstm(state: dict, prefix: str, layer: int, kernel: np.ndarray, bias: np.ndarray,
              input_size: int, reverse: bool = False) -> None:
    suffix = f"l{layer}" + ("_reverse" if reverse else "")
    w_ih, w_hh, b_ih, b_hh = torch_lstm(kernel, bias, input_size)
    state.update({f"{prefix}.weight_ih_{suffix}": w_ih, f"{prefix}.weight_hh_{suffix}": w_hh,
                  f"{prefix}.bias_ih_{suffix}": b_ih, f"{prefix}.bias_hh_{suffix}": b_hh})


def _bidirectional(variables: Variables, cell: str, state: dict, prefix: str, layer: int,
                   input_size: int, units: int | None = None) -> int:
    """One bidirectional layer (``cell`` holds ``%s`` for fw/bw) into ``prefix``; its units."""
    kernel, bias = variables.lstm(cell % "fw", input_size, units)
    units = bias.shape[0] // 4
    _put_lstm(state, prefix, layer, kernel, bias, input_size)
    kernel, bias = variables.lstm(cell % "bw", input_size, units)
    _put_lstm(state, prefix, layer, kernel, bias, input_size, reverse=True)
    return units


def _one_hot(converter: ConverterSettings) -> bool:
    """Whether the decoder's steps are tokens Magenta feeds back as one-hots (melody, drums,
    trio), not numbers read as they are (groove)."""
    kind = get_representation(converter.settings.representation).step_io_kind
    return kind in ("categorical", "trio")


def _encoder(variables: Variables, converter: ConverterSettings, state: dict
             ) -> tuple[dict, int]:
    """The encoder's params and its latent size."""
    representation = get_representation(converter.settings.representation)
    table = representation.encoder_input_table()
    width = converter.vocab_size if table is None else table.shape[1]
    # a one-hot token input: an identity embedding (the trio's one-hots are fixed, no weights)
    if table is None and representation.step_io_kind == "categorical":
        state["encoder.embed.weight"] = np.eye(width, dtype=np.float32)
    bidi = "cell_0/bidirectional_rnn/%s/multi_rnn_cell/cell_0/lstm_cell/"
    if variables.has("encoder/hierarchical_level_0/" + bidi % "fw" + "kernel"):
        if converter.n_segments is None:
            raise CheckpointError(f"{variables.where}: a hierarchical encoder needs numSegments "
                                  "in the dataConverter")
        units = _bidirectional(variables, "encoder/hierarchical_level_0/" + bidi, state,
                               "encoder.lstm", 0, width)
        segment_units = _bidirectional(variables, "encoder/hierarchical_level_1/" + bidi,
                                       state, "encoder.segment_lstm", 0, 2 * units)
        params = {"embed_size": width, "hidden_size": units, "n_layers": 1,
                  "segment_length": converter.seq_len // converter.n_segments,
                  "segment_hidden_size": segment_units}
        top = segment_units
    else:
        layer_format = "encoder/cell_%d/bidirectional_rnn/%%s/multi_rnn_cell/cell_0/lstm_cell/"
        layers = variables.count_layers(layer_format.replace("%%s", "fw"))
        if layers == 0:
            raise CheckpointError(f"{variables.where}: no encoder (variable "
                                  f"{layer_format.replace('%%s', 'fw') % 0 + 'kernel'!r})")
        units = None
        for layer in range(layers):
            units = _bidirectional(variables, layer_format % layer, state, "encoder.lstm", layer,
                                   width if layer == 0 else 2 * units, units)
        params = {"embed_size": width, "hidden_size": units, "n_layers": layers}
        top = units
    mu = variables.take("encoder/mu/kernel", (2 * top, None))
    z_size = mu.shape[1]
    state["encoder.mu.weight"] = mu.T.copy()
    state["encoder.mu.bias"] = variables.take("encoder/mu/bias", (z_size,))
    if variables.has("encoder/sigma/kernel"):
        state["encoder.sigma.weight"] = variables.take("encoder/sigma/kernel",
                                                       (2 * top, z_size)).T.copy()
        state["encoder.sigma.bias"] = variables.take("encoder/sigma/bias", (z_size,))
    else:  # a magenta.js copy without sigma: q(z|x) = N(mu, 1) until fine-tuning learns it
        state["encoder.sigma.weight"] = np.zeros((z_size, 2 * top), dtype=np.float32)
        state["encoder.sigma.bias"] = np.full(z_size, SIGMA_ONE, dtype=np.float32)
    return params, z_size


def _identity_embedding(size: int) -> np.ndarray:
    """A one-hot input as an embedding: the identity, and a zero row for the start."""
    return np.vstack([np.eye(size, dtype=np.float32), np.zeros((1, size), dtype=np.float32)])


def _decoders(variables: Variables, prefix: str, context: int, converter: ConverterSettings,
              state: dict, key: str) -> dict:
    """The decoder under ``prefix`` (``""`` or ``"core_decoder/"``) into the module ``key``:
    one LSTM over the whole step, or one core decoder a part (``core_decoder_P/decoder/``,
    Magenta's ``SplitMultiOutLstmDecoder``: the ``split`` decoder); its decoder args."""
    sizes = get_representation(converter.settings.representation).part_sizes
    if len(sizes) == 1 or not variables.has(
            f"{prefix}core_decoder_0/decoder/multi_rnn_cell/cell_0/lstm_cell/kernel"):
        return _token_decoder(variables, prefix + "decoder/", context, sizes, state, key,
                              _one_hot(converter))
    cores = [_token_decoder(variables, f"{prefix}core_decoder_{part}/decoder/", context,
                            (size,), state, f"{key}.cores.{part}")["params"]
             for part, size in enumerate(sizes)]
    if any((core["hidden_size"], core["n_layers"]) != (cores[0]["hidden_size"],
                                                       cores[0]["n_layers"]) for core in cores):
        raise CheckpointError(f"{variables.where}: core decoders of different sizes "
                              f"({', '.join(str(c['hidden_size']) for c in cores)} units); "
                              "symusic's split decoder gives every part the same LSTM")
    return {"key": "split", "params": {"embed_size": list(sizes),
                                       "hidden_size": cores[0]["hidden_size"],
                                       "n_layers": cores[0]["n_layers"],
                                       "start_input": "zeros", "context_every_step": True}}


def _token_decoder(variables: Variables, prefix: str, context: int, sizes: tuple[int, ...],
                   state: dict, key: str, one_hot: bool = True) -> dict:
    """A decoder under ``prefix`` (``.../decoder/``) of a step of parts of ``sizes`` into the
    module ``key``; its params (``another``, zeros first; one-hot inputs, or the previous
    step's numbers as they are)."""
    vocab = sum(sizes)
    cell_format = prefix + "multi_rnn_cell/cell_%d/lstm_cell/"
    layers = variables.count_layers(cell_format)
    if layers == 0:
        raise CheckpointError(f"{variables.where}: no decoder (variable "
                              f"{cell_format % 0 + 'kernel'!r})")
    units = None
    for layer in range(layers):
        input_size = vocab + context if layer == 0 else units
        kernel, bias = variables.lstm(cell_format % layer, input_size, units)
        units = bias.shape[0] // 4
        _put_lstm(state, f"{key}.lstm", layer, kernel, bias, input_size)
    kernel = variables.take(prefix + "z_to_initial_state/kernel", (context, 2 * layers * units))
    bias = variables.take(prefix + "z_to_initial_state/bias", (2 * layers * units,))
    state[f"{key}.initial_state.proj.weight"], state[f"{key}.initial_state.proj.bias"] = (
        torch_initial_state(kernel, bias, layers))
    state[f"{key}.out.weight"] = variables.take(prefix + "output_projection/kernel",
                                                (units, vocab)).T.copy()
    state[f"{key}.out.bias"] = variables.take(prefix + "output_projection/bias", (vocab,))
    if one_hot and len(sizes) == 1:
        state[f"{key}.embed.weight"] = _identity_embedding(vocab)
    elif one_hot:  # the parts' one-hots side by side (Magenta's MultiOutCategoricalLstmDecoder)
        for part, size in enumerate(sizes):
            state[f"{key}.embed.parts.{part}.weight"] = _identity_embedding(size)
    return {"key": "another", "params": {"z_size": context,
                                         "embed_size": vocab if len(sizes) == 1 else list(sizes),
                                         "hidden_size": units, "n_layers": layers,
                                         "start_input": "zeros"}}


def _conductor(variables: Variables, z_size: int, state: dict) -> dict:
    """The conductor's params (its embedding is its top h: an identity projection)."""
    prefix = "decoder/hierarchical_level_0/"
    layers = variables.count_layers(prefix + "cell_%d/lstm_cell/")
    if layers == 0:
        raise CheckpointError(f"{variables.where}: numSegments is given but there is no "
                              f"conductor (variable {prefix + 'cell_0/lstm_cell/kernel'!r})")
    units = None
    for layer in range(layers):
        kernel, bias = variables.lstm(prefix + f"cell_{layer}/lstm_cell/",
                                      1 if layer == 0 else units, units)
        units = bias.shape[0] // 4
        _put_lstm(state, "decoder.conductor.lstm", layer, kernel, bias, 1 if layer == 0 else units)
    state["decoder.conductor.lstm.weight_ih_l0"][:] = 0  # it only ever multiplies zeros
    kernel = variables.take(prefix + "initial_state/kernel", (z_size, 2 * layers * units))
    bias = variables.take(prefix + "initial_state/bias", (2 * layers * units,))
    state["decoder.conductor.initial_state.proj.weight"], \
        state["decoder.conductor.initial_state.proj.bias"] = torch_initial_state(kernel, bias,
                                                                                 layers)
    state["decoder.conductor.out.weight"] = np.eye(units, dtype=np.float32)
    state["decoder.conductor.out.bias"] = np.zeros(units, dtype=np.float32)
    return {"key": "conductor", "params": {"hidden_size": units, "c_size": units,
                                           "n_layers": layers}}


def state_from_magenta(folder: MagentaFolder, where: str) -> dict[str, Any]:
    """The symusic checkpoint state (config, data settings, representation, weights) of a
    magenta.js folder already read; ``CheckpointError`` (one line) when symusic cannot run
    it exactly."""
    _check_spec(folder.spec, where)
    converter = settings_from_converter(folder.spec.get("dataConverter"), where)
    for name in folder.variables:
        for marker, feature in MISSING_VARIABLES.items():
            if marker in name:
                raise CheckpointError(f"{where}: a model with {feature} (variable "
                                      f"{name[:80]!r}): symusic does not have it")
    variables = Variables(folder.variables, where)
    state: dict[str, np.ndarray] = {}
    encoder_params, z_size = _encoder(variables, converter, state)
    if converter.n_segments is None:
        decoder_args = _decoders(variables, "", z_size, converter, state, "decoder.decoder")
        seq_decoder = {"key": "greedy", "params": {"z_size": z_size,
                                                   "decoder_args": decoder_args}}
    else:
        conductor = _conductor(variables, z_size, state)
        c_size = conductor["params"]["c_size"]
        inner = _decoders(variables, "core_decoder/", c_size, converter, state,
                          "decoder.inner.decoder")
        seq_decoder = {"key": "hier", "params": {
            "z_size": z_size, "n_subsequences": converter.n_segments,
            "conductor_args": conductor,
            "seq_decoder_args": {"key": "greedy", "params": {"z_size": c_size,
                                                             "decoder_args": inner}}}}
    variables.finish()
    representation = get_representation(converter.settings.representation)
    return {
        "kind": CHECKPOINT_KIND,
        "model_config": {"z_size": z_size, "seq_len": converter.seq_len,
                         "encoder_params": encoder_params, "seq_decoder_args": seq_decoder},
        "data_settings": converter.settings.to_dict(),
        "representation": representation.record(),
        "state_dict": {k: torch.from_numpy(np.ascontiguousarray(v, dtype=np.float32))
                       for k, v in state.items()},
        "magenta": {"layout": folder.layout,
                    "dataConverter": converter_for(converter.settings, converter.seq_len,
                                                   converter.n_segments),
                    "sigma": "encoder/sigma" if "encoder/sigma/kernel" in folder.variables
                    else "absent: sigma = 1"},
    }
