"""Small MusicVAE checkpoints in Magenta's exact layout, with seeded random weights.

The variable names and shapes are those of Magenta's ``lstm_models.py`` as magenta.js's
``music_vae/model.ts`` reads them: ``LSTMBlockCell`` kernels ``[input + units, 4 units]``,
dense kernels ``[in, out]``, the decoders' inputs ``[previous one-hot, z]``, the conductor's
inputs zeros of width 1. Written by the test side only from names and shapes, so the import
and magenta.js read the same bytes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

BIDI = "cell_0/bidirectional_rnn/{direction}/multi_rnn_cell/cell_0/lstm_cell/"


@dataclass(frozen=True)
class Sizes:
    """The sizes of a small model; ``segments`` makes it hierarchical."""

    vocab: int = 90  # output classes (90 melody, 512 drums, 27 groove numbers)
    encoder_input: int = 90  # 90 melody one-hot, 10 drum roll, 27 groove numbers
    steps: int = 32
    z: int = 16
    encoder_units: int = 24
    segment_units: int = 20  # hierarchical encoder, level 1
    conductor_units: int = 18
    conductor_layers: int = 2
    decoder_units: int = 28
    decoder_layers: int = 2
    segments: int | None = None
    sigma: bool = True
    humanize: bool = False  # a groove model's converter flag
    # a trio's parts (vocab and encoder_input 692): one core decoder a part
    # (core_decoder_P/decoder/, SplitMultiOutLstmDecoder), or None: one decoder over the step
    split: tuple[int, ...] | None = None


def _uniform(rng: np.random.Generator, shape: tuple[int, ...], scale: float) -> np.ndarray:
    return rng.uniform(-scale, scale, size=shape).astype(np.float32)


def _lstm(rng, variables: dict, prefix: str, input_size: int, units: int) -> None:
    variables[prefix + "kernel"] = _uniform(rng, (input_size + units, 4 * units), 0.5)
    variables[prefix + "bias"] = _uniform(rng, (4 * units,), 0.5)


def _dense(rng, variables: dict, prefix: str, inputs: int, outputs: int, scale=0.5) -> None:
    variables[prefix + "kernel"] = _uniform(rng, (inputs, outputs), scale)
    variables[prefix + "bias"] = _uniform(rng, (outputs,), scale)


def _decoder(rng, variables: dict, prefix: str, sizes: Sizes, context: int,
             vocab: int | None = None) -> None:
    vocab = sizes.vocab if vocab is None else vocab
    for layer in range(sizes.decoder_layers):
        inputs = vocab + context if layer == 0 else sizes.decoder_units
        _lstm(rng, variables, f"{prefix}multi_rnn_cell/cell_{layer}/lstm_cell/", inputs,
              sizes.decoder_units)
    _dense(rng, variables, prefix + "z_to_initial_state/", context,
           2 * sizes.decoder_layers * sizes.decoder_units)
    _dense(rng, variables, prefix + "output_projection/", sizes.decoder_units, vocab, 1.0)


def _decoders(rng, variables: dict, prefix: str, sizes: Sizes, context: int) -> None:
    """The decoder under ``prefix`` ("" or "core_decoder/"), split into parts or not."""
    if sizes.split is None:
        _decoder(rng, variables, prefix + "decoder/", sizes, context)
    for part, vocab in enumerate(sizes.split or ()):
        _decoder(rng, variables, f"{prefix}core_decoder_{part}/decoder/", sizes, context, vocab)


def magenta_variables(sizes: Sizes, seed: int) -> dict[str, np.ndarray]:
    """Every variable of a flat (``segments`` None) or hierarchical MusicVAE, by name."""
    rng = np.random.default_rng(seed)
    variables: dict[str, np.ndarray] = {}
    if sizes.segments is None:
        for direction in ("fw", "bw"):
            _lstm(rng, variables, "encoder/" + BIDI.format(direction=direction),
                  sizes.encoder_input, sizes.encoder_units)
        top = sizes.encoder_units
    else:
        for direction in ("fw", "bw"):
            _lstm(rng, variables, "encoder/hierarchical_level_0/" + BIDI.format(
                direction=direction), sizes.encoder_input, sizes.encoder_units)
        for direction in ("fw", "bw"):
            _lstm(rng, variables, "encoder/hierarchical_level_1/" + BIDI.format(
                direction=direction), 2 * sizes.encoder_units, sizes.segment_units)
        top = sizes.segment_units
    _dense(rng, variables, "encoder/mu/", 2 * top, sizes.z)
    if sizes.sigma:
        _dense(rng, variables, "encoder/sigma/", 2 * top, sizes.z)
    if sizes.segments is None:
        _decoders(rng, variables, "", sizes, sizes.z)
    else:
        conductor = "decoder/hierarchical_level_0/"
        for layer in range(sizes.conductor_layers):
            _lstm(rng, variables, f"{conductor}cell_{layer}/lstm_cell/",
                  1 if layer == 0 else sizes.conductor_units, sizes.conductor_units)
        _dense(rng, variables, conductor + "initial_state/", sizes.z,
               2 * sizes.conductor_layers * sizes.conductor_units)
        _decoders(rng, variables, "core_decoder/", sizes, sizes.conductor_units)
    return variables


def magenta_spec(sizes: Sizes) -> dict:
    """The ``config.json`` of such a model."""
    args: dict = {"numSteps": sizes.steps}
    if sizes.segments is not None:
        args["numSegments"] = sizes.segments
    if sizes.vocab == 512:
        return {"type": "MusicVAE", "dataConverter": {"type": "DrumsConverter", "args": args}}
    if sizes.vocab == 692:
        melody = {"minPitch": 21, "maxPitch": 108, "ignorePolyphony": True}
        return {"type": "MusicVAE", "dataConverter": {"type": "TrioConverter", "args": {
            **args, "melArgs": melody, "bassArgs": dict(melody), "drumsArgs": {}}}}
    if sizes.vocab == 27:
        return {"type": "MusicVAE", "dataConverter": {
            "type": "GrooveConverter", "args": {**args, "humanize": sizes.humanize,
                                                "tapify": False}}}
    return {"type": "MusicVAE", "dataConverter": {
        "type": "MelodyConverter", "args": {**args, "minPitch": 21, "maxPitch": 108}}}


FLAT_MELODY = Sizes()
HIER_MELODY = Sizes(steps=64, segments=4, decoder_layers=1)
FLAT_DRUMS = Sizes(vocab=512, encoder_input=10, decoder_layers=1, sigma=False)
FLAT_GROOVE = Sizes(vocab=27, encoder_input=27, humanize=True)
TRIO_PARTS = (90, 90, 512)
# magenta.js's trio_4bar and trio_16bar structures: a core decoder a part
FLAT_TRIO = Sizes(vocab=692, encoder_input=692, decoder_units=12, decoder_layers=2,
                  split=TRIO_PARTS)
HIER_TRIO = Sizes(vocab=692, encoder_input=692, steps=64, segments=4, encoder_units=10,
                  segment_units=8, conductor_units=8, decoder_units=10, decoder_layers=1,
                  split=TRIO_PARTS)


def random_melodies(rng: np.random.Generator, count: int, steps: int) -> np.ndarray:
    """Melodies that survive a NoteSequence round trip: note-offs only after a note."""
    melodies = np.zeros((count, steps), dtype=np.int64)
    for row in melodies:
        sounding = False
        for step in range(steps):
            draw = rng.random()
            if draw < 0.3:
                row[step], sounding = rng.integers(2, 90), True
            elif draw < 0.45 and sounding:
                row[step], sounding = 1, False
    return melodies


def random_grooves(rng: np.random.Generator, count: int, steps: int) -> np.ndarray:
    """Groove windows ``[count, steps, 27]``: hits, with velocities and offsets only there."""
    hits = (rng.random((count, steps, 9)) < 0.25).astype(np.float32)
    velocities = rng.uniform(0.1, 1.0, hits.shape).astype(np.float32) * hits
    offsets = rng.uniform(-0.9, 0.9, hits.shape).astype(np.float32) * hits
    return np.concatenate([hits, velocities, offsets], axis=-1)


def random_drums(rng: np.random.Generator, count: int, steps: int) -> np.ndarray:
    """Drum tokens: each step a random set of the nine classes, often none."""
    tokens = rng.integers(0, 512, size=(count, steps))
    return np.where(rng.random((count, steps)) < 0.4, 0, tokens)


def random_trios(rng: np.random.Generator, count: int, steps: int) -> np.ndarray:
    """Trio windows ``[count, steps, 3]``: a lead and a bass melody and drum tokens."""
    return np.stack([random_melodies(rng, count, steps), random_melodies(rng, count, steps),
                     random_drums(rng, count, steps)], axis=-1)


def trio_one_hots(windows: np.ndarray) -> np.ndarray:
    """What Magenta's trio encoder reads: the parts' one-hots side by side, 692 a step."""
    return np.concatenate([np.eye(size, dtype=np.float32)[windows[..., part]]
                           for part, size in enumerate(TRIO_PARTS)], axis=-1)
