"""Entry point: ``python -m symusic.musicvae.generate`` (also installed as ``symusic``).

The command line lives in :mod:`symusic.musicvae.tools.generate`.
"""

import sys

from symusic.musicvae.tools.generate import main

__all__ = ["main"]

if __name__ == "__main__":
    sys.exit(main())
