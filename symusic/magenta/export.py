"""A symusic model as a magenta.js checkpoint folder, folded exactly into Magenta's
parametrisation, or refused in one line saying why.

What folds (each a composition of linear maps, computed in float64, stored in float32):

* a learned token embedding ``E`` followed by the LSTM's input weights ``W`` is one linear
  map of the one-hot Magenta feeds: the kernel rows ``E @ W.T``;
* the conductor's output projection ``(W_o, b_o)`` composes into the core decoder's
  initial-state layer and its input weights for the embedding (Magenta's core decoder reads
  the conductor's top h itself);
* a ``simple`` decoder (no context input) is Magenta's with zeros for the z rows;
* a ``split`` decoder's core decoders (a trio's) are Magenta's ``core_decoder_P/decoder/``;
* the forget bias of 1.0, the gate order and the state order move as :mod:`lstm` says.

What does not: a learned start-token embedding (Magenta's first input is zeros; train with
``start_input: "zeros"``), encoders of more than one layer (magenta.js reads one), and pairings
magenta.js does not make (a hierarchical encoder without the conductor, or the reverse; a trio
decoded by one LSTM over the three parts, where magenta.js's ``TrioConverter`` always splits
them), and a
GrooVAE trained without ``magenta_feedback: true`` (magenta.js feeds the predicted velocities and
offsets back at every step, hit or not; symusic's default zeroes them where no hit is drawn).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from symusic.magenta.converters import converter_for
from symusic.magenta.folder import write_tfjs_folder
from symusic.magenta.lstm import magenta_initial_state, magenta_lstm
from symusic.musicvae.model.trio_io import part_embed_sizes
from symusic.musicvae.model.vae import CheckpointError

BIDI = "cell_0/bidirectional_rnn/{}/multi_rnn_cell/cell_0/lstm_cell/"


class ExportRefused(CheckpointError):
    """A model magenta.js cannot run exactly; the message says why."""


def _lstm_layer(weights: dict, prefix: str, layer: int, reverse: bool = False,
                weight_ih: np.ndarray | None = None, extra_bias: np.ndarray | None = None
                ) -> dict[str, np.ndarray]:
    """One ``nn.LSTM`` layer as ``{"kernel", "bias"}`` (``weight_ih`` replaces its input
    weights, ``extra_bias`` is added to its bias: the folds)."""
    suffix = f"l{layer}" + ("_reverse" if reverse else "")
    w_ih = weights[f"{prefix}.weight_ih_{suffix}"] if weight_ih is None else weight_ih
    b_ih = weights[f"{prefix}.bias_ih_{suffix}"]
    if extra_bias is not None:
        b_ih = b_ih + extra_bias
    kernel, bias = magenta_lstm(w_ih, weights[f"{prefix}.weight_hh_{suffix}"], b_ih,
                                weights[f"{prefix}.bias_hh_{suffix}"])
    return {"kernel": kernel, "bias": bias}


def _put(variables: dict, prefix: str, layer: dict[str, np.ndarray]) -> None:
    for name, value in layer.items():
        variables[prefix + name] = value


def _dense(weights: dict, key: str) -> dict[str, np.ndarray]:
    return {"kernel": weights[key + ".weight"].T.astype(np.float32),
            "bias": weights[key + ".bias"].astype(np.float32)}


def _encoder(weights: dict, params, hierarchical: bool, variables: dict) -> None:
    if params.n_layers != 1:
        raise ExportRefused(f"its encoder has {params.n_layers} layers; magenta.js reads "
                            "single-layer bidirectional encoders only")
    embed = weights.get("encoder.embed.weight")  # absent: the representation's fixed table
    level0 = "encoder/hierarchical_level_0/" if hierarchical else "encoder/"
    for direction, reverse in (("fw", False), ("bw", True)):
        suffix = "l0_reverse" if reverse else "l0"
        w_ih = weights[f"encoder.lstm.weight_ih_{suffix}"]
        folded = w_ih if embed is None else w_ih @ embed.T  # one-hot rows of E @ W.T
        _put(variables, level0 + BIDI.format(direction),
             _lstm_layer(weights, "encoder.lstm", 0, reverse, folded))
        if hierarchical:
            _put(variables, "encoder/hierarchical_level_1/" + BIDI.format(direction),
                 _lstm_layer(weights, "encoder.segment_lstm", 0, reverse))
    _put(variables, "encoder/mu/", _dense(weights, "encoder.mu"))
    _put(variables, "encoder/sigma/", _dense(weights, "encoder.sigma"))


def _token_decoder(weights: dict, key: str, params, vocab: int, context: int, prefix: str,
                   variables: dict, through: tuple[np.ndarray, np.ndarray] | None = None
                   ) -> None:
    """The token decoder ``key`` under Magenta's ``prefix``; ``through``: the projection
    ``(W_o, b_o)`` its context comes through (the conductor's), folded in."""
    embed = weights.get(f"{key}.embed.weight")  # absent: the previous step's numbers as such
    if embed is not None and np.any(embed[vocab] != 0):
        raise ExportRefused("its decoder learned a start-token embedding, where Magenta feeds "
                            "zeros first; train with decoder_args.params.start_input = "
                            "\"zeros\" for a model magenta.js can run")
    w_ih = weights[f"{key}.lstm.weight_ih_l0"]
    token_part = w_ih[:, :params.embed_size]
    if embed is not None:
        token_part = token_part @ embed[:vocab].T
    context_part = (w_ih[:, params.embed_size:] if params.context_every_step
                    else np.zeros((w_ih.shape[0], context)))
    proj_w, proj_b = weights[f"{key}.initial_state.proj.weight"], \
        weights[f"{key}.initial_state.proj.bias"]
    extra = None
    if through is not None:
        out_w, out_b = through
        extra = context_part @ out_b
        context_part = context_part @ out_w
        proj_w, proj_b = proj_w @ out_w, proj_w @ out_b + proj_b
    folded = np.concatenate([token_part, context_part], axis=1)
    cell = prefix + "multi_rnn_cell/cell_{}/lstm_cell/"
    _put(variables, cell.format(0), _lstm_layer(weights, f"{key}.lstm", 0, weight_ih=folded,
                                                extra_bias=extra))
    for layer in range(1, params.n_layers):
        _put(variables, cell.format(layer), _lstm_layer(weights, f"{key}.lstm", layer))
    kernel, bias = magenta_initial_state(proj_w, proj_b, params.n_layers)
    _put(variables, prefix + "z_to_initial_state/", {"kernel": kernel, "bias": bias})
    _put(variables, prefix + "output_projection/", _dense(weights, f"{key}.out"))


@dataclass(frozen=True)
class _Core:
    """What folding one core decoder of a ``split`` decoder needs of its params."""

    embed_size: int
    n_layers: int
    context_every_step: bool


def _decoders(weights: dict, key: str, args, part_sizes: tuple[int, ...], context: int,
              prefix: str, variables: dict, where: str,
              through: tuple[np.ndarray, np.ndarray] | None = None) -> None:
    """The decoder ``key`` (config ``args``) under Magenta's ``prefix`` (``""`` or
    ``"core_decoder/"``): one token decoder, or a ``split`` decoder's core decoders as
    ``core_decoder_P/decoder/`` (magenta.js's ``SplitDecoder``)."""
    if args.key == "split":
        params = args.params
        sizes = part_embed_sizes(params.embed_size, len(part_sizes))
        for part, (vocab, embed_size) in enumerate(zip(part_sizes, sizes, strict=True)):
            _token_decoder(weights, f"{key}.cores.{part}",
                           _Core(embed_size, params.n_layers, params.context_every_step), vocab,
                           context, f"{prefix}core_decoder_{part}/decoder/", variables, through)
        return
    if args.key not in ("simple", "another"):
        raise ExportRefused(f"its {where} is {args.key!r}; magenta.js decodes tokens with an "
                            "LSTM decoder only")
    if args.params.lookback_distances:
        raise ExportRefused(f"its {where} reads lookback items (lookback_distances), which "
                            "magenta.js's decoders do not")
    if len(part_sizes) > 1:
        raise ExportRefused("magenta.js's TrioConverter decodes each part with a core decoder "
                            "of its own; train with the 'split' decoder (decoder_args.key) for "
                            "a model magenta.js can run")
    _token_decoder(weights, key, args.params, part_sizes[0], context, prefix + "decoder/",
                   variables, through)


def magenta_variables(model) -> tuple[dict, dict[str, np.ndarray]]:
    """``(config.json, variables)`` of ``model`` in Magenta's layout; :class:`ExportRefused`
    when it does not fold exactly."""
    config = model.config
    representation = model.representation
    part_sizes = representation.part_sizes
    settings = model.data_settings
    if "magenta_feedback" in representation.input_settings and not settings.magenta_feedback:
        raise ExportRefused("magenta.js's GrooveDecoder feeds back every predicted velocity "
                            "and offset, where this model zeroes them without a hit; train "
                            "with magenta_feedback: true for a model magenta.js runs exactly")
    weights = {k: v.detach().cpu().double().numpy() for k, v in model.state_dict().items()}
    seq = config.seq_decoder_args
    hierarchical = seq.key == "hier"
    segment_length = config.encoder_params.segment_length
    variables: dict[str, np.ndarray] = {}
    if hierarchical:
        hier = seq.params
        inner = hier.seq_decoder_args
        if inner.key not in ("greedy", "sample"):
            raise ExportRefused(f"its hierarchical decoder nests {inner.key!r}; magenta.js has "
                                "one conductor level over token decoders")
        if segment_length != config.seq_len // hier.n_subsequences:
            raise ExportRefused("magenta.js pairs its conductor with a hierarchical encoder "
                                "over the same segments (encoder_params.segment_length = "
                                f"{config.seq_len // hier.n_subsequences})")
        _encoder(weights, config.encoder_params, True, variables)
        conductor = hier.conductor_args.params
        prefix = "decoder/hierarchical_level_0/"
        for layer in range(conductor.n_layers):
            _put(variables, f"{prefix}cell_{layer}/lstm_cell/",
                 _lstm_layer(weights, "decoder.conductor.lstm", layer))
        kernel, bias = magenta_initial_state(weights["decoder.conductor.initial_state.proj.weight"],
                                             weights["decoder.conductor.initial_state.proj.bias"],
                                             conductor.n_layers)
        _put(variables, prefix + "initial_state/", {"kernel": kernel, "bias": bias})
        _decoders(weights, "decoder.inner.decoder", inner.params.decoder_args, part_sizes,
                  conductor.c_size, "core_decoder/", variables, "core decoder",
                  through=(weights["decoder.conductor.out.weight"],
                           weights["decoder.conductor.out.bias"]))
        segments = hier.n_subsequences
    else:
        if segment_length is not None:
            raise ExportRefused("magenta.js pairs a hierarchical encoder with a hierarchical "
                                "decoder only")
        if seq.key not in ("greedy", "sample"):
            raise ExportRefused(f"its sequence decoder {seq.key!r} is not one magenta.js has")
        _encoder(weights, config.encoder_params, False, variables)
        _decoders(weights, "decoder.decoder", seq.params.decoder_args, part_sizes,
                  config.z_size, "", variables, "decoder")
        segments = None
    spec = {"type": "MusicVAE",
            "dataConverter": converter_for(model.data_settings, config.seq_len, segments)}
    return spec, {k: v.astype(np.float32) for k, v in variables.items()}


def export_magenta(model, out_dir: str | Path, quantization: str | None = None) -> Path:
    """Write ``model`` as a magenta.js folder (``config.json``, ``weights_manifest.json``,
    shards; ``quantization`` uint8, uint16 or float16, or float32)."""
    spec, variables = magenta_variables(model)
    return write_tfjs_folder(out_dir, spec, variables, quantization)
