"""Magenta's MusicVAE configs (``magenta/models/music_vae/configs.py``), what a TensorFlow
checkpoint lacks: its data converter, window and hierarchy.

A TF checkpoint holds only variables; Magenta's ``music_vae_generate.py`` takes the config by
name (``--config cat-mel_2bar_big``). symusic holds the configs its model can run exactly,
restated below with links to their lines (commit ``eed016a``), and recognises one from the
variables' shapes when none is named. The others are refused in one line naming what symusic
lacks. The sizes that matter to the model are read from the variables themselves, as
magenta.js does; the config's sizes recognise it, and its schedule (``free_bits``,
``max_beta``) is kept for fine-tuning.
"""

from __future__ import annotations

from dataclasses import dataclass

from symusic.data.representation import get_representation
from symusic.data.settings import DataSettings
from symusic.magenta.converters import converter_for
from symusic.musicvae.model.vae import CheckpointError

CONFIGS_PY = ("https://github.com/magenta/magenta/blob/eed016ad0f179e5896056d660653a6478a6a181c"
              "/magenta/models/music_vae/configs.py")


@dataclass(frozen=True)
class Architecture:
    """The sizes that tell Magenta's configs apart, as a checkpoint's shapes give them."""

    vocab: int  # output classes
    z_size: int
    encoder: tuple[int, ...]  # units per layer (flat) or per level (hierarchical)
    hierarchical_encoder: bool
    decoder: tuple[int, ...]  # the (core) decoder's units per layer
    conductor: tuple[int, ...] | None  # the conductor's units per layer (None: flat)
    cores: int = 1  # core decoders side by side (a trio's SplitMultiOutLstmDecoder: 3)


@dataclass(frozen=True)
class MagentaConfig:
    """One of Magenta's configs: its converter and the hparams it sets."""

    name: str
    line: int | None  # where ``CONFIG_MAP[name]`` begins in configs.py (None: not pinned)
    representation: str  # "melody" (OneHotMelodyConverter), "drums", "groove", "trio"
    bars: int  # slice_bars
    segments: int | None  # HierarchicalLstmDecoder's level_lengths[0]
    hierarchical_encoder: bool  # HierarchicalLstmEncoder over those segments
    z_size: int
    enc_rnn_size: tuple[int, ...]
    dec_rnn_size: tuple[int, ...]
    free_bits: float
    max_beta: float
    beta_rate: float = 0.0  # get_default_hparams()
    groove_flags: tuple[str, ...] = ()  # GrooveConverter's humanize, tapify, fixed_velocities
    split: bool = False  # SplitMultiOutLstmDecoder: a core decoder per part of the step

    @property
    def url(self) -> str:
        """The config's lines in Magenta's source."""
        return CONFIGS_PY if self.line is None else f"{CONFIGS_PY}#L{self.line}"

    @property
    def steps(self) -> int:
        """max_seq_len: 16 steps a bar."""
        return 16 * self.bars

    def data_converter(self) -> dict:
        """The magenta.js ``dataConverter`` entry of the same converter."""
        flags = dict.fromkeys(self.groove_flags, True)
        if self.representation == "groove":
            flags["magenta_feedback"] = True  # GrooveLstmDecoder._sample
        return converter_for(DataSettings(representation=self.representation,
                                          extraction="magenta", **flags),
                             self.steps, self.segments)

    def architecture(self) -> Architecture:
        """The sizes a checkpoint of this config has."""
        encoder = (self.enc_rnn_size * 2 if self.hierarchical_encoder else self.enc_rnn_size)
        representation = get_representation(self.representation)
        return Architecture(representation.vocab_size, self.z_size, encoder,
                            self.hierarchical_encoder, self.dec_rnn_size,
                            self.dec_rnn_size if self.segments else None,
                            len(representation.part_sizes) if self.split else 1)


