"""The studio's samples draw from a checkpoint's fitted prior (tools.fit_prior) unless asked for
N(0, I); /api/info says which prior ``auto`` is."""

from __future__ import annotations

import numpy as np
import pytest
from studio_helpers import studio_client

from symusic.musicvae.tools import fit_prior
from symusic.studio.state import Studio


@pytest.fixture(scope="module")
def fitted_client(checkpoint, data_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("studio-prior") / "fitted.pt"
    assert fit_prior.main([str(checkpoint), str(out), "--data", str(data_dir),
                           "--components", "2"]) == 0
    with studio_client(Studio.open(out)) as c:
        yield c


def codes(client, **body) -> np.ndarray:
    response = client.post("/api/sample", json={"count": 8, "temperature": 0, "seed": 3, **body})
    assert response.status_code == 200, response.text
    return np.array([m["z"] for m in response.json()["melodies"]])


def test_info_names_the_prior(fitted_client, client):
    assert fitted_client.get("/api/info").json()["prior"] == "fitted (2 components)"
    assert client.get("/api/info").json()["prior"] == "normal"


def test_samples_come_from_the_fitted_prior_unless_asked_for_the_normal_one(fitted_client,
                                                                            client):
    fitted = codes(fitted_client)
    np.testing.assert_array_equal(fitted, codes(fitted_client, prior="fitted"))
    normal = codes(fitted_client, prior="normal")
    np.testing.assert_array_equal(normal, codes(client))  # the same draw of N(0, I)
    assert not np.allclose(fitted, normal)


def test_a_fitted_prior_the_model_lacks_is_a_clear_error(client):
    response = client.post("/api/sample", json={"count": 2, "prior": "fitted"})
    assert response.status_code in (400, 422)
    assert "no fitted prior" in response.text
    assert client.post("/api/sample", json={"count": 2, "prior": "flow"}).status_code == 422
