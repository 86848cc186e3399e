"""What one model step reads and writes: the seam between a representation and the network.

The encoder, the decoders and the loss never look at what a token means. They ask the
model's :class:`StepIO`, built from the representation (:func:`step_io_for`), for:

* the shape of one step of a window (``item_shape``: ``()`` for one token a step) and its
  dtype; a batch of windows is ``[B, T, *item_shape]``;
* the module that turns windows into the encoder's input features (``encoder_input``), and
  the one that turns the decoder's previous items into its input (``decoder_input``; the start
  marker of a sequence is an item too, ``start_items``);
* the decoder's output width per step (``output_size``), how an output becomes the next item
  running free (``choose``), the reconstruction loss (``reconstruction``) and the accuracies.

:class:`CategoricalIO` is the one for a vocabulary of tokens (melodies, drums): a learned
embedding (or the representation's fixed feature table) in, logits out, cross-entropy.
A representation names its kind (``Representation.step_io_kind``); :data:`STEP_IO` maps each
kind to the class that builds it, and a new kind registers itself with :func:`register`.

The modules a StepIO makes belong to the encoder and decoder that ask for them, so their
parameters keep the names a checkpoint stores (``decoder.decoder.embed.weight``, ...).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from symusic.musicvae.model import loss as L
from symusic.musicvae.model.params import ConfigError

if TYPE_CHECKING:
    from symusic.data.representation import Representation
    from symusic.data.settings import DataSettings


class StepIO:
    """One representation's view of a model step (see the module docstring). Subclasses set
    ``item_shape``, ``item_dtype``, ``output_size`` and implement the methods."""

    item_shape: tuple[int, ...] = ()
    item_dtype: torch.dtype = torch.long
    output_size: int

    def encoder_input(self, embed_size: int) -> nn.Module:
        """windows ``[B, T, *item_shape]`` -> features ``[B, T, F]``; ``.embedding_dim = F``."""
        raise NotImplementedError

    def decoder_input(self, embed_size: int, zero_start: bool) -> nn.Module:
        """previous items ``[B, t, *item_shape]`` (the start marker allowed) -> ``[B, t, F]``;
        ``.embedding_dim = F``. ``zero_start``: the start marker's input is zeros, not
        learned (as Magenta's decoders start)."""
        raise NotImplementedError

    def start_items(self, batch: int, device: torch.device | str) -> Tensor:
        """The first input of ``batch`` sequences: ``[B, *item_shape]``."""
        raise NotImplementedError

    def choose(self, outputs: Tensor, temperature: float,
               generator: torch.Generator | None = None) -> Tensor:
        """One step's outputs ``[B, output_size]`` -> items ``[B, *item_shape]``: the most
        likely at ``temperature == 0``, else a draw at that temperature."""
        raise NotImplementedError

    def reconstruction(self, outputs: Tensor, targets: Tensor) -> Tensor:
        """outputs ``[B, T, output_size]``, targets ``[B, T, *item_shape]`` -> ``[B]``: the
        negative log-likelihood (or the representation's loss) summed over steps."""
        raise NotImplementedError

    def accuracies(self, outputs: Tensor, targets: Tensor) -> tuple[Tensor, Tensor]:
        """Teacher-forced ``(accuracy, event_accuracy)``, 0-d: of all steps, and of the steps
        where something happens (melodies: onsets and note-offs; NaN when there are none)."""
        raise NotImplementedError

    def where(self, mask: Tensor, chosen: Tensor, given: Tensor) -> Tensor:
        """Per sequence: ``chosen`` where ``mask [B]`` is set, else ``given`` (both
        ``[B, *item_shape]``); scheduled sampling's choice of input."""
        return torch.where(mask.reshape(-1, *([1] * len(self.item_shape))), chosen, given)


class CategoricalIO(StepIO):
    """A vocabulary of ``vocab_size`` tokens, one a step.

    The encoder reads a learned ``embed_size`` embedding, or ``input_table``'s fixed
    features (``float32 [vocab_size, F]``, e.g. the drums' hit bits); the decoder reads an
    embedding of ``vocab_size + 1`` rows, the last the start token; its output is logits."""

    def __init__(self, vocab_size: int, no_event: int, input_table: np.ndarray | None = None):
        if input_table is not None and len(input_table) != vocab_size:
            raise ValueError(f"the input table has {len(input_table)} rows for "
                             f"{vocab_size} tokens")
        self.vocab_size = vocab_size
        self.output_size = vocab_size
        self.no_event = no_event
        self.input_table = input_table
        self.start_token = vocab_size

    def encoder_input(self, embed_size: int) -> nn.Module:
        if self.input_table is None:
            return nn.Embedding(self.vocab_size, embed_size)
        return TokenFeatures(self.input_table)

    def decoder_input(self, embed_size: int, zero_start: bool) -> nn.Module:
        if not isinstance(embed_size, int):
            raise ConfigError(f"decoder_args: embed_size {list(embed_size)} gives one size a "
                              "part; this model's step is one token: give one size")
        # a padding row starts at zero and gets no gradient: the first input stays zeros
        return nn.Embedding(self.vocab_size + 1, embed_size,
                            padding_idx=self.start_token if zero_start else None)

    def start_items(self, batch: int, device: torch.device | str) -> Tensor:
        return torch.full((batch,), self.start_token, dtype=torch.long, device=device)

    def choose(self, outputs: Tensor, temperature: float,
               generator: torch.Generator | None = None) -> Tensor:
        return choose_tokens(outputs, temperature, generator)

    def reconstruction(self, outputs: Tensor, targets: Tensor) -> Tensor:
        return L.sequence_cross_entropy(outputs, targets)

    def accuracies(self, outputs: Tensor, targets: Tensor) -> tuple[Tensor, Tensor]:
        return (L.token_accuracy(outputs, targets),
                L.note_accuracy(outputs, targets, self.no_event))


def choose_tokens(
    logits: Tensor, temperature: float, generator: torch.Generator | None = None
) -> Tensor:
    """logits [B, C] -> tokens [B]: argmax if ``temperature == 0``, else a draw from
    softmax(logits / temperature)."""
    if temperature == 0:
        return logits.argmax(dim=-1)
    # from the largest logit down, so a tiny temperature (1e-40) divides into -inf, never
    # inf - inf: the draw tends to the argmax instead of failing on NaN probabilities
    logits = logits.float()
    # a subnormal temperature reads as 0 once the trainer sets flush-denormal (0 / 0 = NaN);
    # the smallest normal float draws the same argmax
    temperature = max(temperature, torch.finfo(torch.float32).tiny)
    probs = torch.softmax((logits - logits.amax(dim=-1, keepdim=True)) / temperature, dim=-1)
    return torch.multinomial(probs, 1, generator=generator).squeeze(-1)


class TokenFeatures(nn.Module):
    """Each token's fixed row of a table (not learned, not saved: the representation owns it)."""

    def __init__(self, table: np.ndarray):
        super().__init__()
        self.register_buffer("table", torch.as_tensor(table, dtype=torch.float32),
                             persistent=False)

    @property
    def embedding_dim(self) -> int:
        return self.table.shape[1]

    def forward(self, tokens: Tensor) -> Tensor:
        """tokens [B, T] -> features [B, T, F]."""
        return F.embedding(tokens, self.table)


def categorical_io(representation: Representation, settings: DataSettings) -> CategoricalIO:
    """The categorical StepIO of a token representation."""
    return CategoricalIO(representation.vocab_size, representation.no_event,
                         representation.encoder_input_table())


StepIOFactory = Callable[["Representation", "DataSettings"], StepIO]
STEP_IO: dict[str, StepIOFactory] = {"categorical": categorical_io}


def register(kind: str) -> Callable[[StepIOFactory], StepIOFactory]:
    """Decorator: ``factory(representation, settings) -> StepIO`` for representations whose
    ``step_io_kind`` is ``kind``."""
    def add(factory: StepIOFactory) -> StepIOFactory:
        STEP_IO[kind] = factory
        return factory
    return add


# kind -> the module that registers it (imported on first use, so the model package does not
# import every representation's head up front), e.g. "groove": "symusic.musicvae.model.groove_io"
_KIND_MODULES: dict[str, str] = {"trio": "symusic.musicvae.model.trio_io",
                                  "groove": "symusic.musicvae.model.groove_io"}


def step_io_for(representation: Representation, settings: DataSettings) -> StepIO:
    """The StepIO of ``representation`` under ``settings`` (``ValueError`` for a kind no
    module registers)."""
    kind = getattr(representation, "step_io_kind", "categorical")
    if kind not in STEP_IO and kind in _KIND_MODULES:
        import importlib

        importlib.import_module(_KIND_MODULES[kind])
    if kind not in STEP_IO:
        raise ValueError(f"no model head for the {representation.name!r} representation "
                         f"(step kind {kind!r})")
    return STEP_IO[kind](representation, settings)
