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


@dataclass(frozen=True)
class MagentaConfig:
    """One of Magenta's configs: its converter and the hparams it sets."""

    name: str
    line: int  # where ``CONFIG_MAP[name]`` begins in configs.py
    representation: str  # "melody" (OneHotMelodyConverter) or "drums" (DrumsConverter)
    bars: int  # slice_bars
    segments: int | None  # HierarchicalLstmDecoder's level_lengths[0]
    hierarchical_encoder: bool  # HierarchicalLstmEncoder over those segments
    z_size: int
    enc_rnn_size: tuple[int, ...]
    dec_rnn_size: tuple[int, ...]
    free_bits: float
    max_beta: float
    beta_rate: float = 0.0  # get_default_hparams()

    @property
    def url(self) -> str:
        """The config's lines in Magenta's source."""
        return f"{CONFIGS_PY}#L{self.line}"

    @property
    def steps(self) -> int:
        """max_seq_len: 16 steps a bar."""
        return 16 * self.bars

    def data_converter(self) -> dict:
        """The magenta.js ``dataConverter`` entry of the same converter."""
        return converter_for(DataSettings(representation=self.representation,
                                          extraction="magenta"), self.steps, self.segments)

    def architecture(self) -> Architecture:
        """The sizes a checkpoint of this config has."""
        encoder = (self.enc_rnn_size * 2 if self.hierarchical_encoder else self.enc_rnn_size)
        return Architecture(get_representation(self.representation).vocab_size, self.z_size,
                            encoder, self.hierarchical_encoder, self.dec_rnn_size,
                            self.dec_rnn_size if self.segments else None)


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
    MagentaConfig("flat-mel_16bar", 344, "melody", 16, None, False, 512, (2048, 2048),
                  (2048, 2048, 2048), free_bits=256, max_beta=0.2),
    MagentaConfig("hierdec-mel_16bar", 365, "melody", 16, 16, False, 512, (2048, 2048),
                  (1024, 1024), free_bits=256, max_beta=0.2),
    MagentaConfig("hier-mel_16bar", 389, "melody", 16, 16, True, 512, (1024,), (1024, 1024),
                  free_bits=256, max_beta=0.2),
]}

# the other configs of configs.py, and what symusic lacks for each
UNSUPPORTED = {
    "cat-mel_2bar_med_chords": "chord conditioning",
    "nade-drums_2bar_reduced": "a NADE decoder (drums as a roll)",
    "nade-drums_2bar_full": "a NADE decoder (drums as a roll)",
    "flat-trio_16bar": "trio (melody, bass and drums)",
    "hierdec-trio_16bar": "trio (melody, bass and drums)",
    "hier-trio_16bar": "trio (melody, bass and drums)",
    "hier-multiperf_vel_1bar_med": "multitrack performances",
    "hier-multiperf_vel_1bar_big": "multitrack performances",
    "hier-multiperf_vel_1bar_med_chords": "multitrack performances with chords",
    "hier-multiperf_vel_1bar_big_chords": "multitrack performances with chords",
    "groovae_4bar": "GrooVAE import",
    "groovae_2bar_humanize": "GrooVAE import",
    "groovae_2bar_tap_fixed_velocity": "GrooVAE import",
    "groovae_2bar_tap_fixed_velocity_note_dropout": "GrooVAE import",
    "groovae_2bar_add_closed_hh": "GrooVAE import",
    "groovae_2bar_hits_control_tfds": "GrooVAE import",
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
    core = "core_decoder/decoder/" if conductor else "decoder/"
    decoder = _layers(shapes, core + "multi_rnn_cell/cell_%d/lstm_cell/")
    vocab = shapes.get(core + "output_projection/bias")
    mu = shapes.get("encoder/mu/bias")
    if not encoder or not decoder or vocab is None or mu is None:
        return None
    return Architecture(vocab[0], mu[0], encoder, hierarchical_encoder, decoder,
                        conductor or None)


def recognise(shapes: dict[str, tuple[int, ...]], where: str) -> MagentaConfig:
    """The supported config whose sizes these shapes have; ``CheckpointError`` in one line
    when none has them (then the config must be named)."""
    found = architecture_of(shapes)
    for config in CONFIGS.values():
        if found is not None and config.architecture() == found:
            return config
    described = "not a MusicVAE symusic reads" if found is None else (
        f"z {found.z_size}, encoder {list(found.encoder)}, decoder {list(found.decoder)}"
        + (f", conductor {list(found.conductor)}" if found.conductor else ""))
    raise CheckpointError(f"{where}: a TensorFlow checkpoint holds no config and its shapes "
                          f"({described}) are none of Magenta's configs symusic supports; "
                          "import it naming one: symusic import-magenta PATH --magenta-config "
                          f"NAME --out model.pt ({', '.join(CONFIGS)})")
