"""Entry point: ``python -m symusic.musicvae.train with CONFIG.json -F RUNS``.

The Sacred experiment lives in :mod:`symusic.musicvae.training.experiment`; this module only
keeps the spec's command.
"""

import sys

from symusic.musicvae.training.experiment import ex, main

__all__ = ["ex", "main"]

if __name__ == "__main__":
    main(sys.argv)
