"""Training tests run torch on one thread: several torch processes share 2 cores in CI.

A trainer that stopped on a signal ignores further SIGINT/SIGTERM (its process is ending), so
each test gets the test process's own handlers back afterwards.
"""

import signal

import pytest
import torch

torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _signal_handlers_back():
    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    yield
    for signum, handler in saved.items():
        signal.signal(signum, handler)
