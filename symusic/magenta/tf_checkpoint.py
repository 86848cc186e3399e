"""A Magenta TensorFlow checkpoint as a symusic checkpoint state, through the same import as a
magenta.js folder.

magenta.js's checkpoints were converted from these same TF variables under the same names
(``encoder/...``, ``decoder/...``, ``core_decoder/...``), so a TF checkpoint becomes a
:class:`~symusic.magenta.folder.MagentaFolder` whose ``config.json`` is the named (or
recognised) Magenta config's converter (:mod:`magenta_configs`), and
:func:`~symusic.magenta.importer.state_from_magenta` does the rest. The training state beside
the weights (``global_step``, Adam's slots and powers) is left unread.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from symusic.magenta.folder import MAX_TOTAL_VALUES, MAX_VARIABLES, MagentaFolder
from symusic.magenta.importer import state_from_magenta
from symusic.magenta.magenta_configs import (
    Architecture,
    MagentaConfig,
    architecture_of,
    magenta_config,
    recognise,
)
from symusic.magenta.tf_bundle import TFCheckpointError
from symusic.magenta.tf_files import open_tf_checkpoint

TRAINING_STATE = {"global_step", "beta1_power", "beta2_power"}
SLOT_SUFFIXES = ("/Adam", "/Adam_1")
FLOAT32 = 1  # TensorFlow's DT_FLOAT


def is_training_state(name: str) -> bool:
    """Whether ``name`` is the optimiser's or the step counter's, not the model's."""
    return name in TRAINING_STATE or name.endswith(SLOT_SUFFIXES)


def _kind(architecture: Architecture | MagentaConfig) -> str:
    if isinstance(architecture, MagentaConfig):
        architecture = architecture.architecture()
    encoder = "hierarchical" if architecture.hierarchical_encoder else "flat"
    decoder = "hierarchical" if architecture.conductor else "flat"
    cores = f" ({architecture.cores} core decoders)" if architecture.cores > 1 else ""
    return f"{encoder} encoder, {decoder} decoder{cores}, {architecture.vocab} classes"


def _check_structure(config: MagentaConfig, shapes: dict[str, tuple[int, ...]],
                     where: str) -> bool:
    """Whether the shapes have the config's sizes; CheckpointError when not even its
    structure (hierarchy, classes)."""
    found = architecture_of(shapes)
    wanted = config.architecture()
    if found is None:
        return False  # the import names what is missing
    if (found.hierarchical_encoder, found.conductor is None, found.vocab, found.cores) != (
            wanted.hierarchical_encoder, wanted.conductor is None, wanted.vocab, wanted.cores):
        raise TFCheckpointError(f"{where}: {config.name} has a {_kind(config)}; this "
                                f"checkpoint has a {_kind(found)}")
    return found == wanted


def read_tf_state(path: str | Path, config_name: str | None = None) -> dict[str, Any]:
    """The symusic checkpoint state of the TensorFlow checkpoint at ``path`` (a folder, an
    ``.index`` file or a ``.tar``), its data converter from Magenta's config ``config_name``
    or, when None, recognised from the variables' shapes; ``CheckpointError`` in one line."""
    where = str(path)
    config = None if config_name is None else magenta_config(config_name)
    with open_tf_checkpoint(path) as bundle:
        names = [n for n in bundle.entries if not is_training_state(n)]
        if len(names) > MAX_VARIABLES:
            raise TFCheckpointError(f"{where}: more than {MAX_VARIABLES} model variables")
        shapes = {n: bundle.entries[n].shape for n in names}
        if config is None:
            config = recognise(shapes, where)
        sizes_match = _check_structure(config, shapes, where)
        total = sum(int(np.prod(s)) for s in shapes.values())
        if total > MAX_TOTAL_VALUES:
            raise TFCheckpointError(f"{where}: more than {MAX_TOTAL_VALUES} values in all")
        variables = {}
        for name in names:
            if bundle.entries[name].dtype != FLOAT32:
                raise TFCheckpointError(f"{where}: variable {name[:100]!r} is not float32")
            values = bundle.read(name)
            if not np.isfinite(values).all():
                raise TFCheckpointError(f"{where}: variable {name[:100]!r} holds NaN or "
                                        "infinity")
            variables[name] = values
        step = (int(bundle.read("global_step").reshape(-1)[0])
                if "global_step" in bundle.entries and bundle.entries["global_step"].shape == ()
                else None)
    spec = {"type": "MusicVAE", "dataConverter": config.data_converter()}
    state = state_from_magenta(MagentaFolder(spec, variables, "tensorflow"), where)
    state["magenta"]["config"] = {"name": config.name, "source": config.url,
                                  "sizes_as_configured": sizes_match,
                                  "free_bits": config.free_bits, "max_beta": config.max_beta,
                                  "beta_rate": config.beta_rate, "global_step": step}
    return state
