"""``symusic import-magenta`` and ``symusic export-magenta``: Magenta's checkpoints both ways.

    symusic import-magenta MAGENTAJS_FOLDER --out model.pt [--half] [--config-out FILE]
    symusic import-magenta TF_CHECKPOINT --out model.pt [--magenta-config NAME] [...]
    symusic export-magenta CHECKPOINT OUT_DIR [--quantize uint8|uint16|float16]

The reading and folding are :mod:`symusic.magenta`'s; this module is the command line
(registered by ``generate.py``, reported by its ``run_cli``: one line, exit 1).
"""

from __future__ import annotations

import argparse
import json

from symusic.errors import InputError, printable
from symusic.musicvae.tools.cli import check_output_file, check_output_folder


def add_magenta_commands(subcommands) -> None:
    """Register both subcommands on the ``symusic`` parser's subparsers."""
    p = subcommands.add_parser("import-magenta", help="a magenta.js checkpoint folder or a "
                                                      "Magenta TensorFlow checkpoint as a "
                                                      "symusic checkpoint (.pt)")
    p.add_argument("source", help="magenta.js checkpoint folder (config.json and "
                                  "weights_manifest.json, or deeplearn.js manifest.json), or a "
                                  "TensorFlow checkpoint: Magenta's .tar download, a folder "
                                  "with model.ckpt-N.index and its data, or that .index file")
    p.add_argument("--magenta-config", default=None, metavar="NAME",
                   help="Magenta's config of a TensorFlow checkpoint (e.g. cat-mel_2bar_big; "
                        "default: recognised from the variables' shapes)")
    p.add_argument("--out", required=True, help="symusic checkpoint to write (.pt)")
    p.add_argument("--half", action="store_true", help="store the weights as float16")
    p.add_argument("--config-out", default=None,
                   help="also write the model's part of a training config (JSON: add "
                        "train_dir, eval_dir and the schedule to fine-tune with ckpt_path)")
    p.set_defaults(func=cmd_import_magenta)

    p = subcommands.add_parser("export-magenta", help="a symusic checkpoint as a magenta.js "
                                                      "checkpoint folder")
    p.add_argument("checkpoint", help="symusic checkpoint (.pt) or a shipped model's name")
    p.add_argument("out_dir", help="folder to write config.json, weights_manifest.json and "
                                   "the shards into")
    p.add_argument("--quantize", choices=["uint8", "uint16", "float16"], default=None,
                   help="store the weights quantized as tfjs reads them (default float32)")
    p.set_defaults(func=cmd_export_magenta)


def cmd_import_magenta(args: argparse.Namespace) -> None:
    """``symusic import-magenta SRC --out model.pt``: read through the loading door, save."""
    import torch

    from symusic.atomic import atomic_write
    from symusic.magenta import is_magenta_folder, read_magenta_state
    from symusic.magenta.tf_files import is_tf_checkpoint
    from symusic.musicvae.model.vae import MusicVAE

    out = check_output_file(args.out)
    config_out = None if args.config_out is None else check_output_file(args.config_out,
                                                                        "--config-out")
    source = printable(str(args.source))
    if not (is_magenta_folder(args.source) or is_tf_checkpoint(args.source)):
        raise InputError(f"{source}: not a magenta.js checkpoint folder (no "
                         "weights_manifest.json or manifest.json) nor a TensorFlow checkpoint "
                         "(.tar, .index, or a folder holding one)")
    imported = read_magenta_state(args.source, args.magenta_config)
    model = MusicVAE.from_state(imported, source).eval()
    state = model.to_state()
    if args.half:
        state["state_dict"] = {k: v.half() if v.is_floating_point() else v
                               for k, v in state["state_dict"].items()}
    with atomic_write(out) as handle:
        torch.save(state, handle)
    config = imported["magenta"].get("config")
    origin = ("the magenta.js checkpoint" if config is None else
              f"the TensorFlow checkpoint ({config['name']}"
              + ("" if config["sizes_as_configured"] else ", with its own sizes") + ")")
    print(f"{out}: {describe_model(model)}, from {origin} {source}")
    if config_out is not None:
        with atomic_write(config_out) as handle:
            part = {**training_config_part(model), **objective_of(config)}
            handle.write(json.dumps(part, indent=1).encode())
        print(f"{config_out}: the model's part of a training config")


def training_config_part(model) -> dict:
    """The training config keys that build ``model``'s architecture and read its data."""
    config = model.config.to_dict()
    settings = model.data_settings
    return {"slice_bar": model.representation.bars_in(config["seq_len"]),
            "representation": settings.representation, "extraction": settings.extraction,
            "programs": list(settings.programs),
            **{key: config[key] for key in ("z_size", "encoder_params", "seq_decoder_args")}}


def objective_of(config: dict | None) -> dict:
    """The KL objective Magenta's config trained with (a TF import's ``config`` entry), as
    training config keys: its free bits, and its ``max_beta`` held (Magenta's beta reaches it
    as ``(1 - beta_rate**step) * max_beta``: at once for ``beta_rate`` 0, within 10% after
    230k steps for 0.99999); nothing for a magenta.js folder, which does not say."""
    if config is None:
        return {}
    beta = config["max_beta"]
    return {"free_bits": config["free_bits"],
            "beta_settings": {"start_beta": beta, "end_beta": beta, "duration": 0}}


def cmd_export_magenta(args: argparse.Namespace) -> None:
    """``symusic export-magenta CHECKPOINT OUT_DIR``: fold exactly or refuse saying why."""
    from symusic.magenta import export_magenta
    from symusic.magenta.export import ExportRefused
    from symusic.musicvae.inference import load_model

    out = check_output_folder(args.out_dir, "OUT_DIR")
    model = load_model(args.checkpoint, "cpu")
    try:
        export_magenta(model, out, args.quantize)
    except ExportRefused as e:
        raise InputError(f"{printable(str(args.checkpoint))}: magenta.js cannot run this "
                         f"model exactly: {e}") from None
    print(f"{out}: a magenta.js checkpoint of {describe_model(model)}"
          + (f", {args.quantize}" if args.quantize else ""))


def describe_model(model) -> str:
    """E.g. ``melody, hier, 16 bars, z 512``."""
    config = model.config
    bars = model.representation.bars_in(config.seq_len)
    return (f"{model.representation.name}, {config.seq_decoder_args.key}, {bars} bars, "
            f"z {config.z_size}")
