"""Training tests run torch on one thread: several torch processes share 2 cores in CI."""

import torch

torch.set_num_threads(1)