# the supported configs, in configs.py's order
CONFIGS = {c.name: c for c in [
    MagentaConfig("cat-mel_2bar_small", 51, "melody", 2, None, False, 256, (512,), (256, 256),
                  free_bits=0, max_beta=0.2, beta_rate=0.99999),
    MagentaConfig("cat-mel_2bar_big", 79, "melody", 2, None, False, 512, (2048,),
                  (2048, 2048, 2048), free_bits=0, max_beta=0.5, beta_rate=0.99999),
    MagentaConfig("cat-drums_2bar_small", 131, "drums", 2, None, False, 256, (512,), (256, 256),
                  free_bits=48, max_beta=0.2),
    MagentaConfig("cat-drums_2bar_big", 157, "drums", 2, None, False, 512, (2048,),
                  (2048, 2048, 2048), free_bits=48, max_beta=0.2),
    # trio_16bar_converter: TrioConverter (melody, bass, drums: one-hots of 90, 90, 512)
    MagentaConfig("flat-trio_16bar", 246, "trio", 16, None, False, 512, (2048, 2048),
                  (2048, 2048, 2048), free_bits=0, max_beta=1.0),
    MagentaConfig("hierdec-trio_16bar", 270, "trio", 16, 16, False, 512, (2048, 2048),
                  (1024, 1024), free_bits=256, max_beta=0.2, split=True),
    MagentaConfig("hier-trio_16bar", 303, "trio", 16, 16, True, 512, (1024,), (1024, 1024),
                  free_bits=256, max_beta=0.2, split=True),
    MagentaConfig("flat-mel_16bar", 344, "melody", 16, None, False, 512, (2048, 2048),
                  (2048, 2048, 2048), free_bits=256, max_beta=0.2),
    MagentaConfig("hierdec-mel_16bar", 365, "melody", 16, 16, False, 512, (2048, 2048),
                  (1024, 1024), free_bits=256, max_beta=0.2),
    MagentaConfig("hier-mel_16bar", 389, "melody", 16, 16, True, 512, (1024,), (1024, 1024),
                  free_bits=256, max_beta=0.2),
    # under "# GrooVAE configs": BidirectionalLstmEncoder, GrooveLstmDecoder, the Roland
    # pitch classes (symusic's groove classes), dropout_keep_prob 0.3 (training only)
    MagentaConfig("groovae_4bar", None, "groove", 4, None, False, 256, (512,), (256, 256),
                  free_bits=48, max_beta=0.2),
    MagentaConfig("groovae_2bar_humanize", None, "groove", 2, None, False, 256, (512,),
                  (256, 256), free_bits=48, max_beta=0.2, groove_flags=("humanize",)),
    MagentaConfig("groovae_2bar_tap_fixed_velocity", None, "groove", 2, None, False, 256,
                  (512,), (256, 256), free_bits=48, max_beta=0.2,
                  groove_flags=("tapify", "fixed_velocities")),
    # the same model; the note dropout (max_note_dropout_probability) acts in training only
    MagentaConfig("groovae_2bar_tap_fixed_velocity_note_dropout", None, "groove", 2, None,
                  False, 256, (512,), (256, 256), free_bits=48, max_beta=0.2,
                  groove_flags=("tapify", "fixed_velocities")),
]}

# the other configs of configs.py, and what symusic lacks for each
UNSUPPORTED = {
    "cat-mel_2bar_med_chords": "chord conditioning",
    "nade-drums_2bar_reduced": "a NADE decoder (drums as a roll)",
    "nade-drums_2bar_full": "a NADE decoder (drums as a roll)",
    "hier-multiperf_vel_1bar_med": "multitrack performances",
    "hier-multiperf_vel_1bar_big": "multitrack performances",
    "hier-multiperf_vel_1bar_med_chords": "multitrack performances with chords",
    "hier-multiperf_vel_1bar_big_chords": "multitrack performances with chords",
    "groovae_2bar_add_closed_hh": "a GrooVAE input transformation that adds instruments "
                                  "(add_instruments)",
    "groovae_2bar_hits_control_tfds": "GrooVAE with hits as control inputs",
}


