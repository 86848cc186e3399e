"""Fit a mixture prior to a trained model's codes and write the model with it.

``python -m symusic.musicvae.tools.fit_prior CHECKPOINT OUT --data TRAIN_DIR [--components 512]``

Encodes up to ``--windows`` training windows (read as the model's training data was), fits
``--components`` diagonal Gaussians to their codes (z = mu, the codes reconstructions decode;
measured against one draw from q(z|x) each, they give prior samples that restate more bars)
(:class:`~symusic.musicvae.model.prior.MixturePrior`) and writes ``OUT``: the model's weights
as they were, with the mixture beside them. Prior samples of ``OUT`` (``symusic sample``, the
studio, the evaluation) then draw from the mixture unless told ``--prior normal``. This is how
the shipped 16-bar POP909 models got theirs (docs/MODELS.md).
"""

from __future__ import annotations

import argparse
import sys

PROG = "python -m symusic.musicvae.tools.fit_prior"


def main(argv: list[str] | None = None) -> int:
    """``python -m symusic.musicvae.tools.fit_prior CHECKPOINT OUT --data DIR``."""
    from symusic.musicvae.tools.cli import check_output_file, run_cli

    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0])
    parser.add_argument("checkpoint", help="a checkpoint file or a shipped model's name")
    parser.add_argument("out")
    parser.add_argument("--data", required=True,
                        help="a folder of MIDI files: the model's training files")
    parser.add_argument("--components", type=int, default=512,
                        help="Gaussians in the mixture (default 512)")
    parser.add_argument("--windows", type=int, default=8192,
                        help="training windows to encode, evenly spaced (default 8192)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    def fit(args: argparse.Namespace) -> None:
        from symusic.errors import InputError
        from symusic.musicvae.evaluation import load_model_windows
        from symusic.musicvae.inference import TrainedModel
        from symusic.musicvae.model.prior import MixturePrior

        out = check_output_file(args.out, "OUT")
        if args.windows < 1:
            raise InputError(f"--windows must be 1 or more, got {args.windows}")
        trained = TrainedModel.load(args.checkpoint)
        windows, info = load_model_windows(trained.model, args.data, args.windows)
        described = (f"{len(windows):,} windows of {args.data} ({info['files']}), "
                     f"z = mu, seed {args.seed}")
        trained.model.prior = MixturePrior.fit(trained.encode(windows), args.components,
                                               args.seed, described)
        trained.model.save(out)
        print(f"wrote {out}: a prior of {args.components} Gaussians fitted to {described}")

    return run_cli(PROG, fit, args)


if __name__ == "__main__":
    sys.exit(main())
