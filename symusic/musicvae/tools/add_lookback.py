"""Give a trained token-decoder model lookback inputs without changing what it computes.

``python -m symusic.musicvae.tools.add_lookback CHECKPOINT OUT --distances 64,128``

The decoder (the flat one, or the core decoder under ``hier``) gains ``lookback_distances``:
each step also reads the items that many steps back, through a new embedding. The LSTM's
weights on those new inputs start at zero, so the grown model decodes exactly as the original
until training moves them; ``OUT`` is a weights-only file to give a config as ``ckpt_path``.
This is how the shipped 16-bar POP909 models gained their lookback (docs/MODELS.md).
"""

from __future__ import annotations

import argparse
import copy
import sys

import torch

from symusic.errors import InputError

PROG = "python -m symusic.musicvae.tools.add_lookback"


def token_decoder_params(model_config: dict) -> dict:
    """The ``params`` of the decoder that reads the previous token: under ``greedy``/``sample``
    directly, under ``hier`` its core decoder's. ``InputError`` for a model without one."""
    seq = model_config["seq_decoder_args"]
    if seq["key"] == "hier":
        seq = seq["params"]["seq_decoder_args"]
    decoder = seq["params"].get("decoder_args")
    if decoder is None or decoder["key"] not in ("simple", "another"):
        raise InputError("the model's decoder is not a simple/another token "
                         "decoder")
    return decoder["params"]


def add_lookback(model, distances: tuple[int, ...]):
    """A copy of MusicVAE ``model`` whose token decoder reads ``distances`` back, computing what
    ``model`` does (zero LSTM weights on the lookback embeddings)."""
    from symusic.musicvae.model.config import ModelConfig
    from symusic.musicvae.model.vae import MusicVAE

    config = copy.deepcopy(model.config.to_dict())
    params = token_decoder_params(config)
    if params.get("lookback_distances"):
        raise InputError(f"the model already looks back "
                         f"{list(params['lookback_distances'])} steps")
    params["lookback_distances"] = list(distances)
    grown = MusicVAE(ModelConfig.from_dict(config), model.data_settings)
    old = {k: v.float() for k, v in model.state_dict().items()}
    new = grown.state_dict()
    embed = int(params["embed_size"])
    for key, value in new.items():
        if key not in old:  # the lookback embedding: its fresh initialisation
            continue
        if old[key].shape == value.shape:
            new[key] = old[key]
            continue
        # the first LSTM layer's input weights: [previous item, lookback..., context]
        extra = value.shape[1] - old[key].shape[1]
        new[key] = torch.cat([old[key][:, :embed], torch.zeros(value.shape[0], extra),
                              old[key][:, embed:]], dim=1)
    grown.load_state_dict(new)
    return grown


def main(argv: list[str] | None = None) -> int:
    """``python -m symusic.musicvae.tools.add_lookback CHECKPOINT OUT --distances 64,128``."""
    from symusic.musicvae.inference import load_model
    from symusic.musicvae.tools.cli import check_output_file, run_cli

    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0])
    parser.add_argument("checkpoint", help="a checkpoint file or a shipped model's name")
    parser.add_argument("out")
    parser.add_argument("--distances", required=True, help="steps back, e.g. 64,128")
    args = parser.parse_args(argv)
    try:
        distances = tuple(int(d) for d in args.distances.split(","))
        if not distances or min(distances) < 1:
            raise ValueError
    except ValueError:
        print(f"{PROG}: error: --distances: positive step counts such as 64,128, not "
              f"{args.distances!r}", file=sys.stderr)
        return 2

    def grow(args: argparse.Namespace) -> None:
        out = check_output_file(args.out, "OUT")
        add_lookback(load_model(args.checkpoint), distances).save(out)
        print(f"wrote {out}: looks back {list(distances)} steps")

    return run_cli(PROG, grow, args)


if __name__ == "__main__":
    sys.exit(main())
