"""The experiment config: the shipped examples parse, and each kind of mistake names its key."""

import copy
import json
from pathlib import Path

import pytest

from symusic.musicvae.model.config import ConfigError
from symusic.musicvae.training.config import ExperimentConfig

CONFIG_DIR = Path(__file__).resolve().parents[2] / "symusic" / "musicvae"
SHIPPED = sorted(CONFIG_DIR.glob("config_*.json"))


def load(name: str) -> dict:
    return json.loads((CONFIG_DIR / name).read_text())


def test_the_shipped_configs_exist():
    assert [p.name for p in SHIPPED] == [
        "config_flat_2bar_small.json", "config_flat_8bar.json",
        "config_folk_mel_16bar_flat.json", "config_folk_mel_16bar_hier.json",
        "config_folk_mel_2bar.json", "config_gmd_drums_2bar.json",
        "config_groovae_2bar_humanize.json", "config_groovae_2bar_tap2drum.json",
        "config_hier_8bar.json",
        "config_hier_8bar_small.json", "config_pop_mel_16bar_flat.json",
        "config_pop_mel_16bar_hier.json", "config_pop_mel_2bar.json",
        "config_trio_16bar_small.json", "config_trio_4bar_small.json",
    ]


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_shipped_configs_parse(path):
    config = ExperimentConfig.from_dict(json.loads(path.read_text()))
    assert config.training.seq_len == config.training.slice_bar * 16
    corpus = {"drums": "groove", "groove": "groove",
              "trio": "lakh_trio"}.get(config.training.representation, "folk")
    if path.name.startswith("config_pop_"):
        corpus = "pop909"
    assert config.training.train_dir == f"data/{corpus}/train"


def test_paper_sized_examples_keep_the_seed_values():
    for name in ("config_flat_8bar.json", "config_hier_8bar.json"):
        training = ExperimentConfig.from_dict(load(name)).training
        assert (training.num_steps, training.batch_size, training.slice_bar) == (160000, 64, 8)
        assert training.sampling_settings.schedule == "inverse_sigmoid"
        assert training.sampling_settings.rate == 7500
        assert training.beta_settings.end_beta == 0.2
        assert training.free_bits == 128


def mutated(change) -> dict:
    config = copy.deepcopy(load("config_hier_8bar.json"))
    change(config)
    return config


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda c: c.update(batch_szie=3), "batch_szie: unknown key; allowed keys are"),
        (lambda c: c.update(batch_size="64"), "batch_size: input should be a valid integer"),
        (lambda c: c.update(batch_size=True), "batch_size: input should be a valid integer"),
        (lambda c: c.update(batch_size=0), "batch_size: input should be greater than 0"),
        (lambda c: c.pop("num_steps"), "num_steps: missing"),
        (lambda c: c.pop("encoder_params"), "encoder_params: missing"),
        (lambda c: c["sampling_settings"].update(schedule="linear"),
         "sampling_settings.schedule: input should be 'constant' or 'inverse_sigmoid'"),
        (lambda c: c["beta_settings"].update(end=1), "beta_settings.end: unknown key"),
        (lambda c: c.update(lr_scheduler_factor=1.5), "lr_scheduler_factor: input should be less"),
        (lambda c: c.update(programs=[0, 128]), "programs.1: input should be less than or equal"),
        (lambda c: c.update(programs=[]), "programs: list should have at least 1 item"),
        (lambda c: c["seq_decoder_args"]["params"]["conductor_args"]["params"].update(c_size="a"),
         "seq_decoder_args.params.conductor_args.params.c_size"),
    ],
)
def test_each_mistake_names_its_key(change, message):
    with pytest.raises(ConfigError) as caught:
        ExperimentConfig.from_dict(mutated(change))
    assert message in str(caught.value)


def test_unknown_key_lists_the_allowed_ones():
    with pytest.raises(ConfigError) as caught:
        ExperimentConfig.from_dict(mutated(lambda c: c.update(learnig_rate=1e-3)))
    assert "learning_rate" in str(caught.value) and "slice_bar" in str(caught.value)


def test_empty_ckpt_path_means_none():
    config = ExperimentConfig.from_dict(mutated(lambda c: c.update(ckpt_path="")))
    assert config.training.ckpt_path is None


def test_sacred_is_told_every_key_the_config_allows():
    import inspect

    from symusic.musicvae.training.config import MODEL_KEYS, TrainingConfig
    from symusic.musicvae.training.experiment import _declared_keys

    declared = set(inspect.signature(_declared_keys).parameters)
    # ``seed`` is Sacred's own; every other key must be declared or overrides of it fail.
    assert declared | {"seed"} == set(TrainingConfig.model_fields) | set(MODEL_KEYS)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda c: c.update(learning_rate=float("inf")), "learning_rate: must be a finite number"),
        (lambda c: c.update(learning_rate=float("nan")), "learning_rate: must be a finite number"),
        (lambda c: c["beta_settings"].update(end_beta=float("inf")),
         "beta_settings.end_beta: must be a finite number, got inf"),
        (lambda c: c.update(free_bits=float("-inf")), "free_bits: must be a finite number"),
        (lambda c: c["seq_decoder_args"]["params"].update(temperature=float("inf")),
         "seq_decoder_args.params.temperature: must be a finite number"),
        (lambda c: c.update(seed=2**64), "seed: input should be less than"),
        (lambda c: c.update(num_workers=10**6), "num_workers: input should be less than"),
    ],
)
def test_infinity_nan_and_huge_values_are_refused_with_their_key(change, message):
    """JSON's Infinity and NaN (and 1e999 on the command line) are not numbers a run can use."""
    with pytest.raises(ConfigError) as caught:
        ExperimentConfig.from_dict(mutated(change))
    assert message in str(caught.value)


def test_pydantic_refuses_non_finite_floats_too():
    from symusic.musicvae.training.config import BetaSettings

    with pytest.raises(Exception, match="finite number"):
        BetaSettings.model_validate({"start_beta": 0.0, "end_beta": float("inf"),
                                     "duration": 1})


@pytest.mark.parametrize("seed", [None, 1234])
def test_the_config_is_validated_once_and_handed_to_train(monkeypatch, tmp_path, seed):
    """The config hook parses the config; ``train`` gets that typed object (with Sacred's seed)
    instead of parsing it again."""
    from symusic.musicvae.training import experiment, trainer

    calls, seen = [], []
    parse = ExperimentConfig.from_dict
    monkeypatch.setattr(ExperimentConfig, "from_dict",
                        staticmethod(lambda config: calls.append(1) or parse(config)))

    class RecordingTrainer:
        stopped_by = None

        def __init__(self, config, run_dir, log, ctx):
            seen.append(config)

        def describe(self) -> str:
            return "recording trainer"

        def fit(self) -> dict:
            return {}

    monkeypatch.setattr(trainer, "Trainer", RecordingTrainer)
    monkeypatch.chdir(tmp_path)
    config = mutated(lambda c: c.update(device="cpu", num_steps=3))
    if seed is not None:
        config["seed"] = seed
    run = experiment.ex.run(config_updates=config, options={"--capture": "no"})
    assert len(calls) == 1
    [typed] = seen
    assert isinstance(typed, ExperimentConfig) and typed.training.num_steps == 3
    assert typed.training.seed == run.config["seed"] == typed.raw["seed"]
    if seed is not None:
        assert run.config["seed"] == seed
