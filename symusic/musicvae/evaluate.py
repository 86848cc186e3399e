"""Entry point: ``python -m symusic.musicvae.evaluate --checkpoint C --data DIR``.

The command line lives in :mod:`symusic.musicvae.tools.evaluate`.
"""

import sys

from symusic.musicvae.tools.evaluate import main

__all__ = ["main"]

if __name__ == "__main__":
    sys.exit(main())
