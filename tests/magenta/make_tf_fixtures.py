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
SHA-256 of the bytes TensorFlow's own reader (``tf.train.load_checkpoint``) gives back.
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
from magenta_layout import Sizes, magenta_variables  # noqa: E402

OUT = HERE / "tf_fixtures"
# small enough to commit (under 300 KB in all), the structure of Magenta's configs in CONFIG
FIXTURES = {
    "flat_melody": (Sizes(z=8, encoder_units=12, decoder_units=12, decoder_layers=2), 11),
    "hier_melody": (Sizes(steps=64, segments=4, z=8, encoder_units=10, segment_units=8,
                          conductor_units=8, conductor_layers=2, decoder_units=10,
                          decoder_layers=1), 12),
    "flat_drums": (Sizes(vocab=512, encoder_input=10, z=8, encoder_units=8, decoder_units=8,
                         decoder_layers=1, sigma=False), 13),
}
GLOBAL_STEP = {"flat_melody": 1234, "hier_melody": 50, "flat_drums": 7}
# the Magenta config each stands for (its converter; the sizes are the fixture's own)
CONFIG = {"flat_melody": "cat-mel_2bar_small", "hier_melody": "hier-mel_16bar",
          "flat_drums": "cat-drums_2bar_small"}


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


def main() -> None:
    shutil.rmtree(OUT, ignore_errors=True)
    OUT.mkdir()
    import tensorflow as tf

    record = {"tensorflow": tf.__version__}
    for name, (sizes, seed) in FIXTURES.items():
        folder = OUT / name
        folder.mkdir()
        save(folder, magenta_variables(sizes, seed), GLOBAL_STEP[name])
        record[name] = expected(folder / f"model.ckpt-{GLOBAL_STEP[name]}")
    os.chdir(HERE)
    # Magenta's downloads are tar files of the checkpoint's files
    with tarfile.open(OUT / "hier_melody.tar", "w", format=tarfile.GNU_FORMAT) as tar:
        for path in sorted((OUT / "hier_melody").iterdir()):
            if path.name != "checkpoint":
                tar.add(path, arcname=f"hier_melody/{path.name}")
    shutil.rmtree(OUT / "hier_melody")
    (OUT / "expected.json").write_text(json.dumps(record, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
