"""ModelConfig: parsing, round trip, and a message naming the key for each kind of mistake."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from symusic.musicvae.model import DECODERS, SEQ_DECODERS, ConfigError, ModelConfig

SPEC_HIER = {
    "z_size": 512, "encoder_params": {"embed_size": 12, "hidden_size": 2048, "n_layers": 2},
    "seq_decoder_args": {"key": "hier", "params": {"z_size": 512, "n_subsequences": 8,
        "conductor_args": {"key": "conductor",
                           "params": {"hidden_size": 1024, "c_size": 512, "n_layers": 2}},
        "seq_decoder_args": {"key": "greedy", "params": {"z_size": 512,
            "decoder_args": {"key": "another", "params": {
                "z_size": 512, "embed_size": 12, "hidden_size": 1024, "n_layers": 2}}}}}}}

HIER = "seq_decoder_args.params"
CONDUCTOR = f"{HIER}.conductor_args.params"
INNER = f"{HIER}.seq_decoder_args.params"


def broken(base: dict, path: str, value=..., delete: bool = False) -> dict:
    """A deep copy of ``base`` with the dotted ``path`` set to ``value`` (or deleted)."""
    d = json.loads(json.dumps(base))
    *parents, last = path.split(".")
    node = d
    for key in parents:
        node = node[key]
    if delete:
        del node[last]
    else:
        node[last] = value
    return d


def test_spec_hier_example_parses_and_round_trips():
    config = ModelConfig.from_dict({**SPEC_HIER, "batch_size": 64}, seq_len=128)
    assert config.seq_decoder_args.params.conductor_args.params.c_size == 512
    assert ModelConfig.from_dict(config.to_dict()) == config
    assert ModelConfig.from_dict(config.to_dict(), seq_len=128) == config


def test_sample_temperature_defaults_to_one(make_model_dict):
    config = ModelConfig.from_dict(make_model_dict(seq="sample"), seq_len=32)
    assert config.seq_decoder_args.params.temperature == 1.0
    assert ModelConfig.from_dict(config.to_dict()) == config


@pytest.mark.parametrize("name", ["config_flat_8bar.json", "config_hier_8bar.json"])
def test_shipped_experiment_configs_parse(name):
    path = Path(__file__).parents[2] / "symusic" / "musicvae" / name
    if not path.exists():
        pytest.skip(f"{name} not shipped")
    d = json.loads(path.read_text())
    ModelConfig.from_dict(d, seq_len=d["slice_bar"] * 16)


def test_the_registries_hold_the_spec_keys():
    # the spec's, then "split" (the trio's one core decoder per part, split_decoder.py)
    assert list(DECODERS.params) == ["simple", "another", "conductor", "split"]
    assert list(SEQ_DECODERS.params) == ["greedy", "sample", "hier"]


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        # wrong types
        (f"{CONDUCTOR}.c_size", "abc",
         f"{CONDUCTOR}.c_size: must be a positive integer, got 'abc'"),
        ("encoder_params.n_layers", 0,
         "encoder_params.n_layers: must be a positive integer, got 0"),
        ("encoder_params.hidden_size", 2.5, "must be a positive integer, got 2.5"),
        ("encoder_params.embed_size", True, "must be a positive integer, got True"),
        ("z_size", "512", "z_size: must be a positive integer, got '512'"),
        ("encoder_params", [12], "encoder_params: must be a mapping"),
        # unknown keys, naming what is allowed
        ("encoder_params.dropout", 0.1,
         "encoder_params.dropout: unknown key; allowed keys are embed_size, hidden_size, n_layers"),
        (f"{CONDUCTOR}.embed_size", 12, f"{CONDUCTOR}.embed_size: unknown key"),
        # unknown factory keys, naming the known ones
        ("seq_decoder_args.key", "beam",
         "seq_decoder_args.key: unknown key 'beam'; known: greedy, hier, sample"),
        (f"{INNER}.decoder_args.key", "gru",
         f"{INNER}.decoder_args.key: unknown key 'gru'; known: another, conductor, simple"),
        # inconsistent sizes
        (f"{HIER}.z_size", 256,
         f"{HIER}.z_size: must equal the size of the context it receives (z_size = 512), got 256"),
        (f"{INNER}.z_size", 256, f"{INNER}.z_size: must equal the size of the context it "
         f"receives ({CONDUCTOR}.c_size = 512), got 256"),
        (f"{INNER}.decoder_args.params.z_size", 100, f"{INNER}.decoder_args.params.z_size: must "
         f"equal the size of the context it receives ({INNER}.z_size = 512), got 100"),
        (f"{HIER}.n_subsequences", 3,
         f"{HIER}.n_subsequences: must divide the sequence length (128 steps), got 3"),
        # a conductor outside hier, a non-conductor as conductor
        (f"{HIER}.conductor_args.key", "another",
         f"{HIER}.conductor_args.key: 'another' is not allowed here; allowed here: conductor"),
        (f"{INNER}.decoder_args",
         {"key": "conductor", "params": {"hidden_size": 8, "c_size": 8, "n_layers": 1}},
         f"{INNER}.decoder_args.key: 'conductor' is not allowed here; allowed here: another, "
         "simple, split ('conductor' only as conductor_args of 'hier')"),
    ],
)
def test_bad_value_names_the_key_and_what_is_allowed(path, value, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        ModelConfig.from_dict(broken(SPEC_HIER, path, value), seq_len=128)


@pytest.mark.parametrize(
    "path", ["z_size", "encoder_params.n_layers", f"{CONDUCTOR}.c_size", f"{HIER}.conductor_args",
             f"{INNER}.decoder_args.params", "seq_decoder_args.key"])
def test_missing_key_is_named(path):
    with pytest.raises(ConfigError, match=re.escape(f"{path}: missing required key")):
        ModelConfig.from_dict(broken(SPEC_HIER, path, delete=True), seq_len=128)


def test_other_top_level_keys_are_left_to_the_experiment_config():
    ModelConfig.from_dict({**SPEC_HIER, "learning_rate": "anything"}, seq_len=128)


def test_seq_len_must_be_known_consistent_and_positive():
    with pytest.raises(ConfigError, match="seq_len: missing"):
        ModelConfig.from_dict(SPEC_HIER)
    with pytest.raises(ConfigError, match="seq_len: 64 disagrees with seq_len=128"):
        ModelConfig.from_dict({**SPEC_HIER, "seq_len": 64}, seq_len=128)
    with pytest.raises(ConfigError, match="seq_len: must be a positive integer, got -16"):
        ModelConfig.from_dict(SPEC_HIER, seq_len=-16)


def test_path_prefix_goes_in_front_of_every_key_path():
    with pytest.raises(ConfigError, match=re.escape(f"model.{CONDUCTOR}.c_size: must be")):
        ModelConfig.from_dict(broken(SPEC_HIER, f"{CONDUCTOR}.c_size", -1), 128, "model")


def test_nested_hier_checks_against_the_subsequence_length(make_model_dict):
    d = make_model_dict("hier", n_subsequences=2, c_size=10)
    inner = d["seq_decoder_args"]["params"]
    inner["seq_decoder_args"] = {"key": "hier", "params": {
        "z_size": 10, "n_subsequences": 3, "conductor_args": inner["conductor_args"],
        "seq_decoder_args": inner["seq_decoder_args"]}}
    # 32 steps / 2 = 16-step subsequences, which 3 does not divide
    with pytest.raises(ConfigError, match=re.escape("must divide the sequence length (16 steps)")):
        ModelConfig.from_dict(d, seq_len=32)


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        # inside a hier inside the top hier: every tag pydantic puts in the location is gone
        (f"{INNER}.decoder_args.params.hidden_size", -3,
         f"{INNER}.decoder_args.params.hidden_size: must be a positive integer, got -3"),
        (f"{INNER}.decoder_args.params.residual", 0.5,
         f"{INNER}.decoder_args.params.residual: unknown key; allowed keys are embed_size, "
         "hidden_size, n_layers, start_input, dropout, word_dropout, lookback_distances, "
         "lookback_dropout, lookback_span, z_size"),
        (f"{INNER}.decoder_args", "another",
         f"{INNER}.decoder_args: must be a mapping, got 'another'"),
        (f"{INNER}.decoder_args.extra", 1,
         f"{INNER}.decoder_args.extra: unknown key; allowed keys are key, params"),
        (f"{INNER}.temperature", 0.5,
         f"{INNER}.temperature: unknown key; allowed keys are z_size, decoder_args"),
        (f"{HIER}.seq_decoder_args",
         {"key": "sample", "params": {"z_size": 512, "temperature": -1.0, "decoder_args": {
             "key": "simple", "params": {"embed_size": 4, "hidden_size": 8, "n_layers": 1}}}},
         f"{HIER}.seq_decoder_args.params.temperature: must be a positive number, got -1.0"),
        (f"{CONDUCTOR}", [], f"{CONDUCTOR}: must be a mapping, got []"),
    ],
)
def test_errors_deep_in_the_tree_name_the_whole_key_path(path, value, message):
    with pytest.raises(ConfigError) as caught:
        ModelConfig.from_dict(broken(SPEC_HIER, path, value), seq_len=128)
    assert str(caught.value) == message


def test_an_inner_hier_is_checked_against_its_own_context(make_model_dict):
    d = make_model_dict("hier", n_subsequences=2, c_size=10)
    inner = d["seq_decoder_args"]["params"]
    inner["seq_decoder_args"] = {"key": "hier", "params": {
        "z_size": 10, "n_subsequences": 2,
        "conductor_args": {"key": "conductor",
                           "params": {"hidden_size": 8, "c_size": 6, "n_layers": 1}},
        "seq_decoder_args": inner["seq_decoder_args"]}}  # its decoder expects 10, gets 6
    deepest = "seq_decoder_args.params.seq_decoder_args.params.seq_decoder_args.params"
    with pytest.raises(ConfigError) as caught:
        ModelConfig.from_dict(d, seq_len=32, path_prefix="model")
    assert str(caught.value) == (
        f"model.{deepest}.z_size: must equal the size of the context it receives "
        "(model.seq_decoder_args.params.seq_decoder_args.params.conductor_args.params.c_size"
        " = 6), got 10")


# What the hand-written parser before pydantic made of two shipped configs (to_dict): a
# checkpoint's model_config from then reads back to the same config now.
OLD_TO_DICT = {
    "config_folk_mel_2bar.json": {
        "z_size": 128, "seq_len": 32,
        "encoder_params": {"embed_size": 32, "hidden_size": 256, "n_layers": 1},
        "seq_decoder_args": {"key": "greedy", "params": {"z_size": 128, "decoder_args": {
            "key": "another", "params": {
                "z_size": 128, "embed_size": 12, "hidden_size": 256, "n_layers": 2}}}}},
    "config_hier_8bar_small.json": {
        "z_size": 256, "seq_len": 128,
        "encoder_params": {"embed_size": 32, "hidden_size": 256, "n_layers": 1},
        "seq_decoder_args": {"key": "hier", "params": {
            "z_size": 256, "n_subsequences": 8,
            "conductor_args": {"key": "conductor",
                               "params": {"hidden_size": 256, "c_size": 128, "n_layers": 1}},
            "seq_decoder_args": {"key": "greedy", "params": {"z_size": 128, "decoder_args": {
                "key": "another", "params": {
                    "z_size": 128, "embed_size": 12, "hidden_size": 256, "n_layers": 1}}}}}}},
}


@pytest.mark.parametrize("name", sorted(OLD_TO_DICT))
def test_shipped_configs_parse_to_the_dict_the_old_parser_made(name):
    path = Path(__file__).parents[2] / "symusic" / "musicvae" / name
    d = json.loads(path.read_text())
    config = ModelConfig.from_dict(d, seq_len=d["slice_bar"] * 16)
    assert config.to_dict() == OLD_TO_DICT[name]
    assert ModelConfig.from_dict(OLD_TO_DICT[name]) == config


def test_a_sample_temperature_given_as_an_int_is_stored_as_a_float(make_model_dict):
    d = make_model_dict(seq="sample")
    d["seq_decoder_args"]["params"]["temperature"] = 2
    stored = ModelConfig.from_dict(d, seq_len=32).to_dict()
    assert stored["seq_decoder_args"]["params"]["temperature"] == 2.0
    assert isinstance(stored["seq_decoder_args"]["params"]["temperature"], float)


def test_a_config_nested_without_end_is_a_config_error_quoting_a_bounded_value(make_model_dict):
    d = make_model_dict("hier", n_subsequences=1, c_size=8)
    hier = d["seq_decoder_args"]
    for _ in range(300):  # what a hand-made checkpoint could hold
        hier = {"key": "hier", "params": {**hier["params"], "z_size": 8, "seq_decoder_args": hier}}
    d["seq_decoder_args"] = hier
    with pytest.raises(ConfigError) as caught:
        ModelConfig.from_dict(d, seq_len=32)
    message = str(caught.value)
    assert "maximum validation depth exceeded" in message
    assert message.endswith("...") and len(message.split(": ", 1)[1]) < 200
