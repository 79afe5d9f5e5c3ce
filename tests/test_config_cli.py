"""Typed config, the body factory's errors, and the CLI's main job."""
import json

import pytest

from interaction_recon import cli
from interaction_recon.body import create
from interaction_recon.config import BodyConfig, load_config


def test_yaml_overrides_defaults_and_rejects_unknown_keys(tmp_path):
    good = tmp_path / "good.yaml"
    good.write_text("body:\n  backend: smpl\n  model_path: /models\n")
    config = load_config(good)
    assert (config.body.backend, config.body.model_path, config.body.device) == ("smpl", "/models", "cpu")
    bad = tmp_path / "bad.yaml"
    bad.write_text("body:\n  backnd: smpl\n")
    with pytest.raises(ValueError, match=r"body: unknown key\(s\) \['backnd'\]"):
        load_config(bad)


def test_shipped_default_config_loads():
    assert load_config("config/default.yaml") == load_config(None)


@pytest.mark.parametrize("name", ["contact-keypoints", "contact-map", "real-footage"])
def test_shipped_opt_in_configs_load_and_change_the_defaults(name):
    assert load_config(f"config/{name}.yaml") != load_config(None)


def test_smpl_backend_without_a_path_says_where_to_get_the_files():
    with pytest.raises(ValueError, match="smpl.is.tue.mpg.de"):
        create(BodyConfig(backend="smpl"))
    with pytest.raises(ValueError, match="unknown body backend"):
        create(BodyConfig(backend="mhr"))


def test_cli_reports_a_missing_smpl_file_without_a_traceback(tmp_path, capsys):
    code = cli.main(["body-demo", "--out", str(tmp_path), "--body-model", "smpl", "--body-model-path", str(tmp_path / "nope")])
    err = capsys.readouterr().err
    assert code == 2 and "nope" in err and "smpl.is.tue.mpg.de" in err and "Traceback" not in err


def test_demo_writes_a_picture_and_measures_the_handshake(tmp_path, capsys):
    assert cli.main(["body-demo", "--out", str(tmp_path)]) == 0
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert (tmp_path / "bodies.png").stat().st_size > 20_000
    assert summary["body_model"] == "anny"
    assert 0.0 <= summary["right_hand_gap_m"] < 0.1  # the right hands meet
    assert json.loads(capsys.readouterr().out) == summary


def test_cli_help_loads_no_heavy_library():
    """`interaction-recon --help` (and each subcommand's) answers without importing torch,
    rclpy or the perception runtimes."""
    import subprocess
    import sys

    code = ("import sys\nfrom interaction_recon import cli\n"
            "for argv in (['--help'], ['reconstruct', '--help'], ['live', '--help'], ['export-prior', '--help']):\n"
            "    try:\n        cli.main(argv)\n    except SystemExit:\n        pass\n"
            "heavy = [m for m in ('torch', 'rclpy', 'onnxruntime', 'tflite_runtime', 'cv2') if m in sys.modules]\n"
            "assert not heavy, heavy\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
