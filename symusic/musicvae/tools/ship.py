"""Ship a trained model inside the package: export, evaluate, record its figures.

``python -m symusic.musicvae.tools.ship CHECKPOINT NAME --description D [--data EVAL_DIR]``

Writes ``symusic/musicvae/pretrained/NAME.pt`` (:func:`pretrained.export_model`), evaluates it
with the evaluation command on the eval split (report in ``docs/models/NAME.eval.json``) and
records its headline figures and the regression slice's (:func:`pretrained.regression_figures`)
in ``pretrained/models.json``. Run it from the repository root.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from symusic.musicvae import pretrained
from symusic.musicvae.pretrained import HEADLINE, ShippedModel

DRUM_HEADLINE = ("teacher_forced_hit_accuracy", "teacher_forced_hit_f1", "sampled_hit_f1")


def ship(checkpoint: str, name: str, description: str, eval_dir: str,
         data_settings: dict[str, Any] | None = None) -> ShippedModel:
    """Export ``checkpoint`` as shipped model ``name``, evaluate it with the evaluation command
    on ``eval_dir`` (report in ``docs/models/NAME.eval.json``) and record its figures."""
    from symusic.musicvae.model.vae import MusicVAE
    from symusic.musicvae.tools import evaluate

    pretrained.PRETRAINED_DIR.mkdir(exist_ok=True)
    path = pretrained.export_model(checkpoint, pretrained.PRETRAINED_DIR / f"{name}.pt",
                                   data_settings)
    report_path = Path("docs") / "models" / f"{name}.eval.json"
    if evaluate.main(["--checkpoint", str(path), "--data", eval_dir, "--json", str(report_path),
                      "--device", "cpu"]) != 0:
        raise SystemExit(f"evaluation of {path} failed")
    report = json.loads(report_path.read_text())
    figures = {k: report["reconstruction"][k] for k in HEADLINE}
    # a drum model's card also quotes its hits (drum_evaluation's figures)
    figures.update({k: report["reconstruction"][k] for k in DRUM_HEADLINE
                    if k in report["reconstruction"]})
    model = MusicVAE.load(path).eval()
    figures["regression"] = pretrained.regression_figures(model, eval_dir)
    entries = {m.name: m for m in pretrained.shipped_models().values()}
    entries[name] = ShippedModel(name, path.name, description, figures)
    pretrained.INDEX_FILE.write_text(json.dumps([vars(m) for m in entries.values()], indent=2)
                                     + "\n")
    return entries[name]


def main(argv: list[str] | None = None) -> int:
    """``python -m symusic.musicvae.tools.ship CHECKPOINT NAME --description D --data EVAL``."""
    parser = argparse.ArgumentParser(prog="python -m symusic.musicvae.tools.ship",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("checkpoint")
    parser.add_argument("name")
    parser.add_argument("--description", required=True)
    parser.add_argument("--data", default="data/folk/eval", help="the eval split")
    parser.add_argument("--extraction", default=None,
                        help="record this extraction (for checkpoints that do not say)")
    args = parser.parse_args(argv)
    settings = None
    if args.extraction:
        from symusic.data.settings import DataSettings

        settings = DataSettings(extraction=args.extraction).to_dict()
    model = ship(args.checkpoint, args.name, args.description, args.data, settings)
    print(pretrained.format_models_table({model.name: model}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
