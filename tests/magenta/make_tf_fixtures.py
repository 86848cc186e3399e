"""Write the TensorFlow checkpoint fixtures in ``tests/magenta/tf_fixtures/`` (documentation:
the tests read the files this wrote and never need TensorFlow).

    python3 -m venv /tmp/tfenv && /tmp/tfenv/bin/pip install tensorflow-cpu
    /tmp/tfenv/bin/python tests/magenta/make_tf_fixtures.py

Each fixture is a tiny MusicVAE with Magenta's variable names and shapes
(``magenta_layout.py``, seeded random weights), saved the way Magenta's training saved its
checkpoints: ``tf.compat.v1`` variables and ``tf.compat.v1.train.Saver`` (a V2 tensor bundle,
``model.ckpt-N.index`` plus ``model.ckpt-N.data-00000-of-00001`` and the ``checkpoint`` state
file), with the training state beside the weights (``global_step``, Adam's ``beta1_power`` and
``beta2_power``, and Adam slots for a few variables). ``hier_melody.tar`` is packed like
Magenta's ``.tar`` downloads. ``expected.json`` records, for every tensor, the dtype, shape and
SHA-256 of the bytes TensorFlow's own reader (``tf.train.load_checkpoint``) gives back;
``reference.json`` what TensorFlow's ops compute from ``deep_melody`` (``tf_reference.py``).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import tarfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from magenta_layout import (  # noqa: E402
    TRIO_PARTS,
    Sizes,
    magenta_variables,
    random_melodies,
    random_trios,
    trio_one_hots,
)
from tf_reference import encode_inputs_mu, encode_mu, greedy_decode  # noqa: E402

OUT = HERE / "tf_fixtures"
# small enough to commit (under 600 KB in all), the structure of Magenta's configs in CONFIG
FIXTURES = {
    "flat_melody": (Sizes(z=8, encoder_units=12, decoder_units=12, decoder_layers=2), 11),
    "hier_melody": (Sizes(steps=64, segments=4, z=8, encoder_units=10, segment_units=8,
                          conductor_units=8, conductor_layers=2, decoder_units=10,
                          decoder_layers=1), 12),
    "flat_drums": (Sizes(vocab=512, encoder_input=10, z=8, encoder_units=8, decoder_units=8,
                         decoder_layers=1, sigma=False), 13),
    # flat-mel_16bar's structure: two encoder layers (fixture_variables adds the second),
    # three decoder layers; magenta.js cannot run it (one encoder layer), so TensorFlow's own
    # LSTMBlockCell op computes the reference (tf_reference.py)
    "deep_melody": (Sizes(z=8, encoder_units=12, decoder_units=10, decoder_layers=3), 14),
    # groovae_2bar_humanize's structure: 27 numbers a step into the encoder and the decoder
    "flat_groove": (Sizes(vocab=27, encoder_input=27, z=8, encoder_units=8, decoder_units=8,
                          decoder_layers=2, humanize=True), 15),
    # flat-trio_16bar's structure: one LSTM over the three parts (MultiOutCategoricalLstm-
    # Decoder), which magenta.js cannot run (its TrioConverter splits): TensorFlow's ops are
    # the reference; and hier-trio_16bar's: a core decoder a part below the conductor
    "flat_trio": (Sizes(vocab=692, encoder_input=692, steps=256, z=6, encoder_units=4,
                        decoder_units=5, decoder_layers=2), 16),
    "hier_trio": (Sizes(vocab=692, encoder_input=692, steps=256, segments=16, z=6,
                        encoder_units=4, segment_units=4, conductor_units=4,
                        conductor_layers=2, decoder_units=4, decoder_layers=1,
                        split=TRIO_PARTS), 17),
}
DEEP_ENCODER_UNITS = 12  # the second encoder layer's (nn.LSTM's layers share one size)
GLOBAL_STEP = {"flat_melody": 1234, "hier_melody": 50, "flat_drums": 7, "deep_melody": 3,
               "flat_groove": 21, "flat_trio": 9, "hier_trio": 4}
# the Magenta config each stands for (its converter; the sizes are the fixture's own)
CONFIG = {"flat_melody": "cat-mel_2bar_small", "hier_melody": "hier-mel_16bar",
          "flat_drums": "cat-drums_2bar_small", "deep_melody": "flat-mel_16bar",
          "flat_groove": "groovae_2bar_humanize", "flat_trio": "flat-trio_16bar",
          "hier_trio": "hier-trio_16bar"}
REFERENCE_SEQUENCES = 2
REFERENCE_LOGIT_STEPS = 16  # each step's logits are kept for the first steps


def fixture_variables(name: str) -> dict[str, np.ndarray]:
    """The variables of fixture ``name`` (Magenta's names and shapes, seeded)."""
    sizes, seed = FIXTURES[name]
    variables = magenta_variables(sizes, seed)
    if name == "deep_melody":
        rng = np.random.default_rng(seed + 100)
        inputs, units = 2 * sizes.encoder_units, DEEP_ENCODER_UNITS
        for direction in ("fw", "bw"):
            prefix = (f"encoder/cell_1/bidirectional_rnn/{direction}/multi_rnn_cell/cell_0/"
                      "lstm_cell/")
            variables[prefix + "kernel"] = rng.uniform(
                -0.5, 0.5, (inputs + units, 4 * units)).astype(np.float32)
            variables[prefix + "bias"] = rng.uniform(-0.5, 0.5, 4 * units).astype(np.float32)
        for dense in ("mu", "sigma"):
            variables[f"encoder/{dense}/kernel"] = rng.uniform(
                -0.5, 0.5, (2 * units, sizes.z)).astype(np.float32)
    return variables


def save(folder: Path, variables: dict[str, np.ndarray], step: int) -> None:
    """Magenta's way: graph-mode variables, Adam's state, a Saver."""
    import tensorflow as tf

    graph = tf.Graph()
    with graph.as_default():
        tf_vars = {name: tf.compat.v1.Variable(value, name=name.replace("/", "_"))
                   for name, value in variables.items()}
        tf_vars["global_step"] = tf.compat.v1.Variable(np.int64(step), name="global_step")
        tf_vars["beta1_power"] = tf.compat.v1.Variable(np.float32(0.9 ** step), name="b1")
        tf_vars["beta2_power"] = tf.compat.v1.Variable(np.float32(0.999 ** step), name="b2")
        for name in sorted(variables, key=lambda n: variables[n].size)[:3]:
            for slot in ("Adam", "Adam_1"):
                tf_vars[f"{name}/{slot}"] = tf.compat.v1.Variable(
                    np.full_like(variables[name], 0.01), name=f"{name}_{slot}".replace("/", "_"))
        saver = tf.compat.v1.train.Saver(var_list=tf_vars)
        with tf.compat.v1.Session(graph=graph) as session:
            session.run(tf.compat.v1.global_variables_initializer())
            os.chdir(folder)  # the checkpoint state file then names it relatively
            saver.save(session, "model.ckpt", global_step=step, write_meta_graph=False)


def expected(prefix: Path) -> dict:
    import tensorflow as tf

    reader = tf.train.load_checkpoint(str(prefix))
    found = {}
    for name, shape in sorted(reader.get_variable_to_shape_map().items()):
        value = np.asarray(reader.get_tensor(name))
        found[name] = {"dtype": value.dtype.str, "shape": list(shape),
                       "sha256": hashlib.sha256(value.tobytes()).hexdigest()}
    return found


def _plain_member(member: tarfile.TarInfo) -> tarfile.TarInfo:
    """The same bytes on every run: no owner, a fixed time."""
    member.uid = member.gid = 0
    member.uname = member.gname = ""
    member.mtime = 1_500_000_000
    return member


def main() -> None:
    shutil.rmtree(OUT, ignore_errors=True)
    OUT.mkdir()
    import tensorflow as tf

    record = {"tensorflow": tf.__version__}
    for name in FIXTURES:
        folder = OUT / name
        folder.mkdir()
        save(folder, fixture_variables(name), GLOBAL_STEP[name])
        record[name] = expected(folder / f"model.ckpt-{GLOBAL_STEP[name]}")
    os.chdir(HERE)
    rng = np.random.default_rng(7)
    variables = fixture_variables("deep_melody")
    tokens = random_melodies(rng, REFERENCE_SEQUENCES, 256)
    mu = encode_mu(variables, tokens, vocab=90)
    z = rng.normal(0.0, 2.0, (REFERENCE_SEQUENCES, FIXTURES["deep_melody"][0].z))
    greedy, logits = greedy_decode(variables, z.astype(np.float32), 256, vocab=90)
    reference = {"deep_melody": {
        "tokens": tokens.tolist(), "mu": mu.tolist(), "z": z.astype(np.float32).tolist(),
        "greedy": greedy.tolist(), "logits": logits[:REFERENCE_LOGIT_STEPS].tolist()}}
    variables = fixture_variables("flat_trio")
    trios = random_trios(rng, REFERENCE_SEQUENCES, 256)
    mu = encode_inputs_mu(variables, trio_one_hots(trios))
    z = rng.normal(0.0, 2.0, (REFERENCE_SEQUENCES, FIXTURES["flat_trio"][0].z))
    greedy, logits = greedy_decode(variables, z.astype(np.float32), 256, vocab=692,
                                   parts=TRIO_PARTS)
    reference["flat_trio"] = {
        "tokens": trios.tolist(), "mu": mu.tolist(), "z": z.astype(np.float32).tolist(),
        "greedy": greedy.tolist(), "logits": logits[:REFERENCE_LOGIT_STEPS].tolist()}
    (OUT / "reference.json").write_text(json.dumps(reference) + "\n")
    # Magenta's downloads are tar files of the checkpoint's files
    with tarfile.open(OUT / "hier_melody.tar", "w", format=tarfile.GNU_FORMAT) as tar:
        for path in sorted((OUT / "hier_melody").iterdir()):
            if path.name != "checkpoint":
                tar.add(path, arcname=f"hier_melody/{path.name}", filter=_plain_member)
    shutil.rmtree(OUT / "hier_melody")
    (OUT / "expected.json").write_text(json.dumps(record, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
