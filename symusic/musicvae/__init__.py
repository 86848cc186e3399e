"""MusicVAE: the model, its training (a Sacred experiment), generation and evaluation."""

import warnings

# Sacred 0.8 imports pkg_resources, which warns on every start; the pin in constraints.txt
# (setuptools < 81) keeps it working, so the warning only hides the lines that matter.
warnings.filterwarnings("ignore", message="pkg_resources is deprecated", category=UserWarning)