def magenta_config(name: str) -> MagentaConfig:
    """The supported config ``name``; ``CheckpointError`` in one line otherwise."""
    if name in CONFIGS:
        return CONFIGS[name]
    if name in UNSUPPORTED:
        raise CheckpointError(f"Magenta config {name!r} needs {UNSUPPORTED[name]}, which "
                              f"symusic does not have; supported: {', '.join(CONFIGS)}")
    raise CheckpointError(f"unknown Magenta config {name[:80]!r}; supported: "
                          f"{', '.join(CONFIGS)}")


def _units(shapes: dict[str, tuple[int, ...]], bias: str) -> int | None:
    shape = shapes.get(bias)
    return shape[0] // 4 if shape is not None and len(shape) == 1 else None


def _layers(shapes: dict[str, tuple[int, ...]], cell_format: str) -> tuple[int, ...]:
    sizes = []
    while (units := _units(shapes, cell_format % len(sizes) + "bias")) is not None:
        sizes.append(units)
    return tuple(sizes)


def architecture_of(shapes: dict[str, tuple[int, ...]]) -> Architecture | None:
    """The sizes of a MusicVAE with these variable shapes (Magenta's names); None when they
    are not a MusicVAE symusic reads."""
    bidi = "bidirectional_rnn/fw/multi_rnn_cell/cell_0/lstm_cell/"
    levels = [_units(shapes, f"encoder/hierarchical_level_{i}/cell_0/{bidi}bias")
              for i in (0, 1)]
    hierarchical_encoder = levels[0] is not None
    encoder = (tuple(lv for lv in levels if lv is not None) if hierarchical_encoder
               else _layers(shapes, "encoder/cell_%d/" + bidi))
    conductor = _layers(shapes, "decoder/hierarchical_level_0/cell_%d/lstm_cell/")
    above = "core_decoder/" if conductor else ""
    cores = [f"{above}decoder/"]
    if f"{above}core_decoder_0/decoder/output_projection/bias" in shapes:  # split parts
        cores = []
        while (core := f"{above}core_decoder_{len(cores)}/decoder/") + \
                "output_projection/bias" in shapes:
            cores.append(core)
    decoder = _layers(shapes, cores[0] + "multi_rnn_cell/cell_%d/lstm_cell/")
    vocabs = [shapes.get(core + "output_projection/bias") for core in cores]
    mu = shapes.get("encoder/mu/bias")
    if not encoder or not decoder or None in vocabs or mu is None:
        return None
    return Architecture(sum(vocab[0] for vocab in vocabs), mu[0], encoder,
                        hierarchical_encoder, decoder, conductor or None, len(cores))


def recognise(shapes: dict[str, tuple[int, ...]], where: str) -> MagentaConfig:
    """The supported config whose sizes these shapes have; ``CheckpointError`` in one line
    when none has them (then the config must be named)."""
    found = architecture_of(shapes)
    matches = [c for c in CONFIGS.values() if found is not None and c.architecture() == found]
    if len(matches) == 1:
        return matches[0]
    if matches:  # the GrooVAE configs differ in their converters and windows, not in shapes
        raise CheckpointError(f"{where}: these shapes are those of several Magenta configs "
                              f"({', '.join(c.name for c in matches)}), which differ in their "
                              "data converter; name one: symusic import-magenta PATH "
                              "--magenta-config NAME --out model.pt")
    described = "not a MusicVAE symusic reads" if found is None else (
        f"z {found.z_size}, encoder {list(found.encoder)}, decoder {list(found.decoder)}"
        + (f", conductor {list(found.conductor)}" if found.conductor else ""))
    raise CheckpointError(f"{where}: a TensorFlow checkpoint holds no config and its shapes "
                          f"({described}) are none of Magenta's configs symusic supports; "
                          "import it naming one: symusic import-magenta PATH --magenta-config "
                          f"NAME --out model.pt ({', '.join(CONFIGS)})")
