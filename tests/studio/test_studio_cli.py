"""The studio's command line: addresses, loopback by default, and errors before serving."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

from symusic.studio.__main__ import bind_socket, build_parser, is_loopback, main, url_of


def test_defaults_listen_on_loopback_on_a_free_port():
    args = build_parser().parse_args(["model.pt"])
    assert (args.host, args.port, args.data) == ("127.0.0.1", 0, None)
    sock = bind_socket(args.host, args.port)
    try:
        host, port = sock.getsockname()
        assert host == "127.0.0.1" and port > 0
        assert url_of(sock) == f"http://127.0.0.1:{port}/"
    finally:
        sock.close()


def test_loopback_addresses():
    assert is_loopback("127.0.0.1") and is_loopback("localhost") and is_loopback("::1")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.10")
    assert not is_loopback("example.org")


def test_a_missing_checkpoint_is_one_line_and_exit_1(tmp_path, capsys):
    assert main([str(tmp_path / "nope.pt")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "nope.pt does not exist" in err[0]


def test_a_data_folder_without_midi_is_one_line_and_exit_1(checkpoint, tmp_path, capsys):
    assert main([str(checkpoint), "--data", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "no .mid or .midi files" in err and "Traceback" not in err


def test_a_port_in_use_is_reported(checkpoint, capsys):
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen(1)
    try:
        port = taken.getsockname()[1]
        taken.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 0)
        assert main([str(checkpoint), "--port", str(port)]) == 1
        assert f"cannot listen on 127.0.0.1:{port}" in capsys.readouterr().err
    finally:
        taken.close()


def test_ctrl_c_twice_or_sigterm_to_the_group_stops_cleanly(checkpoint, data_dir, tmp_path):
    """What Ctrl+C in a terminal does (a signal to the process group), twice in a row, and
    SIGTERM: no traceback, exit 0, and the upload folder gone. Two studios, run side by side,
    signalled as soon as they serve (while they still compute the latent statistics)."""
    cases = {"int-int": (signal.SIGINT, signal.SIGINT), "term": (signal.SIGTERM,)}
    procs = {}
    for name in cases:
        (tmp_path / name).mkdir()
        procs[name] = subprocess.Popen(
            [sys.executable, "-m", "symusic.studio", str(checkpoint), "--data", str(data_dir)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            start_new_session=True, env={**os.environ, "TMPDIR": str(tmp_path / name)})
    try:
        for name, proc in procs.items():
            for line in proc.stdout:
                if "serving at" in line:
                    break
            assert list((tmp_path / name).glob("symusic-studio-*"))  # the upload folder
            for sig in cases[name]:
                os.killpg(proc.pid, sig)
                time.sleep(0.05)
        for name, proc in procs.items():
            output = proc.stdout.read()
            assert proc.wait(timeout=30) == 0, (name, output)
            assert "Traceback" not in output and "Error" not in output, (name, output)
            assert not list((tmp_path / name).glob("symusic-studio-*")), name
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()


def test_without_data_the_studio_offers_the_built_in_folk_eval_tunes(checkpoint, tmp_path):
    """Walk and Mix get melodies to pick from the first page, not "no data folder"; the
    unpacked tunes go when the studio stops."""
    import json
    import urllib.request

    proc = subprocess.Popen([sys.executable, "-m", "symusic.studio", str(checkpoint)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True, env={**os.environ, "TMPDIR": str(tmp_path)})
    try:
        seen = []
        for line in proc.stdout:
            seen.append(line)
            if "serving at" in line:
                break
        url = line.split("serving at ")[1].split()[0]
        assert "built-in folk corpus's eval tunes" in "".join(seen)
        with urllib.request.urlopen(url + "api/files", timeout=30) as answer:
            files = json.loads(answer.read())["files"]
        assert len(files) > 1000 and all(f["name"].endswith(".mid") for f in files)
        assert list(tmp_path.glob("symusic-studio-*-folk-*/eval"))
        os.killpg(proc.pid, signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
        assert not list(tmp_path.glob("symusic-studio-*"))
    finally:
        if proc.poll() is None:
            proc.kill()
